// The upload storage behind the signed URLs of upload operations. Parts are spooled to disk as
// they arrive (never held in memory) and hashed on the way; a background pass folds the parts, in
// offset order, into the whole-file MD5 / SHA-256 as soon as they are contiguous, so a commit
// only waits for the last part's bytes.
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ChecksumAlgorithm } from './options.js'

export interface ReceivedPart {
  partNumber: number
  offset: number
  length: number
  md5: Buffer
  /** The part's first bytes (the file's signature, for the part at offset 0). */
  head: Buffer
  file: string
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
  private foldedMd5 = new Map<number, Buffer>()
  private fileHashes: Hash[]
  private folding: Promise<void> = Promise.resolve()
  committed = false

  constructor(
    readonly dir: string,
    slots: PartSlot[],
    private readonly algorithms: ChecksumAlgorithm[]
  ) {
    this.slots = [...slots].sort((a, b) => a.offset - b.offset)
    this.fileHashes = this.newHashes()
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

  record(part: ReceivedPart): void {
    const previous = this.parts.get(part.partNumber)
    part.receipts = (previous?.receipts ?? 0) + 1
    this.parts.set(part.partNumber, part)
    // A fold that fails (the spool was discarded) leaves parts unfolded; digests() then starts over.
    this.folding = this.folding.then(() => this.fold()).catch(() => undefined)
  }

  /** Whole-file digests (hex) and the composite MD5, once every part is in. */
  async digests(): Promise<{
    file: Partial<Record<ChecksumAlgorithm, string>>
    composite: string
    size: number
  }> {
    await this.folding
    const stale =
      this.cursor < this.slots.length ||
      this.slots.some(
        (s) => !this.foldedMd5.get(s.partNumber)?.equals(this.parts.get(s.partNumber)!.md5)
      )
    if (stale) {
      // A part was sent again with other bytes after it had been folded in: start over.
      this.cursor = 0
      this.foldedMd5 = new Map()
      this.fileHashes = this.newHashes()
      await this.fold()
    }
    const file: Partial<Record<ChecksumAlgorithm, string>> = {}
    this.algorithms.forEach((a, i) => (file[a] = this.fileHashes[i].copy().digest('hex')))
    const composite = createHash('md5')
    for (const slot of [...this.slots].sort((a, b) => a.partNumber - b.partNumber))
      composite.update(this.parts.get(slot.partNumber)!.md5)
    return { file, composite: composite.digest('hex'), size: this.receivedBytes }
  }

  async readAll(): Promise<Buffer> {
    const chunks: Buffer[] = []
    for (const slot of this.slots) {
      for await (const chunk of createReadStream(this.parts.get(slot.partNumber)!.file))
        chunks.push(chunk as Buffer)
    }
    return Buffer.concat(chunks)
  }

  async discard(): Promise<void> {
    await this.folding.catch(() => undefined)
    await rm(this.dir, { recursive: true, force: true })
  }

  private newHashes(): Hash[] {
    return this.algorithms.map((a) => createHash(a === 'MD5' ? 'md5' : 'sha256'))
  }

  private async fold(): Promise<void> {
    while (this.cursor < this.slots.length) {
      const slot = this.slots[this.cursor]
      const part = this.parts.get(slot.partNumber)
      if (!part) return
      for await (const chunk of createReadStream(part.file))
        for (const h of this.fileHashes) h.update(chunk as Buffer)
      this.foldedMd5.set(slot.partNumber, part.md5)
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

/** A token bucket shared by whoever holds it: delays chunks so throughput stays under a rate. */
export class Bandwidth {
  private nextFree = 0
  constructor(private readonly bytesPerSecond: number) {}

  delayFor(bytes: number): number {
    if (!this.bytesPerSecond) return 0
    const now = Date.now()
    const start = Math.max(now, this.nextFree)
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

/** Streams one part's body to its spool file, hashing it; resolves with the part or undefined if cut short. */
export async function receivePart(
  req: IncomingMessage,
  res: ServerResponse,
  upload: PartUpload
): Promise<ReceivedPart | undefined> {
  const { assembly, slot } = upload
  const md5 = createHash('md5')
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
      md5.update(chunk)
      done(null, chunk)
    }
  })
  const temp = join(assembly.dir, `part-${slot.partNumber}.${process.hrtime.bigint()}`)
  const file = join(assembly.dir, `part-${slot.partNumber}`)
  try {
    await pipeline(req, throttle(upload.limits), tap, createWriteStream(temp))
  } catch {
    await rm(temp, { force: true })
    if (!res.headersSent && !req.socket.destroyed) res.writeHead(400).end()
    return undefined
  }
  if (received !== slot.length) {
    await rm(temp, { force: true })
    res
      .writeHead(400, { 'Content-Type': 'text/plain' })
      .end(`IncompleteBody: received ${received} of ${slot.length} bytes`)
    return undefined
  }
  await rename(temp, file)
  return {
    partNumber: slot.partNumber,
    offset: slot.offset,
    length: slot.length,
    md5: md5.digest(),
    head,
    file,
    receipts: 0
  }
}
