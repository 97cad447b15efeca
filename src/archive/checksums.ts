// The archive's checksums for the commit (MD5; SHA-256 or the parts' composite MD5 when a
// reservation announces them): one sequential pass through one reused buffer, whatever the size.
import { createHash, type Hash } from 'node:crypto'
import { open } from 'node:fs/promises'

const HASH_READ_SIZE = 256 * 1024

export interface PartBoundary {
  partNumber: number
  offset: number
  length: number
}

export interface Digests {
  md5: string
  sha256?: string
  /** MD5 of the parts' raw MD5 digests in partNumber order, when part boundaries were given. */
  composite?: string
}

/** A file's bytes in order, through one reused buffer; or a buffer's, in slices. */
async function* chunksOf(source: string | Buffer): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let at = 0; at < source.length; at += HASH_READ_SIZE)
      yield source.subarray(at, at + HASH_READ_SIZE)
    return
  }
  // One buffer, read into again and again: no garbage however large the file.
  const buffer = Buffer.allocUnsafe(HASH_READ_SIZE)
  const file = await open(source, 'r')
  try {
    for (let position = 0; ;) {
      const { bytesRead } = await file.read(buffer, 0, HASH_READ_SIZE, position)
      if (!bytesRead) return
      yield buffer.subarray(0, bytesRead)
      position += bytesRead
    }
  } finally {
    await file.close()
  }
}

/** One sequential pass over the bytes computing every checksum asked for. */
export async function hashFile(
  source: string | Buffer,
  options: { sha256?: boolean; parts?: PartBoundary[] } = {}
): Promise<Digests> {
  const md5 = createHash('md5')
  const sha256 = options.sha256 ? createHash('sha256') : undefined
  const parts = options.parts ? [...options.parts].sort((a, b) => a.offset - b.offset) : undefined
  const partDigests = new Map<number, Buffer>()
  let partIndex = 0
  let partHash: Hash | undefined = parts ? createHash('md5') : undefined
  let position = 0
  for await (const chunk of chunksOf(source)) {
    md5.update(chunk)
    sha256?.update(chunk)
    for (let at = 0; parts && partHash && at < chunk.length && partIndex < parts.length;) {
      const part = parts[partIndex]
      const take = Math.min(chunk.length - at, part.offset + part.length - (position + at))
      partHash.update(chunk.subarray(at, at + take))
      at += take
      if (position + at === part.offset + part.length) {
        partDigests.set(part.partNumber, partHash.digest())
        partHash = createHash('md5')
        partIndex++
      }
    }
    position += chunk.length
  }
  const digests: Digests = { md5: md5.digest('hex') }
  if (sha256) digests.sha256 = sha256.digest('hex')
  if (parts) {
    const composite = createHash('md5')
    for (const p of [...parts].sort((a, b) => a.partNumber - b.partNumber))
      composite.update(partDigests.get(p.partNumber) ?? Buffer.alloc(0))
    digests.composite = composite.digest('hex')
  }
  return digests
}

/** The archive's checksums, computed at most once per kind and only when first needed. */
export class ArchiveChecksums {
  private pending?: Promise<Digests>
  private withSha256 = false

  constructor(private readonly path: string) {}

  /** What has been computed so far, if anything. */
  known?: Digests

  async get(sha256 = false): Promise<Digests> {
    if (!this.pending || (sha256 && !this.withSha256)) {
      this.withSha256 = sha256
      this.pending = hashFile(this.path, { sha256 }).then((d) => (this.known = d))
    }
    return this.pending
  }
}
