// A local App Store Connect: the Background Assets API of spec/, its upload storage, JWT checks,
// rate limits, processing, and fault switches. `startSimulator()` serves it on 127.0.0.1.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AscApi, type ApiRequest, type Reply } from './api.js'
import { ReviewApi, type SeededSubmission } from './review.js'
import { generateApiKey, verifyBearer, type ApiKey } from './auth.js'
import { ContractValidator, type ContractProblem, type MatchedOperation } from './contract.js'
import {
  ApiError,
  conflict,
  invalidParameter,
  notAuthorized,
  rateLimited,
  serverError
} from './errors.js'
import {
  resolveOptions,
  type RequestMatcher,
  type SimulatorOptions,
  type SimulatorOverrides
} from './options.js'
import { Random } from './random.js'
import { Store } from './store.js'
import { Bandwidth, receivePart, UrlSigner } from './storage.js'

export * from './options.js'
export type { ApiKey } from './auth.js'
export type { SeededSubmission } from './review.js'

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

export interface Simulator {
  readonly baseUrl: string
  readonly appId: string
  /** The pre-generated team key; `addKey()` makes more (individual keys too). */
  readonly key: ApiKey
  addKey(kind?: 'team' | 'individual'): ApiKey
  /** Live options: tests may change fault switches between runs. */
  readonly options: SimulatorOptions
  readonly store: Store
  readonly requests: LoggedRequest[]
  /** Requests or responses that do not validate against the spec. */
  readonly contractViolations: string[]
  /** Requests to the storage that carried an Authorization header, and the like. */
  readonly securityViolations: string[]
  /** Counts of injected faults by kind. */
  readonly faultsInjected: Record<string, number>
  seedPack: AscApi['seedPack']
  /** Review submissions and their items (see review.ts). */
  readonly review: Pick<ReviewApi, 'submissions' | 'items'>
  seedReviewSubmission(seed: SeededSubmission): ReturnType<ReviewApi['seed']>
  /** The simulator's clock (the machine's plus `clockOffsetMs`). */
  now(): number
  close(): Promise<void>
}

const MAX_JSON_BODY = 1024 * 1024
const HOUR_MS = 3600_000
const MINUTE_MS = 60_000

/** Requests a key has left in the rolling hour and minute. */
interface Budget {
  hour: number
  minute: number
}

async function readJson(req: IncomingMessage): Promise<{ raw: string }> {
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
  return { raw }
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

function matches(m: RequestMatcher, method: string, path: string, template?: string): boolean {
  return m.method.toUpperCase() === method && (m.path === path || m.path === template)
}

export async function startSimulator(overrides: SimulatorOverrides = {}): Promise<Simulator> {
  const options = resolveOptions(overrides)
  const now = () => Date.now() + options.clockOffsetMs
  const random = new Random(options.faults.seed)
  const contract = ContractValidator.load()
  const spoolDir = await mkdtemp(join(tmpdir(), 'asc-simulator-'))
  let baseUrl = ''
  const store = new Store(() => baseUrl)
  const signer = new UrlSigner(randomBytes(32))
  const api = new AscApi(store, options, random, signer, spoolDir, () => baseUrl, now)
  const review = new ReviewApi(store, options, random, () => baseUrl, now)
  const handlers: Record<string, (r: ApiRequest) => Promise<Reply> | Reply> = {
    ...api.handlers,
    ...review.handlers
  }
  const keys = new Map<string, ApiKey>()
  const addKey = (kind: 'team' | 'individual' = 'team') => {
    const key = generateApiKey(kind)
    keys.set(key.keyId, key)
    return key
  }
  const key = addKey()
  store.apps.add(options.appId)
  for (const pack of options.packs) api.seedPack(pack)

  const requests: LoggedRequest[] = []
  const contractViolations: string[] = []
  const securityViolations: string[] = []
  const faultsInjected: Record<string, number> = {}
  const injected = (kind: string) => (faultsInjected[kind] = (faultsInjected[kind] ?? 0) + 1)
  const spent = new Map<string, number[]>()
  let burstUntil = 0
  const totalBandwidth = new Bandwidth(options.faults.bandwidthTotal)
  const fullBudget: Budget = { hour: options.rateLimitPerHour, minute: options.rateLimitPerMinute }

  /** What a key has left of its rolling hour and, when a per-minute limit is set, minute. */
  function remainingBudget(keyId: string): Budget {
    if (!spent.has(keyId)) spent.set(keyId, Array<number>(options.rateLimitSpent).fill(now()))
    const times = spent.get(keyId)!.filter((t) => t > now() - HOUR_MS)
    spent.set(keyId, times)
    const lastMinute = times.filter((t) => t > now() - MINUTE_MS).length
    return {
      hour: options.rateLimitPerHour - times.length,
      minute: options.rateLimitPerMinute - lastMinute
    }
  }

  /** Apple's header: the hourly budget always, the per-minute one on endpoints that have it. */
  function rateLimitHeader(budget: Budget): string {
    const hour = `user-hour-lim:${options.rateLimitPerHour};user-hour-rem:${Math.max(0, budget.hour)};`
    return options.rateLimitPerMinute
      ? `${hour}user-minute-lim:${options.rateLimitPerMinute};user-minute-rem:${Math.max(0, budget.minute)};`
      : hour
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    budget: Budget,
    matched?: MatchedOperation
  ): void {
    if (matched && options.validateContract) {
      for (const p of contract.checkResponse(matched.operation, status, body)) {
        contractViolations.push(
          `response ${status} to ${matched.operation.method} ${matched.operation.template}: ${p.message}`
        )
      }
    }
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'X-Rate-Limit': rateLimitHeader(budget)
    })
    res.end(text)
  }

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    log: LoggedRequest
  ): Promise<void> {
    const method = req.method ?? 'GET'
    const matched = contract.match(method, url.pathname)
    if (!matched) {
      await readJson(req).catch(() => undefined)
      throw new ApiError(
        404,
        'NOT_FOUND',
        'The specified resource does not exist',
        `The path provided does not match a defined resource type.`
      )
    }
    const { operation } = matched
    log.operationId = operation.operationId
    let budget = fullBudget
    try {
      const verdict = await verifyBearer(req.headers.authorization, keys, now())
      if (verdict.keyId && keys.has(verdict.keyId)) budget = remainingBudget(verdict.keyId)
      if (!verdict.ok) throw notAuthorized(verdict.reason)
      if (budget.hour <= 0) throw rateLimited()
      if (options.rateLimitPerMinute && budget.minute <= 0) throw rateLimited()
      // A burst is a stretch of time in which every request is refused, as a per-minute limiter
      // does when a short spike spends the minute: the hour's budget is still there.
      if (Date.now() < burstUntil || random.chance(options.faults.rateLimitBurst.probability)) {
        if (Date.now() >= burstUntil)
          burstUntil = Date.now() + options.faults.rateLimitBurst.durationMs
        injected('429')
        budget = { ...budget, minute: 0 }
        throw rateLimited()
      }
      spent.get(verdict.keyId)!.push(now())
      budget = { hour: budget.hour - 1, minute: budget.minute - 1 }
      const injectedStatus = options.faults.injectStatus.find(
        (f) => f.times > 0 && matches(f, method, url.pathname, operation.template)
      )
      if (injectedStatus) {
        injectedStatus.times--
        injected(`status ${injectedStatus.status}`)
        throw serverError(injectedStatus.status)
      }
      const queryProblems = contract.checkQuery(operation, url.searchParams)
      if (queryProblems.length) {
        contractViolations.push(
          ...queryProblems.map((p) => `request ${method} ${operation.template}: ${p.message}`)
        )
        throw invalidParameter(queryProblems[0].parameter!, queryProblems[0].message)
      }
      let body: unknown
      if (operation.hasBody) {
        const { raw } = await readJson(req)
        try {
          body = JSON.parse(raw)
        } catch {
          contractViolations.push(`request ${method} ${operation.template}: body is not JSON`)
          throw new ApiError(
            422,
            'ENTITY_UNPROCESSABLE',
            'The request entity is not valid JSON',
            'The request body could not be parsed as JSON.'
          )
        }
        const problems = contract.checkRequestBody(operation, body)
        if (problems.length) {
          contractViolations.push(
            ...problems.map((p) => `request ${method} ${operation.template}: ${p.message}`)
          )
          throw bodyError(problems[0])
        }
      }
      const reply = await handlers[operation.operationId]({
        url,
        pathParams: matched.pathParams,
        body
      })
      const drop = options.faults.dropResponse.find(
        (f) => f.times > 0 && matches(f, method, url.pathname, operation.template)
      )
      if (drop) {
        drop.times--
        injected('dropped response')
        log.status = 0
        req.socket.destroy()
        return
      }
      log.status = reply.status
      send(res, reply.status, reply.body, budget, matched)
    } catch (e) {
      const error = e instanceof ApiError ? e : serverError(500)
      if (!(e instanceof ApiError)) console.error('simulator: unexpected error', e)
      log.status = error.status
      send(res, error.status, error.toJson(), budget, matched)
    }
  }

  async function handleStorage(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    log: LoggedRequest
  ): Promise<void> {
    const refuse = (status: number, message: string) => {
      log.status = status
      req.resume()
      res.writeHead(status, { 'Content-Type': 'text/plain', Connection: 'close' }).end(message)
    }
    if (req.headers.authorization !== undefined) {
      securityViolations.push(`${req.method} ${url.pathname} carried an Authorization header`)
      return refuse(400, 'InvalidArgument: only one auth mechanism allowed')
    }
    const [, , fileId, partNumber] = url.pathname.split('/')
    const file = store.uploadFiles.get(fileId)
    const op = file?.operations.find((o) => String(o.partNumber) === partNumber)
    if (!file || !op || !file.assembly) return refuse(404, 'NoSuchUpload')
    const expires = Number(url.searchParams.get('expires'))
    if (!signer.verify(url.pathname, expires, url.searchParams.get('signature') ?? ''))
      return refuse(403, 'SignatureDoesNotMatch')
    if (req.method !== 'PUT') return refuse(405, 'MethodNotAllowed')
    if (expires * 1000 < now()) return refuse(403, 'AccessDenied: Request has expired')
    for (const header of op.requestHeaders) {
      if (req.headers[header.name.toLowerCase()] !== header.value)
        return refuse(403, `AccessDenied: header ${header.name} is missing or wrong`)
    }
    if (req.headers['content-length'] === undefined) return refuse(411, 'MissingContentLength')
    if (Number(req.headers['content-length']) !== op.length)
      return refuse(
        400,
        `BadDigest: Content-Length must be ${op.length}, not ${req.headers['content-length']}`
      )
    if (file.assembly.committed)
      return refuse(409, 'InvalidState: the upload was committed; parts are no longer accepted')
    if (random.chance(options.faults.storageStallRate)) {
      // Take nothing more and never answer: the client has to notice on its own.
      injected('stall')
      req.pause()
      return
    }
    const resetAfter = random.chance(options.faults.storageResetRate)
      ? random.int(0, op.length - 1)
      : undefined
    if (resetAfter !== undefined) injected('connection reset')
    const fail = random.chance(options.faults.storageFailureRate)
    const part = await receivePart(req, res, {
      assembly: file.assembly,
      slot: op,
      resetAfter,
      limits: [new Bandwidth(options.faults.bandwidthPerConnection), totalBandwidth]
    })
    if (!part) {
      log.status = res.headersSent ? res.statusCode : 0
      return
    }
    if (fail) {
      injected('storage 500')
      return refuse(500, 'InternalError: please retry')
    }
    file.assembly.record(part)
    log.status = 200
    res
      .writeHead(200, {
        ETag: `"${part.identity.toString('hex').slice(0, 32)}"`,
        'Content-Length': 0
      })
      .end()
  }

  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', baseUrl)
    const log: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      status: 0,
      authorization: req.headers.authorization !== undefined,
      at: Date.now()
    }
    requests.push(log)
    const handle = url.pathname.startsWith('/storage/') ? handleStorage : handleApi
    const respond = () =>
      handle(req, res, url, log).catch((e: unknown) => {
        log.status = e instanceof ApiError ? e.status : 500
        if (!res.headersSent)
          send(res, log.status, (e instanceof ApiError ? e : serverError(500)).toJson(), fullBudget)
      })
    if (options.faults.latencyMs > 0) setTimeout(respond, options.faults.latencyMs)
    else void respond()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve))
  const { port } = server.address() as AddressInfo
  baseUrl = `http://${options.host}:${port}`

  return {
    baseUrl,
    appId: options.appId,
    key,
    addKey,
    options,
    store,
    requests,
    contractViolations,
    securityViolations,
    faultsInjected,
    seedPack: (seed) => api.seedPack(seed),
    review,
    seedReviewSubmission: (seed) => review.seed(options.appId, seed),
    now,
    async close() {
      api.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(spoolDir, { recursive: true, force: true })
    }
  }
}
