// The archive on disk: is it an Apple Archive, and what are its checksums. Everything streams;
// no file is read whole.
import { createHash, type Hash } from 'node:crypto'
import { open } from 'node:fs/promises'

export type ArchiveSignature = 'AA01' | 'YAA1' | 'pbzx-compressed'

const PBZ_ALGORITHMS = new Set(['e', 'z', 'x', '4', 'b', 'm', '-', 'f'])
const PBZ_BLOCK_HEADER = 16
const HASH_READ_SIZE = 256 * 1024

/**
 * Checks the first bytes (and, for a compressed `pbz?` stream, that its block chain adds up to the
 * file size, which catches truncated archives) and returns what the file is, or a sentence that
 * says what is wrong with it.
 */
export async function identifyArchive(
  path: string,
  size: number
): Promise<{ signature: ArchiveSignature } | { problem: string }> {
  const file = await open(path, 'r')
  try {
    const head = Buffer.alloc(12)
    const { bytesRead } = await file.read(head, 0, 12, 0)
    const magic = head.subarray(0, 4).toString('latin1')
    if (magic === 'PK\x03\x04') {
      return {
        problem:
          "is a ZIP file: an Android library (.aar) rather than an Apple Archive. Build the asset pack with `xcrun ba-package` (or Apple's Linux tools) and pass that .aar."
      }
    }
    if (magic === 'AEA1')
      return {
        problem:
          'is an encrypted Apple Encrypted Archive (AEA1); upload the unencrypted .aar that ba-package writes.'
      }
    if (magic === 'AA01' || magic === 'YAA1') {
      const headerSize = head.readUInt16LE(4)
      if (bytesRead < 6 || headerSize < 6 || headerSize > size)
        return {
          problem: `starts like an Apple Archive (${magic}) but its first entry header is damaged.`
        }
      return { signature: magic }
    }
    if (magic.startsWith('pbz') && PBZ_ALGORITHMS.has(magic[3])) {
      if (bytesRead < 12)
        return { problem: 'is a compressed Apple Archive that ends inside its header (truncated).' }
      let position = 12
      const block = Buffer.alloc(PBZ_BLOCK_HEADER)
      while (position < size) {
        const read = await file.read(block, 0, PBZ_BLOCK_HEADER, position)
        if (read.bytesRead < PBZ_BLOCK_HEADER)
          return {
            problem: `is a compressed Apple Archive whose block at byte ${position} is cut off (truncated file).`
          }
        const compressed = Number(block.readBigUInt64BE(8))
        position += PBZ_BLOCK_HEADER + compressed
      }
      if (position !== size)
        return {
          problem: `is a compressed Apple Archive whose blocks end at byte ${position}, past its ${size} bytes (truncated file).`
        }
      return { signature: 'pbzx-compressed' }
    }
    return {
      problem: `does not start with an Apple Archive signature (AA01, YAA1 or pbz*), but with ${JSON.stringify(magic)}. Is it the .aar that ba-package wrote?`
    }
  } finally {
    await file.close()
  }
}

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

/** One sequential pass over the file computing every checksum asked for. */
export async function hashFile(
  path: string,
  options: { sha256?: boolean; parts?: PartBoundary[] } = {}
): Promise<Digests> {
  const md5 = createHash('md5')
  const sha256 = options.sha256 ? createHash('sha256') : undefined
  const parts = options.parts ? [...options.parts].sort((a, b) => a.offset - b.offset) : undefined
  const partDigests = new Map<number, Buffer>()
  let partIndex = 0
  let partHash: Hash | undefined = parts ? createHash('md5') : undefined
  let position = 0
  // One buffer, read into again and again: no garbage however large the file.
  const buffer = Buffer.allocUnsafe(HASH_READ_SIZE)
  const file = await open(path, 'r')
  try {
    for (
      let read = await file.read(buffer, 0, HASH_READ_SIZE, 0);
      read.bytesRead;
      read = await file.read(buffer, 0, HASH_READ_SIZE, position)
    ) {
      const chunk = buffer.subarray(0, read.bytesRead)
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
      position += read.bytesRead
    }
  } finally {
    await file.close()
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
