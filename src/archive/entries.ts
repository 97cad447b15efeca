// Apple Archive entries: the header format, and a walker that takes the decoded entry stream in
// chunks of any size (a header or a blob may straddle blocks) and must end exactly at its end.
//
// An entry is magic `AA01` (or the legacy `YAA1`), a u16 little-endian header size counting the
// whole header, fields until the header ends, then the bytes of its blob fields in the order the
// fields appear. A field is a 3-letter key and a subtype letter, then its value.

const ENTRY_MAGICS = new Set(['AA01', 'YAA1'])

/**
 * Value sizes of a field's subtype, by its letter: `*` a flag; `1 2 4 8` an unsigned integer;
 * `F`–`J` a hash of 4 to 64 bytes; `S`/`T` a timespec. `P` is a string with a u16 length;
 * `A`/`B`/`C` hold the size (u16/u32/u64) of a blob that follows the header. Tables by byte,
 * since every field of every entry is looked up (no string per field); -1 for any other subtype,
 * which is damage.
 */
const FIELD_SIZES = subtypeTable({
  '*': 0,
  1: 1,
  2: 2,
  4: 4,
  8: 8,
  F: 4,
  G: 20,
  H: 32,
  I: 48,
  J: 64,
  S: 8,
  T: 12
})
const BLOB_SIZE_BYTES = subtypeTable({ A: 2, B: 4, C: 8 })
const STRING = 'P'.charCodeAt(0)

function subtypeTable(sizes: Record<string, number>): Int8Array {
  const table = new Int8Array(256).fill(-1)
  for (const [subtype, size] of Object.entries(sizes)) table[subtype.charCodeAt(0)] = size
  return table
}

/** A 3-letter key as a number (its bytes, little-endian), compared without making a string. */
const keyCode = (key: string) =>
  key.charCodeAt(0) | (key.charCodeAt(1) << 8) | (key.charCodeAt(2) << 16)
const PAT = keyCode('PAT')
const LNK = keyCode('LNK')
const TYP = keyCode('TYP')
const DAT = keyCode('DAT')
/** The largest header the u16 size can announce. */
const MAX_HEADER = 0xffff

/** One blob after a header: its field's key (`DAT` holds a file's contents) and size. */
export interface Blob {
  key: string
  size: number
}

/** One entry header, parsed. */
export interface EntryHeader {
  /** `TYP`: D directory, F file, L link, … (a letter); undefined when the header has none. */
  type?: string
  /** `PAT`: empty for the archive's root. */
  path?: string
  /** `LNK`: a link's target. */
  link?: string
  blobs: Blob[]
  blobBytes: number
}

function readUnsigned(header: Uint8Array, at: number, bytes: number): number {
  let value = 0
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + header[at + i]
  return value
}

/** Up to 4 bytes as Latin-1 text (keys, magics), without an intermediate array. */
function latin1(bytes: Uint8Array, from: number, to: number): string {
  let text = ''
  for (let i = from; i < to; i++) text += String.fromCharCode(bytes[i])
  return text
}
const utf8 = new TextDecoder()

/** Parses the fields of one entry header (magic and size included); a string says what is wrong. */
export function parseEntryHeader(header: Uint8Array): EntryHeader | string {
  const parsed: EntryHeader = { blobs: [], blobBytes: 0 }
  for (let at = 6; at < header.length;) {
    if (at + 4 > header.length) return `a field at byte ${at} of the header is cut off`
    const key = header[at] | (header[at + 1] << 8) | (header[at + 2] << 16)
    const subtype = header[at + 3]
    at += 4
    const blob = BLOB_SIZE_BYTES[subtype]
    let size = blob >= 0 ? blob : FIELD_SIZES[subtype]
    if (subtype === STRING) {
      if (at + 2 > header.length)
        return `its field ${latin1(header, at - 4, at)} overruns the header`
      size = 2 + readUnsigned(header, at, 2)
    }
    if (size < 0)
      return `its field ${latin1(header, at - 4, at - 1)} has the unknown type '${String.fromCharCode(subtype)}'`
    if (at + size > header.length)
      return `its field ${latin1(header, at - 4, at)} overruns the header`
    if (subtype === STRING && key === PAT)
      parsed.path = utf8.decode(header.subarray(at + 2, at + size))
    if (subtype === STRING && key === LNK)
      parsed.link = utf8.decode(header.subarray(at + 2, at + size))
    if (key === TYP && size === 1) parsed.type = String.fromCharCode(header[at])
    if (blob >= 0) {
      const bytes = readUnsigned(header, at, blob)
      parsed.blobs.push({ key: key === DAT ? 'DAT' : latin1(header, at - 4, at - 1), size: bytes })
      parsed.blobBytes += bytes
    }
    at += size
  }
  return parsed
}

/** An entry as the walker reports it. */
export interface Entry extends EntryHeader {
  /** 0-based position in the stream. */
  index: number
  /** Where its header starts in the decoded stream. */
  at: number
  /** Bytes of its `DAT` blob (a file's contents); 0 without one. */
  dataSize: number
}

/** What the walker hands on: each entry as its header is read, then its data in order. */
export interface EntrySink {
  entry(entry: Entry): void
  /** A piece of the entry's DAT blob, `bytes[start, end)`; `last` on the piece that ends it. */
  data(entry: Entry, bytes: Uint8Array, start: number, end: number, last: boolean): void
}

/** A problem of the entry stream, with the stream offset it was found at. */
export interface WalkProblem {
  /** A phrase that follows "… that": "is cut short inside the entry for `x` at byte 9 of 20". */
  message: string
  at: number
}

export function entryName(path: string | undefined, index: number): string {
  return path === undefined ? `entry ${index + 1}` : path ? `\`${path}\`` : 'the root directory'
}

/**
 * Walks a raw entry stream of `total` bytes, fed in order by `push`. Each entry's header is parsed
 * once whole (copied only when it straddles chunks); blob bytes are passed on, never copied.
 */
export class EntryWalker {
  /** Decoded bytes consumed so far. */
  position = 0
  entries = 0
  private current?: Entry
  /** The blob being read (index into current.blobs) and the bytes of it still to come. */
  private blob = 0
  private blobLeft = 0
  /** A header that straddles chunks, gathered here. */
  private partial = new Uint8Array(0)
  private partialLength = 0

  constructor(
    private readonly total: number,
    private readonly sink: EntrySink
  ) {}

  /** Consumes one chunk; a problem ends the walk. */
  push(chunk: Uint8Array): WalkProblem | undefined {
    for (let at = 0; at < chunk.length;) {
      if (this.current && this.blob < this.current.blobs.length) {
        at = this.consumeBlob(chunk, at)
        continue
      }
      const read = this.readHeader(chunk, at)
      if (typeof read !== 'number') return read
      at = read
    }
    return undefined
  }

  /** The blob being read and how many of its bytes are still to come; undefined between blobs. */
  get openBlob(): { entry: Entry; key: string; left: number } | undefined {
    const entry = this.current
    if (!entry || this.blob >= entry.blobs.length) return undefined
    return { entry, key: entry.blobs[this.blob].key, left: this.blobLeft }
  }

  /** Passes over `bytes` of the open blob (at most what is left of it) that another thread reads. */
  skip(bytes: number): void {
    this.blobLeft -= bytes
    this.position += bytes
    if (!this.blobLeft) this.nextBlob()
  }

  /** The stream has ended: it must end with a whole entry. */
  finish(): WalkProblem | undefined {
    const at = this.total
    if (this.partialLength) {
      const headerSize = this.partialLength >= 6 ? readUnsigned(this.partial, 4, 2) : undefined
      const magic = latin1(this.partial, 0, Math.min(4, this.partialLength))
      const cutMagic = [...ENTRY_MAGICS].some((m) => m.startsWith(magic))
      if (!cutMagic && this.entries)
        return {
          message: `has ${this.partialLength} bytes after its last entry (from byte ${this.position - this.partialLength}) that are not an Apple Archive entry`,
          at: this.position - this.partialLength
        }
      return {
        message: `is cut short inside the header of entry ${this.entries + 1} at byte ${at}${headerSize ? ` of ${this.position - this.partialLength + headerSize}` : ` (the header starts at byte ${this.position - this.partialLength})`}`,
        at
      }
    }
    if (this.current && this.blob < this.current.blobs.length) {
      const end = this.position + this.blobLeft + this.laterBlobBytes()
      return {
        message: `is cut short inside the entry for ${entryName(this.current.path, this.current.index)} at byte ${at} of ${end}`,
        at
      }
    }
    if (!this.entries) return { message: 'holds no entries', at: 0 }
    return undefined
  }

  private laterBlobBytes(): number {
    let bytes = 0
    for (let b = this.blob + 1; b < this.current!.blobs.length; b++)
      bytes += this.current!.blobs[b].size
    return bytes
  }

  private consumeBlob(chunk: Uint8Array, at: number): number {
    const entry = this.current!
    const take = Math.min(this.blobLeft, chunk.length - at)
    this.blobLeft -= take
    this.position += take
    if (entry.blobs[this.blob].key === 'DAT')
      this.sink.data(entry, chunk, at, at + take, this.blobLeft === 0)
    if (this.blobLeft === 0) this.nextBlob()
    return at + take
  }

  /** Moves to the next blob with bytes; a DAT of 0 bytes still ends its data. */
  private nextBlob(): void {
    const blobs = this.current!.blobs
    for (this.blob++; this.blob < blobs.length; this.blob++) {
      this.blobLeft = blobs[this.blob].size
      if (this.blobLeft) return
    }
  }

  /** Reads (or finishes gathering) a header; returns the chunk offset after what it consumed. */
  private readHeader(chunk: Uint8Array, at: number): number | WalkProblem {
    const start = this.position - this.partialLength
    let header: Uint8Array
    if (!this.partialLength && chunk.length - at >= 6) {
      const problem = this.checkPrefix(chunk, at, start)
      if (problem) return problem
      const size = readUnsigned(chunk, at + 4, 2)
      if (chunk.length - at >= size) {
        header = chunk.subarray(at, at + size)
        at += size
        this.position += size
      } else return this.gather(chunk, at, size)
    } else {
      // Gather the 6-byte prefix first, then the rest of the header.
      if (this.partialLength < 6) {
        const take = Math.min(6 - this.partialLength, chunk.length - at)
        this.append(chunk, at, take, 6)
        at += take
        if (this.partialLength < 6) return at
        const problem = this.checkPrefix(this.partial, 0, start)
        if (problem) return problem
      }
      const size = readUnsigned(this.partial, 4, 2)
      const take = Math.min(size - this.partialLength, chunk.length - at)
      this.append(chunk, at, take, size)
      at += take
      if (this.partialLength < size) return at
      header = this.partial.subarray(0, size)
      this.partialLength = 0
    }
    return this.enter(header, start) ?? at
  }

  private checkPrefix(bytes: Uint8Array, at: number, start: number): WalkProblem | undefined {
    const magic = latin1(bytes, at, at + 4)
    if (!ENTRY_MAGICS.has(magic))
      return {
        message: `has ${this.total - start} bytes after its last entry (from byte ${start}) that are not an Apple Archive entry (they start with ${JSON.stringify(magic)})`,
        at: start
      }
    const size = readUnsigned(bytes, at + 4, 2)
    if (size < 6)
      return {
        message: `has a damaged header for entry ${this.entries + 1} at byte ${start}: its size is ${size}, under the 6 bytes of magic and size`,
        at: start
      }
    return undefined
  }

  /** Starts gathering a header that goes on in the next chunk. */
  private gather(chunk: Uint8Array, at: number, size: number): number {
    this.append(chunk, at, chunk.length - at, size)
    return chunk.length
  }

  private append(chunk: Uint8Array, at: number, length: number, capacity: number): void {
    if (this.partial.length < Math.min(capacity, MAX_HEADER)) {
      const grown = new Uint8Array(Math.min(capacity, MAX_HEADER))
      grown.set(this.partial.subarray(0, this.partialLength))
      this.partial = grown
    }
    this.partial.set(chunk.subarray(at, at + length), this.partialLength)
    this.partialLength += length
    this.position += length
  }

  /** A whole header: the entry begins; its blobs follow. */
  private enter(header: Uint8Array, start: number): WalkProblem | undefined {
    const parsed = parseEntryHeader(header)
    if (typeof parsed === 'string')
      return {
        message: `has a damaged header for entry ${this.entries + 1} at byte ${start}: ${parsed}`,
        at: start
      }
    // An entry that runs past the stream's declared end is found at the end (finish): a block
    // before it that decodes to more than it declares is the problem to report then.
    const dataSize = parsed.blobs.find((b) => b.key === 'DAT')?.size ?? 0
    const entry: Entry = { ...parsed, index: this.entries++, at: start, dataSize }
    this.current = entry
    this.sink.entry(entry)
    this.blob = -1
    this.nextBlob()
    // A DAT of 0 bytes has no piece to end it: end it now.
    if (entry.blobs.some((b) => b.key === 'DAT') && !dataSize)
      this.sink.data(entry, header, 0, 0, true)
    return undefined
  }
}
