// The retry policy: jittered exponential backoff, bounded; which failures are worth a retry.
import { API_RETRY, backoffMs, isNetworkError, isRetryableStatus } from '../../src/asc/retry.js'

test('backoff doubles from the base, stays within [ceiling/2, ceiling] and below the cap', () => {
  expect(backoffMs(1, API_RETRY, () => 0)).toBe(500)
  expect(backoffMs(1, API_RETRY, () => 1)).toBe(1000)
  expect(backoffMs(3, API_RETRY, () => 1)).toBe(4000)
  expect(backoffMs(20, API_RETRY, () => 1)).toBe(API_RETRY.maxMs)
})

test('5xx and 429 are retried; other statuses are not', () => {
  expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true)
  expect([400, 401, 403, 404, 409, 422].some(isRetryableStatus)).toBe(false)
})

test('network failures are recognised through error causes', () => {
  expect(isNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true)
  expect(
    isNetworkError(
      new Error('fetch failed', {
        cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' })
      })
    )
  ).toBe(true)
  expect(isNetworkError(new Error('nope'))).toBe(false)
})
