// Sends a file's bytes to the upload operations of its reservation: checks that the operations
// tile the file and have not expired, then PUTs each part, streamed from disk, through a bounded
// worker pool, retrying a part on 5xx, 429 and network errors. Upload URLs are pre-signed: the
// API's Authorization header is never sent to them.
import { setMaxListeners } from 'node:events'
import { createReadStream } from 'node:fs'
import { pipeline, Transform } from 'node:stream'
import * as core from '@actions/core'
import { Agent, request, type Dispatcher } from 'undici'
import type { BackgroundAssetUploadFile } from './asc-client.js'
import { PROGRESS_INTERVAL_MS } from './constants.js'
import { describeCause } from './errors.js'
import { PART_RETRY, backoffMs, isNetworkError, isRetryableStatus, sleep } from './retry.js'
import { isLoopbackHost } from './inputs.js'

export interface PartPlan {
  partNumber: number
  offset: number
  length: number
  method: string
  url: string
  headers: Record<string, string>
}

/** Read-ahead per part stream: enough to keep a socket busy, small enough for flat memory. */
const READ_CHUNK = 256 * 1024
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

/** Logs percent, MiB/s and ETA at most every PROGRESS_INTERVAL_MS. */
export class Progress {
  private sent = 0
  private lastLog = Date.now()
  private readonly started = Date.now()

  constructor(
    private readonly label: string,
    private readonly total: number
  ) {}

  add(bytes: number): void {
    this.sent += bytes
    const now = Date.now()
    if (now - this.lastLog < PROGRESS_INTERVAL_MS || this.sent >= this.total) return
    this.lastLog = now
    const seconds = (now - this.started) / 1000
    const rate = this.sent / seconds
    const eta = rate > 0 ? (this.total - this.sent) / rate : Infinity
    core.info(
      `${this.label}: ${mib(this.sent)} of ${mib(this.total)} (${Math.floor((this.sent / this.total) * 100)}%), ${mib(rate)}/s, about ${Math.ceil(eta)} s left`
    )
  }

  /** Bytes of an attempt that failed are sent again. */
  undo(bytes: number): void {
    this.sent -= bytes
  }
}

export function mib(bytes: number): string {
  return bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(2)} GiB`
    : `${(bytes / 1024 ** 2).toFixed(1)} MiB`
}

export interface UploadStats {
  parts: number
  bytes: number
  retries: number
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
      new Agent({
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
  async uploadAll(path: string, parts: PartPlan[], progress: Progress): Promise<UploadStats> {
    const queue = [...parts]
    const abort = new AbortController()
    setMaxListeners(this.concurrency * 4, abort.signal)
    const retriesBefore = this.retries
    let firstError: unknown
    const worker = async () => {
      for (let part = queue.shift(); part && !abort.signal.aborted; part = queue.shift()) {
        await this.uploadPart(path, part, progress, abort.signal)
      }
    }
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, parts.length) }, () =>
        worker().catch((error: unknown) => {
          // The first failure is the cause; the others are the aborts it triggered.
          if (!abort.signal.aborted) firstError = error
          abort.abort()
        })
      )
    )
    if (abort.signal.aborted) throw firstError
    return {
      parts: parts.length,
      bytes: parts.reduce((n, p) => n + p.length, 0),
      retries: this.retries - retriesBefore
    }
  }

  private async uploadPart(
    path: string,
    part: PartPlan,
    progress: Progress,
    signal: AbortSignal
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let sent = 0
      let failure: string
      try {
        // Counted as undici pulls the bytes (a 'data' listener would start the flow before undici reads).
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            sent += chunk.length
            progress.add(chunk.length)
            done(null, chunk)
          }
        })
        const body = pipeline(
          createReadStream(path, {
            start: part.offset,
            end: part.offset + part.length - 1,
            highWaterMark: READ_CHUNK
          }),
          counter,
          () => undefined
        )
        const response = await request(part.url, {
          method: part.method as Dispatcher.HttpMethod,
          dispatcher: this.dispatcher,
          // Exactly the operation's headers, and the length so the body is not chunked.
          headers: { ...part.headers, 'content-length': String(part.length) },
          body,
          signal
        })
        const text = await response.body.text()
        if (response.statusCode >= 200 && response.statusCode < 300) return
        failure = `${response.statusCode} ${text.slice(0, 200).trim()}`
        if (!isRetryableStatus(response.statusCode))
          throw new Error(`Part ${part.partNumber} was refused by the upload storage: ${failure}`)
      } catch (error) {
        // undici may end a request whose socket the server closed with an AbortError of its own.
        const lostConnection = isNetworkError(error) || (error as Error)?.name === 'AbortError'
        if (signal.aborted || !lostConnection) throw error
        failure = describeCause(error)
      }
      progress.undo(sent)
      if (attempt >= PART_RETRY.attempts)
        throw new Error(`Part ${part.partNumber} failed ${attempt} times; last: ${failure}`)
      this.retries++
      const delayMs = backoffMs(attempt, PART_RETRY)
      core.info(
        `Part ${part.partNumber}: attempt ${attempt} of ${PART_RETRY.attempts} failed (${failure}); retrying in ${(delayMs / 1000).toFixed(1)} s`
      )
      await sleep(delayMs, signal)
    }
  }
}
