// LZFSE decoding (Apple's LZ77 + finite state entropy format, as used by ba-package archives).
//
// A stream is a sequence of blocks, each starting with a 4-byte magic, ended by `bvx$`:
//   bvx-  uncompressed: u32 raw size, then the raw bytes
//   bvx1  LZFSE with plain frequency tables (772-byte header)
//   bvx2  LZFSE with packed frequency tables (32-byte header + packed tables)
//   bvxn  LZVN: u32 raw size, u32 payload size, then LZVN opcodes
// All header fields are little-endian. An LZFSE block holds two bit streams: the literal bytes
// (four interleaved FSE streams), then the (L, M, D) triplets: copy L literals, then copy M bytes
// from D bytes back. Both bit streams are read backwards, from their last byte towards their
// first, taking bits from the most significant end. A match may reach back into earlier blocks
// of the same stream, but never before the start of the output.
import {
  D_BASE,
  D_EXTRA_BITS,
  D_FREQUENCIES_AT,
  D_STATES,
  D_SYMBOLS,
  FREQUENCY_COUNT,
  L_BASE,
  L_EXTRA_BITS,
  L_FREQUENCIES_AT,
  L_STATES,
  L_SYMBOLS,
  LITERAL_FREQUENCIES_AT,
  LITERAL_STATES,
  LITERAL_SYMBOLS,
  M_BASE,
  M_EXTRA_BITS,
  M_FREQUENCIES_AT,
  M_STATES,
  M_SYMBOLS,
  buildLiteralTable,
  buildValueTable,
  frequencySum,
  readPackedFrequencies
} from './fse.js'

/** A malformed LZFSE stream: `offset` is the byte offset into the input where the problem was found. */
export class LzfseError extends Error {
  constructor(
    readonly offset: number,
    readonly problem: string
  ) {
    super(`${problem} (at byte ${offset} of the LZFSE stream)`)
    this.name = 'LzfseError'
  }
}

function countOf(n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`
}

function fail(offset: number, problem: string): never {
  throw new LzfseError(offset, problem)
}

// Block magics as little-endian u32.
const END_OF_STREAM = 0x24787662 // bvx$
const UNCOMPRESSED = 0x2d787662 // bvx-
const COMPRESSED_V1 = 0x31787662 // bvx1
const COMPRESSED_V2 = 0x32787662 // bvx2
const COMPRESSED_LZVN = 0x6e787662 // bvxn

// Format limits of one LZFSE block.
const MAX_MATCHES = 10000
const MAX_LITERALS = 4 * MAX_MATCHES
const V1_HEADER_SIZE = 772
const V2_FIXED_HEADER_SIZE = 32

// Copies up to this long go word by word; longer ones are worth a copyWithin call.
const WIDE_COPY_MAX = 64

// Scratch reused by every call (one call at a time per thread): all sized by format constants.
const frequencies = new Uint16Array(FREQUENCY_COUNT)
const literalTable = new Int32Array(LITERAL_STATES)
const lTable = new Int32Array(L_STATES)
const lBases = new Int32Array(L_STATES)
const mTable = new Int32Array(M_STATES)
const mBases = new Int32Array(M_STATES)
const dTable = new Int32Array(D_STATES)
const dBases = new Int32Array(D_STATES)
// Room for word copies that run up to 3 bytes past the last literal.
const literals = new Uint8Array(MAX_LITERALS + 4)
const literalWords = new DataView(literals.buffer)
const literalStates = new Int32Array(4)

/** The fields of a bvx1 or bvx2 header, in the bvx1 (unpacked) form. */
const header = {
  size: 0,
  rawBytes: 0,
  literalCount: 0,
  matchCount: 0,
  literalPayload: 0,
  lmdPayload: 0,
  literalBits: 0,
  lmdBits: 0,
  lState: 0,
  mState: 0,
  dState: 0
}

// The block being decoded, for messages (built only when there is one to give).
let blockNumber = 0
let blockKind = ''
const label = () => `block ${blockNumber} (${blockKind})`

function u32(input: Uint8Array, at: number): number {
  return (input[at] | (input[at + 1] << 8) | (input[at + 2] << 16) | (input[at + 3] << 24)) >>> 0
}

function u16(input: Uint8Array, at: number): number {
  return input[at] | (input[at + 1] << 8)
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`
}

function describeMagic(input: Uint8Array, at: number, count: number): string {
  const bytes = Array.from(input.subarray(at, at + count))
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')
  const text = bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
  return `"${text}" (${hex})`
}

/** Decodes one complete LZFSE stream (blocks until and including `bvx$`) into `output`, which must come out exactly full. */
export function decodeLzfse(input: Uint8Array, output: Uint8Array): void {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength)
  let at = 0
  let written = 0
  for (let block = 1; ; block++) {
    if (at + 4 > input.length) {
      fail(
        at,
        at === input.length
          ? 'the stream ends without an end-of-stream marker (bvx$)'
          : `the stream ends in a partial block magic ${describeMagic(input, at, 4)}`
      )
    }
    const magic = u32(input, at)
    if (magic === END_OF_STREAM) {
      if (written < output.length)
        fail(at, `the stream decodes to only ${written} of ${output.length} bytes`)
      const after = input.length - at - 4
      if (after > 0) fail(at + 4, `${countOf(after, 'byte')} after the end-of-stream marker`)
      return
    }
    blockNumber = block
    if (magic === UNCOMPRESSED) {
      blockKind = 'bvx-'
      if (at + 8 > input.length) fail(at, `${label()}: the header is cut short`)
      const size = u32(input, at + 4)
      checkRoom(output, written, size, at)
      if (at + 8 + size > input.length)
        fail(at + 8, `${label()}: the stream ends inside the block's ${size} raw bytes`)
      output.set(input.subarray(at + 8, at + 8 + size), written)
      written += size
      at += 8 + size
    } else if (magic === COMPRESSED_V1 || magic === COMPRESSED_V2) {
      blockKind = magic === COMPRESSED_V1 ? 'bvx1' : 'bvx2'
      if (magic === COMPRESSED_V1) readV1Header(input, at)
      else readV2Header(input, at)
      checkHeader(input, at, output, written)
      const literalsAt = at + header.size
      const lmdAt = literalsAt + header.literalPayload
      decodeLiterals(view, literalsAt)
      written = decodeMatches(view, output, lmdAt, written)
      at = lmdAt + header.lmdPayload
    } else if (magic === COMPRESSED_LZVN) {
      blockKind = 'bvxn'
      if (at + 12 > input.length) fail(at, `${label()}: the header is cut short`)
      const size = u32(input, at + 4)
      const payload = u32(input, at + 8)
      checkRoom(output, written, size, at)
      if (at + 12 + payload > input.length)
        fail(at + 12, `${label()}: the stream ends inside the block's ${payload}-byte payload`)
      decodeLzvn(input, at + 12, at + 12 + payload, output, written, size)
      written += size
      at += 12 + payload
    } else {
      fail(at, `block ${block}: unknown block magic ${describeMagic(input, at, 4)}`)
    }
  }
}

function checkRoom(output: Uint8Array, written: number, size: number, at: number) {
  if (size > output.length - written)
    fail(at, `${label()}: the stream decodes to more than ${output.length} bytes`)
}

function readV1Header(input: Uint8Array, at: number): void {
  if (at + V1_HEADER_SIZE > input.length) fail(at, `${label()}: the header is cut short`)
  header.size = V1_HEADER_SIZE
  header.rawBytes = u32(input, at + 4)
  const payload = u32(input, at + 8)
  header.literalCount = u32(input, at + 12)
  header.matchCount = u32(input, at + 16)
  header.literalPayload = u32(input, at + 20)
  header.lmdPayload = u32(input, at + 24)
  header.literalBits = u32(input, at + 28) | 0
  for (let i = 0; i < 4; i++) literalStates[i] = u16(input, at + 32 + 2 * i)
  header.lmdBits = u32(input, at + 40) | 0
  header.lState = u16(input, at + 44)
  header.mState = u16(input, at + 46)
  header.dState = u16(input, at + 48)
  for (let i = 0; i < FREQUENCY_COUNT; i++) frequencies[i] = u16(input, at + 50 + 2 * i)
  if (payload !== header.literalPayload + header.lmdPayload) {
    fail(
      at + 8,
      `${label()}: the payload size ${payload} is not the literal payload ${header.literalPayload} ` +
        `plus the L/M/D payload ${header.lmdPayload}`
    )
  }
  checkBitCount(header.literalBits, at, 'literal')
  checkBitCount(header.lmdBits, at, 'L/M/D')
}

function readV2Header(input: Uint8Array, at: number): void {
  if (at + V2_FIXED_HEADER_SIZE > input.length) fail(at, `${label()}: the header is cut short`)
  header.rawBytes = u32(input, at + 4)
  // Three packed little-endian u64 fields, read here as 32-bit halves.
  const w0 = u32(input, at + 8)
  const w1 = u32(input, at + 12)
  const w2 = u32(input, at + 16)
  const w3 = u32(input, at + 20)
  const w5 = u32(input, at + 28)
  header.literalCount = w0 & 0xfffff
  header.literalPayload = (w0 >>> 20) | ((w1 & 0xff) << 12)
  header.matchCount = (w1 >>> 8) & 0xfffff
  header.literalBits = ((w1 >>> 28) & 7) - 7
  literalStates[0] = w2 & 0x3ff
  literalStates[1] = (w2 >>> 10) & 0x3ff
  literalStates[2] = (w2 >>> 20) & 0x3ff
  literalStates[3] = (w2 >>> 30) | ((w3 & 0xff) << 2)
  header.lmdPayload = (w3 >>> 8) & 0xfffff
  header.lmdBits = ((w3 >>> 28) & 7) - 7
  header.size = u32(input, at + 24)
  header.lState = w5 & 0x3ff
  header.mState = (w5 >>> 10) & 0x3ff
  header.dState = (w5 >>> 20) & 0x3ff
  if (header.size < V2_FIXED_HEADER_SIZE)
    fail(at + 24, `${label()}: the header size ${header.size} is less than 32`)
  if (at + header.size > input.length)
    fail(at, `${label()}: the ${header.size}-byte header is cut short`)
  const problem = readPackedFrequencies(
    input,
    at + V2_FIXED_HEADER_SIZE,
    at + header.size,
    frequencies
  )
  if (problem !== undefined) fail(at + V2_FIXED_HEADER_SIZE, `${label()}: ${problem}`)
}

/** Checks the fields every compressed header shares and builds the decoding tables. */
function checkHeader(input: Uint8Array, at: number, output: Uint8Array, written: number): void {
  const { literalCount, matchCount } = header
  if (literalCount > MAX_LITERALS || literalCount % 4 !== 0)
    fail(
      at,
      `${label()}: the literal count ${literalCount} is not a multiple of 4 up to ${MAX_LITERALS}`
    )
  if (matchCount > MAX_MATCHES)
    fail(at, `${label()}: the match count ${matchCount} is more than ${MAX_MATCHES}`)
  for (let i = 0; i < 4; i++) {
    if (literalStates[i] >= LITERAL_STATES)
      fail(at, `${label()}: literal state ${i} is ${literalStates[i]}, not below ${LITERAL_STATES}`)
  }
  // Checked one by one, not in a loop over arrays: this runs for every block (dozens per MiB).
  checkState(header.lState, L_STATES, at, 'L')
  checkState(header.mState, M_STATES, at, 'M')
  checkState(header.dState, D_STATES, at, 'D')
  checkFrequencies(L_FREQUENCIES_AT, L_SYMBOLS, L_STATES, matchCount, at, 'L')
  checkFrequencies(M_FREQUENCIES_AT, M_SYMBOLS, M_STATES, matchCount, at, 'M')
  checkFrequencies(D_FREQUENCIES_AT, D_SYMBOLS, D_STATES, matchCount, at, 'D')
  checkFrequencies(
    LITERAL_FREQUENCIES_AT,
    LITERAL_SYMBOLS,
    LITERAL_STATES,
    literalCount,
    at,
    'literal'
  )
  checkRoom(output, written, header.rawBytes, at)
  const end = at + header.size + header.literalPayload + header.lmdPayload
  if (end > input.length) {
    fail(
      at,
      `${label()}: the stream ends inside the block's ${header.literalPayload + header.lmdPayload}-byte payload`
    )
  }
  // The bit readers load 4 bytes at a time up to the payload's end; a valid stream always has
  // at least the 4-byte end-of-stream marker after the block.
  if (end + 4 > input.length) fail(end, 'the stream ends without an end-of-stream marker (bvx$)')
  checkPaddingRoom(header.literalPayload, header.literalBits, at, 'literal')
  checkPaddingRoom(header.lmdPayload, header.lmdBits, at, 'L/M/D')
  if (literalCount > 0) buildLiteralTable(frequencies, LITERAL_FREQUENCIES_AT, literalTable)
  if (matchCount > 0) {
    buildValueTable(
      frequencies,
      L_FREQUENCIES_AT,
      L_SYMBOLS,
      L_STATES,
      L_EXTRA_BITS,
      L_BASE,
      lTable,
      lBases
    )
    buildValueTable(
      frequencies,
      M_FREQUENCIES_AT,
      M_SYMBOLS,
      M_STATES,
      M_EXTRA_BITS,
      M_BASE,
      mTable,
      mBases
    )
    buildValueTable(
      frequencies,
      D_FREQUENCIES_AT,
      D_SYMBOLS,
      D_STATES,
      D_EXTRA_BITS,
      D_BASE,
      dTable,
      dBases
    )
  }
}

function checkBitCount(bits: number, at: number, what: string): void {
  // A v1 header stores the bit counts as plain integers; valid ones are -8..0 (padding bits).
  if (bits < -8 || bits > 0) fail(at, `${label()}: the ${what} bit count ${bits} is not in -8..0`)
}

function checkState(state: number, states: number, at: number, what: string): void {
  if (state >= states) fail(at, `${label()}: the ${what} state ${state} is not below ${states}`)
}

/** A stream's frequencies must cover all its states; a stream with no symbols may have none. */
function checkFrequencies(
  from: number,
  symbols: number,
  states: number,
  used: number,
  at: number,
  what: string
): void {
  const sum = frequencySum(frequencies, from, symbols)
  if (sum !== states && (sum !== 0 || used !== 0))
    fail(at, `${label()}: the ${what} frequencies sum to ${sum}, not ${states}`)
}

function checkPaddingRoom(payload: number, bits: number, at: number, what: string): void {
  if (payload * 8 + bits < 0)
    fail(
      at,
      `${label()}: the ${what} payload of ${payload} bytes can't hold ${bits} bits of padding`
    )
}

/** The encoder pads a bit stream's last byte with zero bits above the stream's end. */
function checkPadding(view: DataView, end: number, bits: number, what: string) {
  if (bits < 0 && view.getUint8(end - 1) >>> (8 + bits) !== 0)
    fail(end - 1, `${label()}: the ${what} stream's padding bits are not zero`)
}

function overrun(start: number, what: string): never {
  fail(start, `${label()}: the ${what} stream needs more bits than its payload holds`)
}

/**
 * Decodes the block's literal bytes into `literals`. The bit position `pos` counts from the
 * payload's first byte; reading backwards, it may dip below zero by one group's worth (at most
 * 40 bits) before the check catches it, and the header before the payload keeps those reads in
 * bounds.
 */
function decodeLiterals(view: DataView, start: number): void {
  const count = header.literalCount
  const payload = header.literalPayload
  checkPadding(view, start + payload, header.literalBits, 'literal')
  let pos = payload * 8 + header.literalBits
  let s0 = literalStates[0]
  let s1 = literalStates[1]
  let s2 = literalStates[2]
  let s3 = literalStates[3]
  for (let i = 0; i < count; i += 4) {
    // The four streams' states are independent, so two symbols' bits (at most 2 x 10) come
    // from one 32-bit read: the first symbol's bits sit above the second's.
    const e0 = literalTable[s0]
    const e1 = literalTable[s1]
    const k0 = e0 & 0xff
    const k1 = e1 & 0xff
    pos -= k0 + k1
    let word = view.getInt32(start + (pos >> 3), true) >> (pos & 7)
    s0 = (e0 >>> 16) + ((word >> k1) & ((1 << k0) - 1))
    s1 = (e1 >>> 16) + (word & ((1 << k1) - 1))
    literals[i] = e0 >>> 8
    literals[i + 1] = e1 >>> 8
    const e2 = literalTable[s2]
    const e3 = literalTable[s3]
    const k2 = e2 & 0xff
    const k3 = e3 & 0xff
    pos -= k2 + k3
    word = view.getInt32(start + (pos >> 3), true) >> (pos & 7)
    s2 = (e2 >>> 16) + ((word >> k3) & ((1 << k2) - 1))
    s3 = (e3 >>> 16) + (word & ((1 << k3) - 1))
    literals[i + 2] = e2 >>> 8
    literals[i + 3] = e3 >>> 8
    if (pos < 0) overrun(start, 'literal')
  }
}

/**
 * Executes the block's (L, M, D) triplets into `output` from `written`; returns the new end.
 * As for literals, one triplet (at most 14 + 17 + 23 bits) may dip below the payload's start
 * before the check catches it.
 */
function decodeMatches(view: DataView, output: Uint8Array, start: number, written: number): number {
  const payload = header.lmdPayload
  checkPadding(view, start + payload, header.lmdBits, 'L/M/D')
  const end = written + header.rawBytes
  const literalCount = header.literalCount
  let pos = payload * 8 + header.lmdBits
  let ls = header.lState
  let ms = header.mState
  let ds = header.dState
  const out = new DataView(output.buffer, output.byteOffset, output.byteLength)
  const wideEnd = output.length - 16
  let o = written
  let lit = 0
  let d = 0
  // The tables as locals: the loop below runs once per triplet, millions of times per archive.
  const lt = lTable
  const lb = lBases
  const mt = mTable
  const mb = mBases
  const dt = dTable
  const db = dBases
  const lits = literals
  const litWords = literalWords
  for (let n = header.matchCount; n > 0; n--) {
    let e = lt[ls]
    let k = e & 31
    let extra = (e >>> 8) & 31
    pos -= k
    let bits = (view.getInt32(start + (pos >> 3), true) >> (pos & 7)) & ((1 << k) - 1)
    const l = lb[ls] + (bits & ((1 << extra) - 1))
    ls = (e >>> 16) + (bits >>> extra)

    e = mt[ms]
    k = e & 31
    extra = (e >>> 8) & 31
    pos -= k
    bits = (view.getInt32(start + (pos >> 3), true) >> (pos & 7)) & ((1 << k) - 1)
    const m = mb[ms] + (bits & ((1 << extra) - 1))
    ms = (e >>> 16) + (bits >>> extra)

    e = dt[ds]
    k = e & 31
    extra = (e >>> 8) & 31
    pos -= k
    bits = (view.getInt32(start + (pos >> 3), true) >> (pos & 7)) & ((1 << k) - 1)
    // A distance of 0 means "the previous triplet's distance".
    const distance = db[ds] + (bits & ((1 << extra) - 1))
    ds = (e >>> 16) + (bits >>> extra)
    if (distance !== 0) d = distance
    if (pos < 0) overrun(start, 'L/M/D')

    if (l > literalCount - lit || l + m > end - o || d === 0 || d > o + l)
      badTriplet(start + (pos >> 3), l, m, d, lit, literalCount, o, end)
    if (o + l + m <= wideEnd) {
      // Copy in 4-byte words, unconditionally the first literal word and the first 16 match
      // bytes (short runs are the common case, and this spares unpredictable branches). Bytes
      // written past the triplet's end are overwritten by what follows; wideEnd keeps them
      // inside the output.
      out.setInt32(o, litWords.getInt32(lit, true), true)
      if (l > 4) {
        if (l <= WIDE_COPY_MAX) {
          for (let i = 4; i < l; i += 4) out.setInt32(o + i, litWords.getInt32(lit + i, true), true)
        } else {
          output.set(lits.subarray(lit, lit + l), o)
        }
      }
      o += l
      lit += l
      if (d >= 4 && m <= WIDE_COPY_MAX) {
        // Word by word from d >= 4 back reads only bytes already final, even when overlapping.
        const from = o - d
        out.setInt32(o, out.getInt32(from, true), true)
        out.setInt32(o + 4, out.getInt32(from + 4, true), true)
        out.setInt32(o + 8, out.getInt32(from + 8, true), true)
        out.setInt32(o + 12, out.getInt32(from + 12, true), true)
        for (let i = 16; i < m; i += 4) out.setInt32(o + i, out.getInt32(from + i, true), true)
      } else {
        copyMatch(output, o, d, m)
      }
      o += m
    } else {
      for (let i = 0; i < l; i++) output[o + i] = lits[lit + i]
      o += l
      lit += l
      copyMatch(output, o, d, m)
      o += m
    }
  }
  if (o !== end)
    fail(
      start,
      `${label()}: the block decodes to only ${o - written} of its ${header.rawBytes} bytes`
    )
  return o
}

function badTriplet(
  at: number,
  l: number,
  m: number,
  d: number,
  lit: number,
  literalCount: number,
  o: number,
  end: number
): never {
  if (l > literalCount - lit)
    fail(
      at,
      `${label()}: a literal run of ${l} needs more than the block's ${literalCount} literals`
    )
  if (l + m > end - o)
    fail(at, `${label()}: the block decodes to more than its ${header.rawBytes} bytes`)
  if (d === 0)
    fail(at, `${label()}: a match repeats the previous distance, but there is none in this block`)
  fail(
    at,
    `${label()}: match distance ${d} reaches before the start of the output (at output byte ${o + l})`
  )
}

/** Copies `m` bytes from `d` back; when `d < m` the copy repeats the last `d` bytes. */
function copyMatch(output: Uint8Array, o: number, d: number, m: number): void {
  const from = o - d
  if (m <= WIDE_COPY_MAX) {
    for (let i = 0; i < m; i++) output[o + i] = output[from + i]
  } else if (d >= m) {
    output.copyWithin(o, from, from + m)
  } else if (d === 1) {
    output.fill(output[from], o, o + m)
  } else {
    // The repeated pattern doubles with every copy.
    let done = 0
    let span = d
    while (done < m) {
      const count = Math.min(span, m - done)
      output.copyWithin(o + done, from, from + count)
      done += count
      span += count
    }
  }
}

// LZVN opcode kinds, by the opcode byte.
const SMALL_DISTANCE = 0
const MEDIUM_DISTANCE = 1
const LARGE_DISTANCE = 2
const PREVIOUS_DISTANCE = 3
const SMALL_MATCH = 4
const LARGE_MATCH = 5
const SMALL_LITERAL = 6
const LARGE_LITERAL = 7
const NOP = 8
const END_OF_LZVN = 9
const UNDEFINED = 10

const LZVN_KINDS = (() => {
  const kinds = new Uint8Array(256)
  for (let op = 0; op < 256; op++) {
    const low = op & 7
    if (op >= 0xf0) kinds[op] = op === 0xf0 ? LARGE_MATCH : SMALL_MATCH
    else if (op >= 0xe0) kinds[op] = op === 0xe0 ? LARGE_LITERAL : SMALL_LITERAL
    else if (op >= 0xd0 || (op >= 0x70 && op < 0x80)) kinds[op] = UNDEFINED
    else if (op >= 0xa0 && op < 0xc0) kinds[op] = MEDIUM_DISTANCE
    else if (low === 7) kinds[op] = LARGE_DISTANCE
    else if (low !== 6) kinds[op] = SMALL_DISTANCE
    else if (op === 6) kinds[op] = END_OF_LZVN
    else if (op === 14 || op === 22) kinds[op] = NOP
    else if (op < 0x40) kinds[op] = UNDEFINED
    else kinds[op] = PREVIOUS_DISTANCE
  }
  return kinds
})()

// Bytes each opcode kind takes before its literals.
const LZVN_OPCODE_SIZES = Uint8Array.of(2, 3, 3, 1, 1, 2, 1, 2, 1, 8, 1)

/**
 * Decodes the LZVN opcodes in `input[at .. payloadEnd)` into `size` bytes of `output` from
 * `written`. The opcodes must end with the end-of-stream opcode exactly at `payloadEnd`, having
 * filled the block.
 */
function decodeLzvn(
  input: Uint8Array,
  at: number,
  payloadEnd: number,
  output: Uint8Array,
  written: number,
  size: number
): void {
  const end = written + size
  let o = written
  let d = 0
  for (;;) {
    if (at >= payloadEnd)
      fail(at, `${label()}: the LZVN payload ends without an end-of-stream opcode`)
    const op = input[at]
    const kind = LZVN_KINDS[op]
    const opSize = LZVN_OPCODE_SIZES[kind]
    if (kind === UNDEFINED) fail(at, `${label()}: undefined LZVN opcode ${hex(op)}`)
    if (at + opSize > payloadEnd) fail(at, `${label()}: LZVN opcode ${hex(op)} is cut short`)
    let l = 0
    let m = 0
    switch (kind) {
      case SMALL_DISTANCE:
        l = op >>> 6
        m = ((op >>> 3) & 7) + 3
        d = ((op & 7) << 8) | input[at + 1]
        break
      case MEDIUM_DISTANCE: {
        const next = u16(input, at + 1)
        l = (op >>> 3) & 3
        m = (((op & 7) << 2) | (next & 3)) + 3
        d = next >>> 2
        break
      }
      case LARGE_DISTANCE:
        l = op >>> 6
        m = ((op >>> 3) & 7) + 3
        d = u16(input, at + 1)
        break
      case PREVIOUS_DISTANCE:
        l = op >>> 6
        m = ((op >>> 3) & 7) + 3
        break
      case SMALL_MATCH:
        m = op & 15
        break
      case LARGE_MATCH:
        m = input[at + 1] + 16
        break
      case SMALL_LITERAL:
        l = op & 15
        break
      case LARGE_LITERAL:
        l = input[at + 1] + 16
        break
      case END_OF_LZVN:
        at += opSize
        if (at !== payloadEnd)
          fail(
            at,
            `${label()}: ${countOf(payloadEnd - at, 'byte')} after the LZVN end-of-stream opcode`
          )
        if (o !== end)
          fail(at, `${label()}: the block decodes to only ${o - written} of its ${size} bytes`)
        return
    }
    const opAt = at
    at += opSize
    if (l > 0) {
      if (l > payloadEnd - at) fail(opAt, `${label()}: ${l} literals run past the LZVN payload`)
      if (l > end - o) fail(opAt, `${label()}: the block decodes to more than its ${size} bytes`)
      for (let i = 0; i < l; i++) output[o + i] = input[at + i]
      at += l
      o += l
    }
    if (m > 0) {
      if (d === 0) fail(opAt, `${label()}: an LZVN match has distance 0`)
      if (d > o)
        fail(
          opAt,
          `${label()}: match distance ${d} reaches before the start of the output (at output byte ${o})`
        )
      if (m > end - o) fail(opAt, `${label()}: the block decodes to more than its ${size} bytes`)
      copyMatch(output, o, d, m)
      o += m
    }
  }
}
