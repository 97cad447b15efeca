// The upload storage behind the signed URLs of upload operations. A part is held in memory while
// a bounded window allows (spilled to a spool file beyond it), folded into the whole-file
// digests as soon as the parts before it are in, and then released: memory stays flat whatever
// the file size, and a commit only waits for the last part's bytes.
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Faults } from './faults.js'
import type { ChecksumAlgorithm, SimulatorOptions } from './options.js'
import type { LoggedRequest } from './router.js'
import type { Store } from './store.js'

/** Bytes of received-but-not-yet-folded parts kept in memory per upload; the rest go to disk. */
export const MEMORY_WINDOW = 96 * 1024 * 1024

export interface ReceivedPart {
  partNumber: number
  offset: number
  length: number
  /** SHA-256 of the part: tells a resent copy from different bytes (hardware-fast). */
  identity: Buffer
  /** MD5 of the part, when the upload takes a composite checksum. */
  md5?: Buffer
  /** The part's first bytes (the file's signature, for the part at offset 0). */
  head: Buffer
  /** Where the bytes wait to be folded: in memory, or in a spool file. Dropped once folded. */
  chunks?: Buffer[]
  file?: string
  /** How many times the part was received in full. */
  receipts: number
}

interface PartSlot {
  partNumber: number
  offset: number
  length: number
}

/** Bytes of one upload file as the storage holds them. */
export class Assembly {
  readonly parts = new Map<number, ReceivedPart>()
  private readonly slots: PartSlot[]
  private cursor = 0
  private readonly folded = new Map<number, Buffer>()
  private readonly fileHashes: Hash[]
  private folding: Promise<void> = Promise.resolve()
  private inMemory = 0
  /** The most part bytes held in memory at once (bounded by MEMORY_WINDOW). */
  peakInMemory = 0
  /** Parts sent again with other bytes after they were folded (the digests no longer hold). */
  readonly changedAfterFold = new Set<number>()
  committed = false

  constructor(
    readonly dir: string,
    slots: PartSlot[],
    private readonly algorithms: ChecksumAlgorithm[],
    /** Per-part MD5s, for a composite checksum. */
    readonly partMd5: boolean,
    /** Keep the bytes after folding (small files the simulator reads: manifests). */
    private readonly keepBytes: boolean
  ) {
    this.slots = [...slots].sort((a, b) => a.offset - b.offset)
    this.fileHashes = algorithms.map((a) => createHash(a === 'MD5' ? 'md5' : 'sha256'))
  }

  get receivedBytes(): number {
    let total = 0
    for (const p of this.parts.values()) total += p.length
    return total
  }

  /** The first bytes of the file, for processing's signature check. */
  get head(): Buffer {
    return this.parts.get(this.slots[0]?.partNumber)?.head ?? Buffer.alloc(0)
  }

  missingParts(): number[] {
    return this.slots.filter((s) => !this.parts.has(s.partNumber)).map((s) => s.partNumber)
  }

  /** Memory for a part's bytes, if the window has room; otherwise the part goes to disk. */
  claimMemory(bytes: number): boolean {
    if (this.inMemory + bytes > MEMORY_WINDOW) return false
    this.inMemory += bytes
    this.peakInMemory = Math.max(this.peakInMemory, this.inMemory)
    return true
  }

  releaseMemory(bytes: number): void {
    this.inMemory -= bytes
  }

  record(part: ReceivedPart): void {
    const previous = this.parts.get(part.partNumber)
    part.receipts = (previous?.receipts ?? 0) + 1
    const folded = this.folded.get(part.partNumber)
    if (folded) {
      // Already in the digests: the same bytes again change nothing; other bytes do.
      if (!folded.equals(part.identity)) this.changedAfterFold.add(part.partNumber)
      this.drop(part)
      this.parts.set(part.partNumber, { ...part, chunks: undefined, file: undefined })
      return
    }
    if (previous) this.drop(previous)
    this.parts.set(part.partNumber, part)
    this.folding = this.folding.then(() => this.fold())
  }

  /** Whole-file digests (hex) and the composite MD5, once every part is in. */
  async digests(): Promise<{
    file: Partial<Record<ChecksumAlgorithm, string>>
    composite?: string
    size: number
  }> {
    await this.folding
    const file: Partial<Record<ChecksumAlgorithm, string>> = {}
    this.algorithms.forEach((a, i) => (file[a] = this.fileHashes[i].copy().digest('hex')))
    let composite: string | undefined
    if (this.partMd5) {
      const hash = createHash('md5')
      for (const slot of [...this.slots].sort((a, b) => a.partNumber - b.partNumber))
        hash.update(this.parts.get(slot.partNumber)!.md5!)
      composite = hash.digest('hex')
    }
    return { file, composite, size: this.receivedBytes }
  }

  /** The whole file (only for small files kept with keepBytes). */
  readAll(): Buffer {
    return Buffer.concat(this.slots.flatMap((s) => this.parts.get(s.partNumber)?.chunks ?? []))
  }

  async discard(): Promise<void> {
    await this.folding.catch(() => undefined)
    for (const part of this.parts.values()) this.drop(part)
    await rm(this.dir, { recursive: true, force: true })
  }

  private drop(part: ReceivedPart): void {
    if (part.chunks) this.releaseMemory(part.length)
    part.chunks = undefined
    if (part.file) void rm(part.file, { force: true })
    part.file = undefined
  }

  private async fold(): Promise<void> {
    while (this.cursor < this.slots.length) {
      const part = this.parts.get(this.slots[this.cursor].partNumber)
      if (!part) return
      const chunks: AsyncIterable<Buffer> | Buffer[] =
        part.chunks ?? (createReadStream(part.file!) as AsyncIterable<Buffer>)
      for await (const chunk of chunks) {
        for (const h of this.fileHashes) h.update(chunk)
        // Let sockets and throttle timers run between chunks: hashing a part blocks for milliseconds.
        await new Promise((resolve) => setImmediate(resolve))
      }
      this.folded.set(part.partNumber, part.identity)
      if (!this.keepBytes) this.drop(part)
      this.cursor++
    }
  }
}

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
