// The one retry policy and its one helper: bounded attempts, exponential backoff with full jitter,
// cancellation, and the log line "attempt n of N failed (…); retrying in X s". Callers say only
// which failures are retryable, under which policy (the toolkit cache package's retry(name, fn,
// classify) is the model). API calls, part uploads and uncertain writes all go through it.
import * as log from '../log.js'
import { setTimeout as delay } from 'node:timers/promises'
import { cancellation } from '../cancellation.js'
import { UncertainOutcomeError } from '../errors.js'

export interface RetryPolicy {
  attempts: number
  baseMs: number
  maxMs: number
}

// Tests shrink every wait with this factor; it is 1 in real runs.
const SCALE = Number(process.env.ASSET_PACK_RELEASE_BACKOFF_SCALE ?? 1) || 1

/** 5xx answers and network failures of API calls that are safe to repeat. */
export const API_RETRY: RetryPolicy = { attempts: 5, baseMs: 1000, maxMs: 20000 }
/** 429s carry no Retry-After: back off for seconds, not minutes (the hourly budget is low). */
export const RATE_LIMIT_RETRY: RetryPolicy = { attempts: 6, baseMs: 2000, maxMs: 30000 }
/** A 429 with hourly budget left is a per-minute burst: short waits, a few more of them. */
export const RATE_BURST_RETRY: RetryPolicy = { attempts: 8, baseMs: 1000, maxMs: 8000 }
/** One fresh token settles a token that expired in flight; a second 401 is the key or the clock. */
export const TOKEN_RENEWAL: RetryPolicy = { attempts: 2, baseMs: 0, maxMs: 0 }
/** A part's 5xx, 429, network failure or stall. */
export const PART_RETRY: RetryPolicy = { attempts: 6, baseMs: 1000, maxMs: 20000 }
/** A write that got no answer, tried again once what it may have done has been looked up. */
export const UNCERTAIN_WRITE_RETRY: RetryPolicy = { attempts: 3, baseMs: 500, maxMs: 2000 }

/** How a failed attempt is retried: under which policy, and why (for the log). */
export interface Retryable {
  policy: RetryPolicy
  reason: string
  /** What to throw once the policy's attempts are spent (by default, the last error). */
  giveUp?: (attempts: number) => Error
}

/**
 * Runs `attempt` (given its number, from 1) until it succeeds. A failure that `classify` finds
 * retryable waits its policy's jittered backoff and goes again; each policy counts its own
 * attempts. Anything else, a spent policy, or `signal` aborting ends it with an error.
 */
export async function retry<T>(
  name: string,
  attempt: (n: number) => Promise<T>,
  classify: (error: unknown) => Retryable | undefined,
  options: { signal?: AbortSignal; onRetry?: () => void } = {}
): Promise<T> {
  const signal = options.signal ?? cancellation
  const failures = new Map<RetryPolicy, number>()
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (signal.aborted) throw cancellation.aborted ? cancellation.reason : error
      const retryable = classify(error)
      if (!retryable) throw error
      const { policy, reason } = retryable
      const failed = (failures.get(policy) ?? 0) + 1
      failures.set(policy, failed)
      if (failed >= policy.attempts) throw retryable.giveUp?.(failed) ?? error
      options.onRetry?.()
      const delayMs = backoffMs(failed, policy)
      log.info(
        `${name}: attempt ${failed} of ${policy.attempts} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`
      )
      await sleep(delayMs, signal)
    }
  }
}

/**
 * A write that may have taken effect without an answer (UncertainOutcomeError) is never repeated
 * blindly: before each new attempt, `lookUp` looks for what it made, and that is the result when
 * found. `lookingFor` says what is looked up, for the log.
 */
export function writeWithoutRepeats<T>(
  name: string,
  write: () => Promise<T>,
  lookUp: () => Promise<T | undefined>,
  lookingFor: string
): Promise<T> {
  return retry(
    name,
    async (n) => (n > 1 ? ((await lookUp()) ?? write()) : write()),
    (error) =>
      error instanceof UncertainOutcomeError
        ? { policy: UNCERTAIN_WRITE_RETRY, reason: `${error.message}; ${lookingFor}` }
        : undefined
  )
}

/** A wait as configured, shrunk by the test factor. */
export function scaledMs(ms: number): number {
  return Math.round(ms * SCALE)
}

/** Delay before attempt `attempt + 1`, having failed `attempt` times. */
export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1))
  return scaledMs(ceiling / 2 + random() * (ceiling / 2))
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal })
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
])

export function isNetworkError(error: unknown): boolean {
  for (
    let e = error as { code?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code && NETWORK_CODES.has(e.code)) return true
  }
  return false
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500
}
