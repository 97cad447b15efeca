// One API request, in Apple's order: the operation of the spec, the bearer token, the key's rate
// budget, injected faults, the query and body against the spec, the handler, then the answer
// (checked against the spec too) with X-Rate-Limit. Errors are Apple's JSON:API error documents.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { verifyBearer, type ApiKey } from './auth.js'
import type { ContractProblem, ContractValidator, MatchedOperation } from './contract.js'
import {
  ApiError,
  conflict,
  invalidParameter,
  notAuthorized,
  rateLimited,
  serverError
} from './errors.js'
import type { Faults } from './faults.js'
import type { Handler } from './jsonapi.js'
import type { SimulatorOptions } from './options.js'

const MAX_JSON_BODY = 1024 * 1024
const HOUR_MS = 3600_000
const MINUTE_MS = 60_000

/** Requests a key has left in the rolling hour and minute. */
interface Budget {
  hour: number
  minute: number
}

export interface LoggedRequest {
  method: string
  path: string
  query: string
  status: number
  /** The spec operation, for API calls. */
  operationId?: string
  authorization: boolean
  /** When it arrived (epoch milliseconds, the machine's clock). */
  at: number
}

async function readJson(req: IncomingMessage): Promise<string> {
  let raw = ''
  for await (const chunk of req) {
    raw += chunk
    if (raw.length > MAX_JSON_BODY)
      throw new ApiError(
        413,
        'ENTITY_TOO_LARGE',
        'The request entity is too large',
        'The body exceeds 1 MiB.'
      )
  }
  return raw
}

/** Apple's error for a request body that breaks the spec, by the rule it breaks. */
function bodyError(problem: ContractProblem): ApiError {
  const kind =
    problem.keyword === 'enum' && problem.pointer?.endsWith('/type') ? 'type' : problem.keyword
  const [code, title] = {
    additionalProperties: [
      'ENTITY_ERROR.ATTRIBUTE.UNKNOWN',
      'The provided entity includes an unknown attribute'
    ],
    required: [
      'ENTITY_ERROR.ATTRIBUTE.REQUIRED',
      'The provided entity is missing a required field'
    ],
    type: ['ENTITY_ERROR.ATTRIBUTE.TYPE', 'The provided entity has an invalid type']
  }[kind] ?? ['ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.']
  return conflict(code, title, problem.message, problem.pointer)
}

export class ApiRouter {
  /** Request times per key, for the rolling budgets. */
  private readonly spent = new Map<string, number[]>()
  private readonly fullBudget: Budget

  constructor(
    private readonly options: SimulatorOptions,
    private readonly contract: ContractValidator,
    private readonly keys: Map<string, ApiKey>,
    private readonly faults: Faults,
    private readonly handlers: Record<string, Handler>,
    private readonly contractViolations: string[],
    private readonly now: () => number
  ) {
    this.fullBudget = { hour: options.rateLimitPerHour, minute: options.rateLimitPerMinute }
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, log: LoggedRequest) {
    const method = req.method ?? 'GET'
    const matched = this.contract.match(method, url.pathname)
    let budget = this.fullBudget
    try {
      if (!matched) {
        await readJson(req).catch(() => undefined)
        throw new ApiError(
          404,
          'NOT_FOUND',
          'The specified resource does not exist',
          'The path provided does not match a defined resource type.'
        )
      }
      log.operationId = matched.operation.operationId
      const verdict = await verifyBearer(req.headers.authorization, this.keys, this.now())
      if (verdict.keyId && this.keys.has(verdict.keyId))
        budget = this.remainingBudget(verdict.keyId)
      if (!verdict.ok) throw notAuthorized(verdict.reason)
      if (budget.hour <= 0) throw rateLimited()
      if (this.options.rateLimitPerMinute && budget.minute <= 0) throw rateLimited()
      if (this.faults.rateLimitBurst()) {
        budget = { ...budget, minute: 0 }
        throw rateLimited()
      }
      this.spent.get(verdict.keyId)!.push(this.now())
      budget = { hour: budget.hour - 1, minute: budget.minute - 1 }
      const injected = this.faults.injectedStatus(method, url.pathname, matched.operation.template)
      if (injected) throw serverError(injected)
      const body = await this.checkedRequest(req, url, matched)
      const reply = await this.handlers[matched.operation.operationId]({
        url,
        pathParams: matched.pathParams,
        body: body as never
      })
      if (this.faults.dropsResponse(method, url.pathname, matched.operation.template)) {
        log.status = 0
        req.socket.destroy()
        return
      }
      log.status = reply.status
      this.send(res, reply.status, reply.body, budget, matched)
    } catch (e) {
      const error = e instanceof ApiError ? e : serverError(500)
      if (!(e instanceof ApiError)) console.error('simulator: unexpected error', e)
      log.status = error.status
      this.send(res, error.status, error.toJson(), budget, matched)
    }
  }

  /** The query and body, checked against the spec: a request that breaks it gets Apple's error. */
  private async checkedRequest(
    req: IncomingMessage,
    url: URL,
    { operation }: MatchedOperation
  ): Promise<unknown> {
    const where = `request ${operation.method} ${operation.template}`
    const queryProblems = this.contract.checkQuery(operation, url.searchParams)
    if (queryProblems.length) {
      this.contractViolations.push(...queryProblems.map((p) => `${where}: ${p.message}`))
      throw invalidParameter(queryProblems[0].parameter!, queryProblems[0].message)
    }
    if (!operation.hasBody) return undefined
    let body: unknown
    try {
      body = JSON.parse(await readJson(req))
    } catch (e) {
      if (e instanceof ApiError) throw e
      this.contractViolations.push(`${where}: body is not JSON`)
      throw new ApiError(
        422,
        'ENTITY_UNPROCESSABLE',
        'The request entity is not valid JSON',
        'The request body could not be parsed as JSON.'
      )
    }
    const problems = this.contract.checkRequestBody(operation, body)
    if (problems.length) {
      this.contractViolations.push(...problems.map((p) => `${where}: ${p.message}`))
      throw bodyError(problems[0])
    }
    return body
  }

  /** What a key has left of its rolling hour and, when a per-minute limit is set, minute. */
  private remainingBudget(keyId: string): Budget {
    const now = this.now()
    if (!this.spent.has(keyId))
      this.spent.set(keyId, Array<number>(this.options.rateLimitSpent).fill(now))
    const times = this.spent.get(keyId)!.filter((t) => t > now - HOUR_MS)
    this.spent.set(keyId, times)
    const lastMinute = times.filter((t) => t > now - MINUTE_MS).length
    return {
      hour: this.options.rateLimitPerHour - times.length,
      minute: this.options.rateLimitPerMinute - lastMinute
    }
  }

  /** Apple's header: the hourly budget always, the per-minute one on endpoints that have it. */
  private rateLimitHeader(budget: Budget): string {
    const { rateLimitPerHour: perHour, rateLimitPerMinute: perMinute } = this.options
    const hour = `user-hour-lim:${perHour};user-hour-rem:${Math.max(0, budget.hour)};`
    return perMinute
      ? `${hour}user-minute-lim:${perMinute};user-minute-rem:${Math.max(0, budget.minute)};`
      : hour
  }

  send(
    res: ServerResponse,
    status: number,
    body: unknown,
    budget: Budget = this.fullBudget,
    matched?: MatchedOperation
  ): void {
    if (matched && this.options.validateContract) {
      for (const p of this.contract.checkResponse(matched.operation, status, body)) {
        this.contractViolations.push(
          `response ${status} to ${matched.operation.method} ${matched.operation.template}: ${p.message}`
        )
      }
    }
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'X-Rate-Limit': this.rateLimitHeader(budget)
    })
    res.end(text)
  }
}
