// The archive on disk: is it an Apple Archive, whole, and what are its checksums. Everything
// streams; no file is read whole, and the entry walk reads headers only (it seeks over blobs).
import { createHash, type Hash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'

/** The letter after `pbz` names the compression of the block stream. */
const PBZ_COMPRESSION: Record<string, string> = {
  e: 'LZFSE',
  z: 'zlib',
  x: 'LZMA',
  '4': 'LZ4',
  b: 'LZBITMAP',
  m: 'LZRaven',
  f: 'LZVN',
  '-': 'no compression'
}
const PBZ_HEADER = 12
const PBZ_BLOCK_HEADER = 16
const ENTRY_MAGICS = new Set(['AA01', 'YAA1'])
/** Bytes read at a time while walking entries: many small entries' headers share one read. */
const WALK_WINDOW = 64 * 1024
const HASH_READ_SIZE = 256 * 1024

/**
 * Value sizes of an entry header's field subtypes (the character after the 3-letter key). `P` is
 * a string with a u16 length; `A`/`B`/`C` hold the size (u16/u32/u64) of a blob that follows the
 * header. A subtype not listed here means the header is not one Apple Archive writes.
 */
const FIXED_FIELD_SIZES: Record<string, number> = {
  '*': 0,
  '1': 1,
  '2': 2,
  '4': 4,
  '8': 8,
  F: 4,
  G: 20,
  H: 32,
  I: 48,
  J: 64,
  S: 8,
  T: 12
}
const BLOB_SIZE_BYTES: Record<string, number> = { A: 2, B: 4, C: 8 }

/** One entry header, parsed: its path (when it has one) and the bytes of blobs after it. */
export interface EntryHeader {
  path?: string
  blobBytes: number
}

/** Parses the fields of one entry header (magic and size included); a string says what is wrong. */
export function parseEntryHeader(header: Buffer): EntryHeader | string {
  let blobBytes = 0
  let path: string | undefined
  for (let at = 6; at < header.length;) {
    if (at + 4 > header.length) return `a field at byte ${at} of the header is cut off`
    const key = header.toString('latin1', at, at + 3)
    const subtype = header.toString('latin1', at + 3, at + 4)
    at += 4
    const blob = BLOB_SIZE_BYTES[subtype]
    let size = FIXED_FIELD_SIZES[subtype] ?? blob
    if (subtype === 'P') {
      if (at + 2 > header.length) return `its field ${key}${subtype} overruns the header`
      size = 2 + header.readUInt16LE(at)
    }
    if (size === undefined) return `its field ${key} has the unknown type '${subtype}'`
    if (at + size > header.length) return `its field ${key}${subtype} overruns the header`
    if (subtype === 'P' && key === 'PAT') path = header.toString('utf8', at + 2, at + size)
    if (blob === 2) blobBytes += header.readUInt16LE(at)
    if (blob === 4) blobBytes += header.readUInt32LE(at)
    if (blob === 8) blobBytes += Number(header.readBigUInt64LE(at))
    at += size
  }
  return { path, blobBytes }
}

/** Reads a file's bytes through one window, so small neighbouring headers cost one read. */
class WindowedReader {
  private window = Buffer.alloc(0)
  private start = 0

  constructor(
    private readonly file: FileHandle,
    private readonly size: number
  ) {}

  /** Up to `length` bytes at `position` (fewer at the end of the file). */
  async bytes(position: number, length: number): Promise<Buffer> {
    const end = Math.min(position + length, this.size)
    if (position < this.start || end > this.start + this.window.length) {
      const buffer = Buffer.alloc(Math.max(WALK_WINDOW, end - position))
      const { bytesRead } = await this.file.read(buffer, 0, buffer.length, position)
      this.window = buffer.subarray(0, bytesRead)
      this.start = position
    }
    return this.window.subarray(position - this.start, end - this.start)
  }
}

function entryName(path: string | undefined, index: number): string {
  return path === undefined ? `entry ${index + 1}` : path ? `\`${path}\`` : 'the root directory'
}

/** Walks a raw AA01/YAA1 stream entry by entry; it must end exactly at the file's end. */
async function walkEntries(reader: WindowedReader, size: number): Promise<string | undefined> {
  let entries = 0
  for (let position = 0; position < size; entries++) {
    const prefix = await reader.bytes(position, 6)
    const magic = prefix.toString('latin1', 0, 4)
    if (prefix.length < 6) {
      const cutMagic = [...ENTRY_MAGICS].some((m) => m.startsWith(magic))
      return cutMagic || !entries
        ? `is cut short inside the header of entry ${entries + 1} at byte ${size} (the header starts at byte ${position})`
        : `has ${size - position} bytes after its last entry (from byte ${position}) that are not an Apple Archive entry`
    }
    if (!ENTRY_MAGICS.has(magic))
      return `has ${size - position} bytes after its last entry (from byte ${position}) that are not an Apple Archive entry (they start with ${JSON.stringify(magic)})`
    const headerSize = prefix.readUInt16LE(4)
    if (headerSize < 6)
      return `has a damaged header for entry ${entries + 1} at byte ${position}: its size is ${headerSize}, under the 6 bytes of magic and size`
    const headerEnd = position + headerSize
    if (headerEnd > size)
      return `is cut short inside the header of entry ${entries + 1} at byte ${size} of ${headerEnd}`
    const header = parseEntryHeader(await reader.bytes(position, headerSize))
    if (typeof header === 'string')
      return `has a damaged header for entry ${entries + 1} at byte ${position}: ${header}`
    const end = headerEnd + header.blobBytes
    if (end > size)
      return `is cut short inside the entry for ${entryName(header.path, entries)} at byte ${size} of ${end}`
    position = end
  }
  return undefined
}

/** Walks a `pbz?` stream's block chain (headers only); it must end exactly at the file's end. */
async function walkBlocks(reader: WindowedReader, size: number): Promise<string | undefined> {
  const head = await reader.bytes(0, PBZ_HEADER)
  if (head.length < PBZ_HEADER) return `ends inside its ${PBZ_HEADER}-byte header (truncated)`
  const blockSize = Number(head.readBigUInt64BE(4))
  let blocks = 0
  for (let position = PBZ_HEADER; position < size; blocks++) {
    const block = await reader.bytes(position, PBZ_BLOCK_HEADER)
    const raw = block.length === PBZ_BLOCK_HEADER ? Number(block.readBigUInt64BE(0)) : 0
    const compressed = block.length === PBZ_BLOCK_HEADER ? Number(block.readBigUInt64BE(8)) : 0
    // A block holds 1 to blockSize bytes, stored or smaller: anything else is not a block header.
    const isBlock = raw > 0 && raw <= blockSize && compressed > 0 && compressed <= raw
    if (!isBlock) {
      return blocks
        ? `has ${size - position} bytes after its last block (from byte ${position})`
        : `has no valid first block at byte ${position}`
    }
    const end = position + PBZ_BLOCK_HEADER + compressed
    if (end > size)
      return `is cut short inside block ${blocks + 1} at byte ${size} of ${end} (truncated)`
    position = end
  }
  return blocks ? undefined : 'has no blocks'
}

/**
 * Says what the file is (`Apple Archive (AA01)`, `compressed Apple Archive (LZFSE)`), after checking that it is a whole Apple Archive: a raw entry stream whose
 * entries (header, then blobs) end exactly at the file's end, or a compressed `pbz?` stream whose
 * block chain does. Only headers are read. A problem is a sentence that follows the path.
 */
export async function identifyArchive(
  path: string,
  size: number
): Promise<{ kind: string } | { problem: string }> {
  const file = await open(path, 'r')
  try {
    const reader = new WindowedReader(file, size)
    const magic = (await reader.bytes(0, 4)).toString('latin1')
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
    if (ENTRY_MAGICS.has(magic)) {
      const kind = `Apple Archive (${magic})`
      const problem = await walkEntries(reader, size)
      return problem ? { problem: `is an ${kind} that ${problem}.` } : { kind }
    }
    const compression = magic.startsWith('pbz') ? PBZ_COMPRESSION[magic[3]] : undefined
    if (compression) {
      const kind = `compressed Apple Archive (${compression})`
      const problem = await walkBlocks(reader, size)
      return problem ? { problem: `is a ${kind} that ${problem}.` } : { kind }
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
