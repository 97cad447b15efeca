// The one retry policy: bounded attempts, exponential backoff with full jitter, only for answers
// that say "try again" (429, 5xx) and for network failures.
import { setTimeout as delay } from 'node:timers/promises'

export interface RetryPolicy {
  attempts: number
  baseMs: number
  maxMs: number
}

// Tests shrink every wait with this factor; it is 1 in real runs.
const SCALE = Number(process.env.ASSET_PACK_RELEASE_BACKOFF_SCALE ?? 1) || 1

export const API_RETRY: RetryPolicy = { attempts: 5, baseMs: 1000, maxMs: 20000 }
/** 429s carry no Retry-After: back off for seconds, not minutes (the hourly budget is low). */
export const RATE_LIMIT_RETRY: RetryPolicy = { attempts: 6, baseMs: 2000, maxMs: 30000 }
/** A 429 with hourly budget left is a per-minute burst: short waits, a few more of them. */
export const RATE_BURST_RETRY: RetryPolicy = { attempts: 8, baseMs: 1000, maxMs: 8000 }
export const PART_RETRY: RetryPolicy = { attempts: 6, baseMs: 1000, maxMs: 20000 }

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
