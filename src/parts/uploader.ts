// Sends a file's bytes to the upload operations of its reservation: PUTs each part, streamed from
// disk, through a bounded pool of part slots shared by every file of the run (several packs
// upload at once within upload-concurrency), retrying a part on 5xx, 429, network errors and
// stalls.
// Upload URLs are pre-signed: the API's Authorization header is never sent to them.
import { setMaxListeners } from 'node:events'
import { request, type Dispatcher } from 'undici'
import { cancellation } from '../cancellation.js'
import { StallError, StorageRetryableStatus } from '../errors.js'
import { BufferRing, PartReader } from './part-reader.js'
import { PART_RETRY, isNetworkError, isRetryableStatus, retry } from '../asc/retry.js'
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

/**
 * The run's part slots: at most `concurrency` parts in flight across every upload, each slot with
 * its read buffers (so memory does not grow with the number of packs). Waiters are served in turn.
 */
class PartSlots {
  private readonly free: BufferRing[] = []
  private readonly waiting: ((ring: BufferRing) => void)[] = []
  private made = 0

  constructor(private readonly concurrency: number) {}

  acquire(): Promise<BufferRing> {
    const ring =
      this.free.pop() ??
      (this.made < this.concurrency ? (this.made++, new BufferRing()) : undefined)
    return ring ? Promise.resolve(ring) : new Promise((resolve) => this.waiting.push(resolve))
  }

  release(ring: BufferRing): void {
    const next = this.waiting.shift()
    if (next) next(ring)
    else this.free.push(ring)
  }
}

export class PartUploader {
  retries = 0
  private readonly slots: PartSlots

  private constructor(
    private readonly dispatcher: Dispatcher,
    private readonly concurrency: number
  ) {
    this.slots = new PartSlots(concurrency)
  }

  /** One connection per slot, kept alive across parts; one uploader serves the whole run. */
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
      while (queue.length && !stop.aborted) {
        const ring = await this.slots.acquire()
        try {
          const part = queue.shift()
          if (!part || stop.aborted) return
          await this.uploadPart(source, part, ring, progress, stop, options)
          options.onPartSent?.(part.partNumber)
        } finally {
          this.slots.release(ring)
        }
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

  /** One part, retried on 5xx, 429, network errors and stalls; other refusals end the upload. */
  private async uploadPart(
    source: string | Buffer,
    part: PartPlan,
    ring: BufferRing,
    progress: Progress,
    stop: AbortSignal,
    options: UploadOptions
  ): Promise<void> {
    const url = new URL(part.url)
    await retry(
      `Part ${part.partNumber}`,
      () => this.sendPart(source, part, ring, progress, stop, options.stallTimeoutMs),
      (error) => {
        // undici may end a request whose socket the server closed with an AbortError of its own.
        const reason =
          error instanceof StallError || error instanceof StorageRetryableStatus
            ? error.message
            : isNetworkError(error) || (error as Error)?.name === 'AbortError'
              ? explainFailure(error, url)
              : undefined
        return reason === undefined
          ? undefined
          : {
              policy: PART_RETRY,
              reason,
              giveUp: (n) => new Error(`Part ${part.partNumber} failed ${n} times; last: ${reason}`)
            }
      },
      { signal: stop, onRetry: () => this.retries++ }
    )
  }

  /** One attempt: the part's bytes streamed with exactly the operation's headers. */
  private async sendPart(
    source: string | Buffer,
    part: PartPlan,
    ring: BufferRing,
    progress: Progress,
    stop: AbortSignal,
    stallTimeoutMs: number
  ): Promise<void> {
    const body = new PartReader(source, part.offset, part.length, ring)
    // One controller per attempt, tied to `stop` by a listener that goes when the attempt ends:
    // AbortSignal.any would keep every attempt's signal alive as long as `stop` lives, memory
    // that grows with the number of parts.
    const attempt = new AbortController()
    const onStop = () => attempt.abort(stop.reason)
    if (stop.aborted) onStop()
    else stop.addEventListener('abort', onStop, { once: true })
    const watchdog = this.watch(body, attempt, stallTimeoutMs)
    progress.track(body)
    let succeeded = false
    try {
      const response = await request(part.url, {
        method: part.method as Dispatcher.HttpMethod,
        dispatcher: this.dispatcher,
        // Exactly the operation's headers, and the length so the body is not chunked.
        headers: { ...part.headers, 'content-length': String(part.length) },
        body,
        signal: attempt.signal
      })
      const text = await response.body.text()
      if (response.statusCode >= 200 && response.statusCode < 300) {
        succeeded = true
        return
      }
      const failure = `${response.statusCode} ${text.slice(0, 200).trim()}`
      if (isRetryableStatus(response.statusCode)) throw new StorageRetryableStatus(failure)
      throw new Error(`Part ${part.partNumber} was refused by the upload storage: ${failure}`)
    } catch (error) {
      if (attempt.signal.reason instanceof StallError && !stop.aborted) throw attempt.signal.reason
      const url = new URL(part.url)
      const known =
        error instanceof StorageRetryableStatus ||
        isNetworkError(error) ||
        (error as Error)?.name === 'AbortError' ||
        !proxyFor(url)
      if (stop.aborted || known) throw error
      throw new Error(`Part ${part.partNumber} could not be sent: ${explainFailure(error, url)}`)
    } finally {
      stop.removeEventListener('abort', onStop)
      clearInterval(watchdog)
      progress.untrack(body, succeeded)
      body.destroy()
    }
  }

  /** Aborts the attempt when the part's bytes stop moving (read from disk = taken by the socket). */
  private watch(body: PartReader, attempt: AbortController, timeoutMs: number): NodeJS.Timeout {
    let lastBytes = -1
    let lastMove = Date.now()
    return setInterval(
      () => {
        if (body.bytesRead !== lastBytes) {
          lastBytes = body.bytesRead
          lastMove = Date.now()
        } else if (Date.now() - lastMove >= timeoutMs) {
          attempt.abort(new StallError(Math.round(timeoutMs / 1000)))
        }
      },
      Math.min(1000, timeoutMs / 4)
    ).unref()
  }
}
