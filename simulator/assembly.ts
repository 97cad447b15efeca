// One upload file's bytes as the storage assembles them. A part is held in memory while a
// bounded window allows (spilled to a spool file beyond it), folded into the whole-file digests as
// soon as the parts before it are in, and then released: memory stays flat whatever the file
// size, and a commit only waits for the last part's bytes. A file processing reads after the
// commit is also written whole to the spool as it folds.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { appendFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ChecksumAlgorithm } from './options.js'

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

export interface PartSlot {
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
  /** The whole file, written as its parts fold, when processing reads it (see `readsWhole`). */
  readonly wholePath?: string

  constructor(
    readonly dir: string,
    slots: PartSlot[],
    private readonly algorithms: ChecksumAlgorithm[],
    /** Per-part MD5s, for a composite checksum. */
    readonly partMd5: boolean,
    keepWhole: boolean
  ) {
    this.slots = [...slots].sort((a, b) => a.offset - b.offset)
    this.fileHashes = algorithms.map((a) => createHash(a === 'MD5' ? 'md5' : 'sha256'))
    if (keepWhole) this.wholePath = join(dir, 'whole')
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
        if (this.wholePath) await appendFile(this.wholePath, chunk)
        // Let sockets and throttle timers run between chunks: hashing a part blocks for milliseconds.
        await new Promise((resolve) => setImmediate(resolve))
      }
      this.folded.set(part.partNumber, part.identity)
      this.drop(part)
      this.cursor++
    }
  }
}
