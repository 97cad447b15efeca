// Sends a file's bytes to the upload operations of its reservation: PUTs each part, streamed from
// disk, through a bounded worker pool, retrying a part on 5xx, 429, network errors and stalls.
// Upload URLs are pre-signed: the API's Authorization header is never sent to them.
import { setMaxListeners } from 'node:events'
import * as core from '@actions/core'
import { request, type Dispatcher } from 'undici'
import { cancellation } from '../cancellation.js'
import { describeCause, StallError } from '../errors.js'
import { BufferRing, PartReader } from './part-reader.js'
import { PART_RETRY, backoffMs, isNetworkError, isRetryableStatus, sleep } from '../asc/retry.js'
import { createDispatcher, explainFailure, proxyFor } from '../asc/http.js'
import type { PartPlan } from './plan.js'
import type { Progress } from './progress.js'

export interface UploadStats {
  parts: number
  bytes: number
  retries: number
}

export interface UploadOptions {
  /** Called when the storage accepted a part (the resume ledger records it). */
  onPartSent?: (partNumber: number) => void
  /** A part whose bytes stop moving for this long is aborted and sent again. */
  stallTimeoutMs: number
}

export class PartUploader {
  retries = 0

  private constructor(
    private readonly dispatcher: Dispatcher,
    private readonly concurrency: number
  ) {}

  /** One connection per worker, kept alive across parts. */
  static create(concurrency: number): PartUploader {
    return new PartUploader(
      createDispatcher({
        connections: concurrency,
        keepAliveTimeout: 30_000,
        headersTimeout: 120_000,
        bodyTimeout: 120_000
      }),
      concurrency
    )
  }

  async close(): Promise<void> {
    await this.dispatcher.close()
  }

  /** PUTs every part; the first part that cannot be sent stops the others and is thrown. */
  async uploadAll(
    source: string | Buffer,
    parts: PartPlan[],
    progress: Progress,
    options: UploadOptions
  ): Promise<UploadStats> {
    const queue = [...parts]
    const failed = new AbortController()
    const stop = AbortSignal.any([failed.signal, cancellation])
    setMaxListeners(this.concurrency * 4, failed.signal, stop)
    const retriesBefore = this.retries
    let firstError: unknown
    const worker = async () => {
      const ring = new BufferRing()
      for (let part = queue.shift(); part && !stop.aborted; part = queue.shift()) {
        await this.uploadPart(source, part, ring, progress, stop, options)
        options.onPartSent?.(part.partNumber)
      }
    }
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, parts.length) }, () =>
        worker().catch((error: unknown) => {
          // The first failure is the cause; the others are the aborts it triggered.
          if (!stop.aborted) firstError = error
          failed.abort()
        })
      )
    )
    if (cancellation.aborted) throw cancellation.reason
    if (stop.aborted) throw firstError
    return {
      parts: parts.length,
      bytes: parts.reduce((n, p) => n + p.length, 0),
      retries: this.retries - retriesBefore
    }
  }

  private async uploadPart(
    source: string | Buffer,
    part: PartPlan,
    ring: BufferRing,
    progress: Progress,
    stop: AbortSignal,
    options: UploadOptions
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let failure: string
      const body = new PartReader(source, part.offset, part.length, ring)
      const stalled = new AbortController()
      const watchdog = this.watch(body, stalled, options.stallTimeoutMs)
      progress.track(body)
      let succeeded = false
      try {
        const response = await request(part.url, {
          method: part.method as Dispatcher.HttpMethod,
          dispatcher: this.dispatcher,
          // Exactly the operation's headers, and the length so the body is not chunked.
          headers: { ...part.headers, 'content-length': String(part.length) },
          body,
          signal: AbortSignal.any([stop, stalled.signal])
        })
        const text = await response.body.text()
        if (response.statusCode >= 200 && response.statusCode < 300) {
          succeeded = true
          return
        }
        failure = `${response.statusCode} ${text.slice(0, 200).trim()}`
        if (!isRetryableStatus(response.statusCode))
          throw new Error(`Part ${part.partNumber} was refused by the upload storage: ${failure}`)
      } catch (error) {
        if (stop.aborted) throw error
        // undici may end a request whose socket the server closed with an AbortError of its own.
        const retryable =
          stalled.signal.aborted || isNetworkError(error) || (error as Error)?.name === 'AbortError'
        if (!retryable) {
          if (!proxyFor(new URL(part.url))) throw error
          throw new Error(
            `Part ${part.partNumber} could not be sent: ${explainFailure(error, new URL(part.url))}`
          )
        }
        failure = stalled.signal.aborted
          ? describeCause(stalled.signal.reason)
          : explainFailure(error, new URL(part.url))
      } finally {
        clearInterval(watchdog)
        progress.untrack(body, succeeded)
        body.destroy()
      }
      if (attempt >= PART_RETRY.attempts)
        throw new Error(`Part ${part.partNumber} failed ${attempt} times; last: ${failure}`)
      this.retries++
      const delayMs = backoffMs(attempt, PART_RETRY)
      core.info(
        `Part ${part.partNumber}: attempt ${attempt} of ${PART_RETRY.attempts} failed (${failure}); retrying in ${(delayMs / 1000).toFixed(1)} s`
      )
      await sleep(delayMs, stop)
    }
  }

  /** Aborts the attempt when the part's bytes stop moving (read from disk = taken by the socket). */
  private watch(body: PartReader, stalled: AbortController, timeoutMs: number): NodeJS.Timeout {
    let lastBytes = -1
    let lastMove = Date.now()
    return setInterval(
      () => {
        if (body.bytesRead !== lastBytes) {
          lastBytes = body.bytesRead
          lastMove = Date.now()
        } else if (Date.now() - lastMove >= timeoutMs) {
          stalled.abort(new StallError(Math.round(timeoutMs / 1000)))
        }
      },
      Math.min(1000, timeoutMs / 4)
    ).unref()
  }
}
