// The transport under the App Store Connect client: one JSON:API call (token, pacing, Apple's
// error documents, the retry policy), paging through links.next on the API's own origin, and the
// X-Rate-Limit budgets. Only this module sends API requests.
import * as log from '../log.js'
import { request, type Dispatcher } from 'undici'
import type { TokenProvider } from './auth.js'
import { cancellation } from '../cancellation.js'
import { AscApiError, UncertainOutcomeError } from '../errors.js'
import {
  API_RETRY,
  RATE_BURST_RETRY,
  RATE_LIMIT_RETRY,
  TOKEN_RENEWAL,
  isNetworkError,
  isRetryableStatus,
  retry,
  scaledMs,
  sleep
} from './retry.js'
import { explainFailure, proxyFor } from './http.js'

export type Query = Record<string, string | number>

export interface RateBudget {
  limit: number
  remaining: number
}

/** The budgets of an `X-Rate-Limit` header by name: `user-hour`, and on some endpoints `user-minute`. */
export type RateLimit = Record<string, RateBudget>

export interface CallOptions {
  /** Safe to repeat after a 5xx or a network error (reads, and writes made idempotent by the caller). */
  idempotent: boolean
  body?: unknown
}

/** Low remaining budget: space requests out rather than run into 429s. */
const LOW_BUDGET_SHARE = 0.05

/** Every `<name>-lim:<n>;<name>-rem:<n>` pair of the header; undefined when it has none. */
export function parseRateLimit(header: string | string[] | undefined): RateLimit | undefined {
  const text = Array.isArray(header) ? header.join(';') : (header ?? '')
  const values = new Map<string, number>()
  for (const [, name, value] of text.matchAll(/([\w-]+?-(?:lim|rem)):(\d+)/g))
    values.set(name, Number(value))
  const budgets: RateLimit = {}
  for (const [name, limit] of values) {
    const remaining = values.get(name.replace(/-lim$/, '-rem'))
    if (name.endsWith('-lim') && remaining !== undefined)
      budgets[name.slice(0, -4)] = { limit, remaining }
  }
  return Object.keys(budgets).length ? budgets : undefined
}

const PERIODS: Record<string, string> = { 'user-hour': 'this hour', 'user-minute': 'this minute' }

function isLow(budget: RateBudget | undefined): boolean {
  return !!budget && budget.remaining <= budget.limit * LOW_BUDGET_SHARE
}

export class Transport {
  /** The last X-Rate-Limit seen. */
  rateLimit?: RateLimit
  /** Requests sent, and how many of them were retries. */
  requests = 0
  retries = 0

  constructor(
    private readonly baseUrl: URL,
    private readonly tokens: TokenProvider,
    private readonly dispatcher: Dispatcher
  ) {}

  async close(): Promise<void> {
    await this.dispatcher.close()
  }

  /** Follows `links.next` to the end, only ever on the API's own origin (the token goes along). */
  async *pages<T extends { links: { next?: string } }>(
    path: string,
    query: Query
  ): AsyncGenerator<T> {
    let next: string | undefined = this.url(path, query).toString()
    while (next) {
      const url = new URL(next)
      if (url.origin !== this.baseUrl.origin)
        throw new Error(
          `App Store Connect returned a next-page link on another host (${url.origin}); refusing to send the API token there.`
        )
      const page: T = await this.call<T>(
        'GET',
        url.pathname,
        Object.fromEntries(url.searchParams),
        { idempotent: true }
      )
      yield page
      next = page.links.next
    }
  }

  url(path: string, query: Query): URL {
    const url = new URL(`${this.baseUrl.pathname.replace(/\/$/, '')}${path}`, this.baseUrl)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v))
    return url
  }

  /** One API call, retried as the policy says; non-2xx answers become AscApiErrors. */
  async call<T>(method: string, path: string, query: Query, options: CallOptions): Promise<T> {
    const url = this.url(path, query)
    const label = `${method} ${url.pathname}`
    let freshToken = false
    return retry(
      label,
      async () => {
        await this.paceForBudget()
        this.requests++
        const token = await this.tokens.token(freshToken)
        freshToken = false
        return this.send<T>(url, label, method, token, options)
      },
      (error) => {
        // Its cause is a network error, but a write that may have happened is never repeated here.
        if (error instanceof UncertainOutcomeError) return undefined
        if (error instanceof AscApiError && error.status === 401) {
          freshToken = true
          return { policy: TOKEN_RENEWAL, reason: '401: the token is signed anew' }
        }
        if (error instanceof AscApiError && error.status === 429) {
          // With hourly budget left, a 429 is a per-minute limit's burst: the rolling minute frees
          // capacity continuously, so seconds of backoff do. Only a spent hour is paced by the hour.
          const hourly = !this.rateLimit || isLow(this.rateLimit['user-hour'])
          return {
            policy: hourly ? RATE_LIMIT_RETRY : RATE_BURST_RETRY,
            reason: `429 rate limit, ${hourly ? 'hourly budget' : 'a short burst'}: ${this.budgetText()}`
          }
        }
        if (error instanceof AscApiError && isRetryableStatus(error.status))
          return { policy: API_RETRY, reason: String(error.status) }
        if (isNetworkError(error))
          return {
            policy: API_RETRY,
            reason: explainFailure(error, url),
            giveUp: (n) => new Error(`${label} failed ${n} times: ${explainFailure(error, url)}`)
          }
        return undefined
      },
      { onRetry: () => this.retries++ }
    )
  }

  /**
   * One request. A write that is not safe to repeat throws UncertainOutcomeError when it got no
   * usable answer (a network failure or a 5xx), which no retry repeats blindly.
   */
  private async send<T>(
    url: URL,
    label: string,
    method: string,
    token: string,
    options: CallOptions
  ): Promise<T> {
    let status: number
    let text: string
    try {
      const response = await request(url, {
        method: method as Dispatcher.HttpMethod,
        dispatcher: this.dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(options.body ? { 'content-type': 'application/json' } : {})
        },
        body: options.body ? JSON.stringify(options.body) : undefined,
        signal: cancellation
      })
      status = response.statusCode
      text = await response.body.text()
      this.rateLimit = parseRateLimit(response.headers['x-rate-limit']) ?? this.rateLimit
    } catch (error) {
      if (cancellation.aborted) throw cancellation.reason
      if (isNetworkError(error) && !options.idempotent)
        throw new UncertainOutcomeError(label, error)
      if (isNetworkError(error) || !proxyFor(url)) throw error
      throw new Error(`${label} failed: ${explainFailure(error, url)}`)
    }
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T
    const error = new AscApiError(status, parseErrors(text), label)
    if (status >= 500 && !options.idempotent) throw new UncertainOutcomeError(label, error)
    throw error
  }

  /** The budgets that are low (or the hour's, when none is), for the log. */
  private budgetText(): string {
    if (!this.rateLimit) return 'no X-Rate-Limit seen'
    const budgets = Object.entries(this.rateLimit)
    const low = budgets.filter(([, b]) => isLow(b))
    const shown = low.length ? low : budgets.filter(([name]) => name === 'user-hour')
    return shown
      .map(
        ([name, b]) => `${b.remaining} of ${b.limit} requests left ${PERIODS[name] ?? `(${name})`}`
      )
      .join(', ')
  }

  /** With under 5% of the hourly budget left, spread the rest over the hour instead of spending it now. */
  private async paceForBudget(): Promise<void> {
    const budget = this.rateLimit?.['user-hour']
    if (!isLow(budget)) return
    const delayMs = scaledMs(
      Math.min(30_000, Math.ceil(3_600_000 / Math.max(budget!.remaining, 1)))
    )
    log.info(
      `Rate limit budget low (${this.budgetText()}); waiting ${(delayMs / 1000).toFixed(1)} s before the next request`
    )
    await sleep(delayMs, cancellation)
  }
}

function parseErrors(text: string): AscApiError['errors'] {
  try {
    const parsed = JSON.parse(text) as { errors?: AscApiError['errors'] }
    if (Array.isArray(parsed.errors)) return parsed.errors
  } catch {
    // Not JSON (a proxy's error page): reported below as an error without details.
  }
  return []
}
