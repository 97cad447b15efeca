// The upload storage behind the signed URLs of upload operations: the checks a pre-signed bucket
// makes, bandwidth limits, the faults, and each part received into its file's Assembly.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Faults } from './faults.js'
import type { SimulatorOptions } from './options.js'
import type { LoggedRequest } from './router.js'
import type { Store } from './store.js'
import type { Assembly, PartSlot, ReceivedPart } from './assembly.js'
/** Signs storage URLs so that a changed URL (or an expired one) is refused like a real bucket would. */
export class UrlSigner {
  constructor(private readonly secret: Buffer) {}

  sign(path: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${path}\n${expires}`).digest('hex')
  }

  verify(path: string, expires: number, signature: string): boolean {
    const expected = Buffer.from(this.sign(path, expires))
    const given = Buffer.from(signature)
    return expected.length === given.length && timingSafeEqual(expected, given)
  }
}

const BURST_CREDIT_MS = 20

/** A token bucket shared by whoever holds it: delays chunks so throughput stays under a rate. */
export class Bandwidth {
  private nextFree = Date.now()
  constructor(private readonly bytesPerSecond: number) {}

  delayFor(bytes: number): number {
    if (!this.bytesPerSecond) return 0
    const now = Date.now()
    // Timers fire late; a little credit keeps those delays from adding up into lost bandwidth.
    const start = Math.max(now - BURST_CREDIT_MS, this.nextFree)
    this.nextFree = start + (bytes / this.bytesPerSecond) * 1000
    return Math.max(0, this.nextFree - now)
  }
}

export function throttle(limits: Bandwidth[]): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const wait = Math.max(...limits.map((l) => l.delayFor(chunk.length)))
      if (wait > 1) setTimeout(() => done(null, chunk), wait)
      else done(null, chunk)
    }
  })
}

export interface PartUpload {
  assembly: Assembly
  slot: PartSlot
  /** Reset the connection after this many bytes (a fault). */
  resetAfter?: number
  limits: Bandwidth[]
}

// Long on purpose: one stream pipeline (bandwidth, reset, spool or memory, fold), whose error
// paths share its state.
/** Receives one part's body (in memory or to a spool file), hashing it; undefined if cut short. */
export async function receivePart(
  req: IncomingMessage,
  res: ServerResponse,
  upload: PartUpload
): Promise<ReceivedPart | undefined> {
  const { assembly, slot } = upload
  const identity = createHash('sha256')
  const md5 = assembly.partMd5 ? createHash('md5') : undefined
  let head = Buffer.alloc(0)
  let received = 0
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length
      if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)])
      if (upload.resetAfter !== undefined && received >= upload.resetAfter) {
        req.socket.destroy()
        return done(new Error('connection reset (injected)'))
      }
      identity.update(chunk)
      md5?.update(chunk)
      done(null, chunk)
    }
  })
  const inMemory = assembly.claimMemory(slot.length)
  const chunks: Buffer[] = []
  const temp = join(assembly.dir, `part-${slot.partNumber}.${process.hrtime.bigint()}`)
  const sink = inMemory
    ? new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk)
          done()
        }
      })
    : createWriteStream(temp)
  const discard = async () => {
    if (inMemory) assembly.releaseMemory(slot.length)
    else await rm(temp, { force: true })
  }
  try {
    await pipeline(req, throttle(upload.limits), tap, sink)
  } catch {
    await discard()
    if (!res.headersSent && !req.socket.destroyed) res.writeHead(400).end()
    return undefined
  }
  if (received !== slot.length) {
    await discard()
    res
      .writeHead(400, { 'Content-Type': 'text/plain' })
      .end(`IncompleteBody: received ${received} of ${slot.length} bytes`)
    return undefined
  }
  const file = inMemory
    ? undefined
    : join(assembly.dir, `part-${slot.partNumber}.${process.hrtime.bigint()}.done`)
  if (file) await rename(temp, file)
  return {
    partNumber: slot.partNumber,
    offset: slot.offset,
    length: slot.length,
    identity: identity.digest(),
    md5: md5?.digest(),
    head,
    chunks: inMemory ? chunks : undefined,
    file,
    receipts: 0
  }
}

/**
 * The storage endpoint of the upload operations (`/storage/<file>/<part>`): it checks what a
 * pre-signed storage would (signature, expiry, method, the operation's headers, Content-Length,
 * no Authorization header), then spools the part with the configured bandwidth and faults.
 */
export class StorageEndpoint {
  private readonly totalBandwidth: Bandwidth
  private inFlight = 0
  /** The most part bodies received at once (what the client's concurrency bound allows). */
  maxInFlight = 0

  constructor(
    private readonly store: Store,
    private readonly options: SimulatorOptions,
    private readonly signer: UrlSigner,
    private readonly faults: Faults,
    private readonly securityViolations: string[],
    private readonly now: () => number
  ) {
    this.totalBandwidth = new Bandwidth(options.faults.bandwidthTotal)
  }

  // Long on purpose: the checks a pre-signed storage makes, in its order, then the faults.
  async handle(
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
      this.securityViolations.push(`${req.method} ${url.pathname} carried an Authorization header`)
      return refuse(400, 'InvalidArgument: only one auth mechanism allowed')
    }
    const [, , fileId, partNumber] = url.pathname.split('/')
    const file = this.store.uploadFiles.get(fileId)
    const op = file?.operations.find((o) => String(o.partNumber) === partNumber)
    if (!file || !op || !file.assembly) return refuse(404, 'NoSuchUpload')
    const expires = Number(url.searchParams.get('expires'))
    if (!this.signer.verify(url.pathname, expires, url.searchParams.get('signature') ?? ''))
      return refuse(403, 'SignatureDoesNotMatch')
    if (req.method !== 'PUT') return refuse(405, 'MethodNotAllowed')
    if (expires * 1000 < this.now()) return refuse(403, 'AccessDenied: Request has expired')
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
    if (this.faults.storageStalls()) {
      // Take nothing more and never answer: the client has to notice on its own.
      req.pause()
      return
    }
    const resetAfter = this.faults.storageResetAfter(op.length)
    const fail = this.faults.storageFails()
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight)
    const part = await receivePart(req, res, {
      assembly: file.assembly,
      slot: op,
      resetAfter,
      limits: [new Bandwidth(this.options.faults.bandwidthPerConnection), this.totalBandwidth]
    }).finally(() => this.inFlight--)
    if (!part) {
      log.status = res.headersSent ? res.statusCode : 0
      return
    }
    if (fail) return refuse(500, 'InternalError: please retry')
    file.assembly.record(part)
    log.status = 200
    res
      .writeHead(200, {
        ETag: `"${part.identity.toString('hex').slice(0, 32)}"`,
        'Content-Length': 0
      })
      .end()
  }
}
