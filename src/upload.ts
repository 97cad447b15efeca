// Sends a file's bytes to the upload operations of its reservation: checks that the operations
// tile the file and have not expired, then PUTs each part, streamed from disk, through a bounded
// worker pool, retrying a part on 5xx, 429 and network errors. Upload URLs are pre-signed: the
// API's Authorization header is never sent to them.
import { setMaxListeners } from 'node:events'
import * as core from '@actions/core'
import { request, type Dispatcher } from 'undici'
import type { BackgroundAssetUploadFile } from './asc-client.js'
import { PROGRESS_INTERVAL_MS } from './constants.js'
import { cancellation } from './cancellation.js'
import { describeCause } from './errors.js'
import { BufferRing, PartReader } from './part-reader.js'
import { formatSize } from './format.js'
import { PART_RETRY, backoffMs, isNetworkError, isRetryableStatus, sleep } from './retry.js'
import { isLoopbackHost } from './inputs.js'
import { createDispatcher, explainFailure, proxyFor } from './http.js'

export interface PartPlan {
  partNumber: number
  offset: number
  length: number
  method: string
  url: string
  headers: Record<string, string>
}

/** An operation must stay valid at least this long after the check, or the reservation is renewed. */
const EXPIRY_MARGIN_MS = 5 * 60_000

export class UploadPlanError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UploadPlanError'
  }
}

/**
 * The reservation's operations, sorted by offset, once they are known to cover [0, fileSize)
 * exactly, use http(s) URLs, and have not expired. Anything else is refused before a byte is sent.
 */
export function planParts(
  file: BackgroundAssetUploadFile,
  fileSize: number,
  now = Date.now()
): PartPlan[] {
  const operations = file.attributes?.uploadOperations ?? []
  if (!operations.length)
    throw new UploadPlanError(`The reservation ${file.id} has no upload operations.`)
  const parts = operations.map((op, i): PartPlan => {
    if (typeof op.offset !== 'number' || typeof op.length !== 'number' || !op.url || !op.method) {
      throw new UploadPlanError(
        `Upload operation ${i + 1} of reservation ${file.id} lacks an offset, length, method or URL.`
      )
    }
    const url = new URL(op.url)
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new UploadPlanError(
        `Upload operation ${op.partNumber ?? i + 1} has a non-https URL; refusing to send the archive over plain http.`
      )
    }
    if (op.expiration && Date.parse(op.expiration) - EXPIRY_MARGIN_MS < now) {
      throw new UploadPlanError(
        `Upload operation ${op.partNumber ?? i + 1} expired at ${op.expiration}; the reservation must be renewed.`
      )
    }
    const headers: Record<string, string> = {}
    for (const h of op.requestHeaders ?? []) if (h.name) headers[h.name] = h.value ?? ''
    return {
      partNumber: op.partNumber ?? i + 1,
      offset: op.offset,
      length: op.length,
      method: op.method,
      url: op.url,
      headers
    }
  })
  parts.sort((a, b) => a.offset - b.offset)
  let expected = 0
  for (const part of parts) {
    if (part.offset > expected)
      throw new UploadPlanError(
        `The upload operations leave bytes ${expected}–${part.offset - 1} uncovered (gap before part ${part.partNumber}).`
      )
    if (part.offset < expected)
      throw new UploadPlanError(
        `Upload operation part ${part.partNumber} overlaps the previous one at byte ${part.offset}.`
      )
    expected = part.offset + part.length
  }
  if (expected !== fileSize)
    throw new UploadPlanError(
      `The upload operations cover ${expected} bytes, but the file has ${fileSize}.`
    )
  if (new Set(parts.map((p) => p.partNumber)).size !== parts.length)
    throw new UploadPlanError('Two upload operations share a part number.')
  return parts
}

/**
 * Logs percent, MiB/s and ETA every PROGRESS_INTERVAL_MS while an upload runs. It samples the
 * read streams' byte counts rather than touching every chunk, so it costs nothing per byte.
 */
export class Progress {
  private finished = 0
  private readonly active = new Set<PartReader>()
  private readonly started = Date.now()
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly label: string,
    private readonly total: number
  ) {
    this.timer = setInterval(() => this.log(), PROGRESS_INTERVAL_MS).unref()
  }

  track(stream: PartReader): void {
    this.active.add(stream)
  }

  /** A part's stream is done: its bytes count once the part succeeded, not when it failed. */
  untrack(stream: PartReader, succeeded: boolean): void {
    this.active.delete(stream)
    if (succeeded) this.finished += stream.bytesRead
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private log(): void {
    let sent = this.finished
    for (const stream of this.active) sent += stream.bytesRead
    const rate = sent / ((Date.now() - this.started) / 1000)
    const eta = rate > 0 ? Math.ceil((this.total - sent) / rate) : '?'
    core.info(
      `${this.label}: ${formatSize(sent)} of ${formatSize(this.total)} (${Math.floor((sent / this.total) * 100)}%), ${formatSize(rate)}/s, about ${eta} s left`
    )
  }
}

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

/** A part attempt that made no progress for stallTimeoutMs. */
class StallError extends Error {
  constructor(seconds: number) {
    super(`no progress for ${seconds} s`)
    this.name = 'StallError'
  }
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
