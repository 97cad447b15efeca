// What the file is, and where its entry stream's bytes are. A raw archive (`AA01`/`YAA1`) is the
// entry stream itself, read here in 1 MiB pieces. A `pbz?` archive is a 12-byte header (`pbz`, the
// compression's letter, u64 big-endian block size) and blocks: u64 BE raw size, u64 BE stored
// size, then the payload — compressed, or the raw bytes as they are when the stored size equals
// the raw size. Blocks are independent, so they decode in any order, on any thread.
import { readSync } from 'node:fs'

/** How a block's payload becomes its raw bytes. */
export type Codec = 'stored' | 'lzfse' | 'zlib'

/** The letter after `pbz`: the compression, and whether this action decodes it. */
const PBZ_COMPRESSION: Record<string, { name: string; codec?: Codec }> = {
  e: { name: 'LZFSE', codec: 'lzfse' },
  z: { name: 'zlib', codec: 'zlib' },
  '-': { name: 'no compression', codec: 'stored' },
  x: { name: 'LZMA' },
  '4': { name: 'LZ4' },
  b: { name: 'LZBITMAP' },
  m: { name: 'LZRaven' },
  f: { name: 'LZVN' }
}
const ENTRY_MAGICS = new Set(['AA01', 'YAA1'])
const PBZ_HEADER = 12
const PBZ_BLOCK_HEADER = 16
/** How much of a raw archive one piece of work takes. */
const RAW_PIECE = 1024 * 1024
/** The largest block this action decodes: each block in flight is one buffer of this size. */
export const MAX_DECODED_BLOCK = 64 * 1024 * 1024

export interface Block {
  /** 0-based; messages count from 1. */
  index: number
  /** Where its payload starts in the file. */
  fileOffset: number
  storedSize: number
  rawSize: number
  /** Where its raw bytes start in the entry stream. */
  streamOffset: number
  codec: Codec
}

export interface Container {
  /** `Apple Archive (AA01)`, `compressed Apple Archive (LZFSE)`. */
  kind: string
  /** The pbz blocks, or a raw archive's pieces. */
  blocks: Block[]
  /** Bytes of the entry stream. */
  rawSize: number
  /** The largest block's raw size: what a buffer for any block must hold. */
  largestBlock: number
  /** Set when the blocks are whole but their contents cannot be decoded here: why. */
  unreadable?: string
  /** The archive is a raw entry stream (no blocks of its own). */
  raw: boolean
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
function bytesAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length)
  return buffer.subarray(0, readSync(fd, buffer, 0, length, position))
}

function rawPieces(size: number): Block[] {
  const blocks: Block[] = []
  for (let offset = 0; offset < size; offset += RAW_PIECE) {
    const length = Math.min(RAW_PIECE, size - offset)
    blocks.push({
      index: blocks.length,
      fileOffset: offset,
      storedSize: length,
      rawSize: length,
      streamOffset: offset,
      codec: 'stored'
    })
  }
  return blocks
}

/**
 * Walks a `pbz?` block chain (headers only, one 16-byte read per block); it must end exactly at
 * the file's end. Returns the blocks, or a phrase that follows "… that".
 */
function blockChain(fd: number, size: number, codec: Codec | undefined): Block[] | string {
  const head = bytesAt(fd, 0, PBZ_HEADER)
  if (head.length < PBZ_HEADER) return `ends inside its ${PBZ_HEADER}-byte header (truncated)`
  const blockSize = Number(head.readBigUInt64BE(4))
  const blocks: Block[] = []
  let streamOffset = 0
  for (let position = PBZ_HEADER; position < size;) {
    const header = bytesAt(fd, position, PBZ_BLOCK_HEADER)
    const whole = header.length === PBZ_BLOCK_HEADER
    const raw = whole ? Number(header.readBigUInt64BE(0)) : 0
    const stored = whole ? Number(header.readBigUInt64BE(8)) : 0
    // A block holds 1 to blockSize bytes, stored or smaller: anything else is not a block header.
    if (!(raw > 0 && raw <= blockSize && stored > 0 && stored <= raw)) {
      return blocks.length
        ? `has ${size - position} bytes after its last block (from byte ${position})`
        : `has no valid first block at byte ${position}`
    }
    const end = position + PBZ_BLOCK_HEADER + stored
    if (end > size)
      return `is cut short inside block ${blocks.length + 1} at byte ${size} of ${end} (truncated)`
    blocks.push({
      index: blocks.length,
      fileOffset: position + PBZ_BLOCK_HEADER,
      storedSize: stored,
      rawSize: raw,
      streamOffset,
      codec: stored === raw ? 'stored' : (codec ?? 'stored')
    })
    streamOffset += raw
    position = end
  }
  return blocks.length ? blocks : 'has no blocks'
}

/** What the file is and its blocks, or a problem: a sentence that follows the path. */
export function readContainer(fd: number, size: number): Container | { problem: string } {
  const magic = bytesAt(fd, 0, 4).toString('latin1')
  if (magic === 'PK\x03\x04')
    return {
      problem:
        "is a ZIP file: an Android library (.aar) rather than an Apple Archive. Build the asset pack with `xcrun ba-package` (or Apple's Linux tools) and pass that .aar."
    }
  if (magic === 'AEA1')
    return {
      problem:
        'is an encrypted Apple Encrypted Archive (AEA1); upload the unencrypted .aar that ba-package writes.'
    }
  if (ENTRY_MAGICS.has(magic)) {
    const blocks = rawPieces(size)
    return {
      kind: `Apple Archive (${magic})`,
      blocks,
      rawSize: size,
      largestBlock: blocks[0].rawSize,
      raw: true
    }
  }
  const compression = magic.startsWith('pbz') ? PBZ_COMPRESSION[magic[3]] : undefined
  if (!compression)
    return {
      problem: `does not start with an Apple Archive signature (AA01, YAA1 or pbz*), but with ${JSON.stringify(magic)}. Is it the .aar that ba-package wrote?`
    }
  const kind = `compressed Apple Archive (${compression.name})`
  const blocks = blockChain(fd, size, compression.codec)
  if (typeof blocks === 'string') return { problem: `is a ${kind} that ${blocks}.` }
  let rawSize = 0
  let largest = 0
  // A loop, not Math.max(...): an archive can have hundreds of thousands of blocks.
  for (const block of blocks) {
    rawSize += block.rawSize
    largest = Math.max(largest, block.rawSize)
  }
  const unreadable = !compression.codec
    ? `its ${compression.name} blocks are checked as a chain only: this action has no ${compression.name} decoder, so the contents, the Manifest.json inside and the content identity are not read`
    : largest > MAX_DECODED_BLOCK
      ? `its blocks of up to ${largest} bytes are larger than the ${MAX_DECODED_BLOCK} this action decodes, so the contents are checked as a chain only and have no content identity`
      : undefined
  return { kind, blocks, rawSize, largestBlock: largest, unreadable, raw: false }
}
