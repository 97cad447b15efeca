// Test and benchmark helper, not product code: an LZFSE encoder written from the format, so tests
// and benchmarks can make archives the way ba-package does (pbze blocks holding LZFSE streams).
// The action only decodes LZFSE; nothing under src/ imports this file, so it is never bundled.
//
// A stream is a run of blocks: `bvx2` (LZ77 triples from a hash-chain search, entropy-coded with
// FSE, frequency tables packed in the header), `bvx-` for stretches that do not shrink, `bvx$` last.

// Jest runs code in a vm context, where each global lookup (`Math`) in a hot loop is slow.
const { clz32, imul, log2, max, min, round } = Math

/** One triple carries a literal run (L), then a match of M bytes D bytes back. */
const MAX_L = 315
const MAX_M = 2359
const MAX_D = 262_139
/** A block's triples and literal bytes are bounded by the decoder's buffers. */
const MAX_TRIPLES = 10_000
const MAX_LITERALS = 40_000

const MIN_MATCH = 4
/** A match this long is taken without looking at the rest of the chain. */
const GOOD_MATCH = 64
const CHAIN_DEPTH = 2
const HASH_BITS = 14
/** The chain is indexed by position modulo a power of two larger than the longest distance. */
const WINDOW = 1 << 18
/** Every 2^SKIP_SHIFT misses in a row lengthen the step to the next probe, up to MAX_STEP. */
const SKIP_SHIFT = 5
const MAX_STEP = 16
/** Positions inside a match that join the chains: this many after its start, and before its end. */
const HEAD_INSERTS = 4
const TAIL_INSERTS = 4

/** An FSE alphabet: its state count and, per symbol, extra bits and base value. */
interface Alphabet {
  states: number
  extraBits: Uint8Array
  base: Int32Array
}

/** Symbol i stands for base[i] … base[i] + 2^extraBits[i] - 1; each base follows the last range. */
function alphabet(states: number, extraBits: number[]): Alphabet {
  const base = new Int32Array(extraBits.length)
  for (let i = 1; i < extraBits.length; i++) base[i] = base[i - 1] + (1 << extraBits[i - 1])
  return { states, extraBits: Uint8Array.from(extraBits), base }
}

/** value → symbol, for every value the alphabet can code. */
function symbolTable({ extraBits, base }: Alphabet): Uint8Array {
  const last = base.length - 1
  const table = new Uint8Array(base[last] + (1 << extraBits[last]))
  for (let i = 0; i <= last; i++) table.fill(i, base[i], base[i] + (1 << extraBits[i]))
  return table
}

const L_ALPHABET = alphabet(64, [...new Array<number>(16).fill(0), 2, 3, 5, 8])
const M_ALPHABET = alphabet(64, [...new Array<number>(16).fill(0), 3, 5, 8, 11])
const D_ALPHABET = alphabet(
  256,
  Array.from({ length: 64 }, (_, i) => i >> 2)
)
const L_SYMBOL = symbolTable(L_ALPHABET)
const M_SYMBOL = symbolTable(M_ALPHABET)
const LITERAL_STATES = 1024

/**
 * The distance symbol without a 256 KiB table (cache misses): past the first four, symbols come in
 * fours with e extra bits, starting at 2^(e+2) - 4, so d + 4 has e + 3 significant bits.
 */
function distanceSymbol(d: number): number {
  if (d < 4) return d
  const extra = 29 - clz32(d + 4)
  return 4 * extra + ((d + 4) >> extra) - 4
}

/** A normalised frequency table and, per symbol, what encoding it from a state takes. */
class FseTable {
  readonly freq: Uint16Array
  readonly counts: Uint32Array
  readonly bits: Uint8Array
  readonly threshold: Int32Array
  readonly highBase: Int32Array
  readonly lowBase: Int32Array

  constructor(
    readonly symbols: number,
    readonly states: number
  ) {
    this.freq = new Uint16Array(symbols)
    this.counts = new Uint32Array(symbols)
    this.bits = new Uint8Array(symbols)
    this.threshold = new Int32Array(symbols)
    this.highBase = new Int32Array(symbols)
    this.lowBase = new Int32Array(symbols)
  }

  /** Frequencies summing to the state count, every counted symbol at least 1; then the coder. */
  prepare(): void {
    const { counts, freq, states, symbols } = this
    let total = 0
    for (let i = 0; i < symbols; i++) total += counts[i]
    freq.fill(0)
    if (!total) return
    let sum = 0
    let top = 0
    for (let i = 0; i < symbols; i++) {
      if (!counts[i]) continue
      freq[i] = max(1, round((counts[i] * states) / total))
      sum += freq[i]
      if (counts[i] > counts[top]) top = i
    }
    if (sum < states) freq[top] += states - sum
    // Rounding up the rare symbols may overshoot: take the excess from the largest frequencies.
    for (let excess = sum - states; excess > 0;) {
      let largest = 0
      for (let i = 1; i < symbols; i++) if (freq[i] > freq[largest]) largest = i
      const take = min(excess, max(1, freq[largest] >> 2), freq[largest] - 1)
      freq[largest] -= take
      excess -= take
    }
    // The decoder gives symbol i the states [start, start + f) in symbol order. Coding a symbol
    // from state s writes the low bits of s and moves to the state whose decoding reads them back.
    const log2States = 31 - clz32(states)
    let start = 0
    for (let i = 0; i < symbols; i++) {
      const f = freq[i]
      if (!f) continue
      const k = log2States - (31 - clz32(f))
      this.bits[i] = k
      this.threshold[i] = (f << k) - states
      this.highBase[i] = start - f + (states >> k)
      this.lowBase[i] = start + ((2 * states) >> k) - f
      start += f
    }
  }

  /** Estimated bits to code the counted symbols with these frequencies. */
  cost(): number {
    let bits = 0
    const log2States = log2(this.states)
    for (let i = 0; i < this.symbols; i++)
      if (this.counts[i]) bits += this.counts[i] * (log2States - log2(this.freq[i]))
    return bits
  }

  /**
   * Codes `symbol` from `state`: writes `extra` (`extraBits` wide), then the low bits of the state
   * that the decoder reads back with it, in one push. Returns the next state.
   */
  encode(out: BitWriter, symbol: number, state: number, extra = 0, extraBits = 0): number {
    let k = this.bits[symbol]
    let next: number
    if (state >= this.threshold[symbol]) next = this.highBase[symbol] + (state >> k)
    else next = this.lowBase[symbol] + (state >> --k)
    out.push(extra | ((state & ((1 << k) - 1)) << extraBits), extraBits + k)
    return next
  }
}

/** Bits written least significant first; the decoder reads them back from the end. */
class BitWriter {
  private acc = 0
  private count = 0
  pos = 0

  constructor(readonly buf: Uint8Array) {}

  /** At most 24 bits at a time: whole bytes go out at once, so fewer than 8 wait. */
  push(value: number, bits: number): void {
    this.acc |= value << this.count
    this.count += bits
    while (this.count >= 8) {
      this.buf[this.pos++] = this.acc & 0xff
      this.acc >>>= 8
      this.count -= 8
    }
  }

  /** Pads the last byte with zeros; returns minus the padding bits (what the header stores). */
  finish(): number {
    if (!this.count) return 0
    this.buf[this.pos++] = this.acc
    const padding = 8 - this.count
    this.acc = 0
    this.count = 0
    return -padding
  }
}

/** The frequency tables' code: short codes for the small values most tables are full of. */
function writeFrequency(out: BitWriter, value: number): void {
  if (value < 2) out.push(value << 1, 2)
  else if (value < 4) out.push(((value - 2) << 2) | 1, 3)
  else if (value < 8) out.push(((value - 4) << 3) | 3, 5)
  else if (value < 24) out.push(((value - 8) << 4) | 7, 8)
  else out.push(((value - 24) << 4) | 15, 14)
}

/** A growing output buffer. */
class Sink {
  buf: Uint8Array
  length = 0

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity)
  }

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return
    const grown = new Uint8Array(max(this.length + bytes, this.buf.length * 2))
    grown.set(this.buf.subarray(0, this.length))
    this.buf = grown
  }

  magic(text: string): void {
    this.reserve(4)
    for (let i = 0; i < 4; i++) this.buf[this.length++] = text.charCodeAt(i)
  }
}

const V2_HEADER = 32
/** Header, packed tables, 10 bits a literal at most, 8 padding bytes and 7 bytes a triple. */
const BLOCK_BOUND = V2_HEADER + 700 + (MAX_LITERALS * 10) / 8 + 8 + MAX_TRIPLES * 7 + 64

const hash = (word: number) => imul(word, 0x9e3779b1) >>> (32 - HASH_BITS)

/** Encoder state for one stream; the scratch arrays are reused from call to call. */
class StreamEncoder {
  private readonly head = new Int32Array(1 << HASH_BITS)
  private readonly chain = new Int32Array(WINDOW)
  private readonly tripleL = new Int32Array(MAX_TRIPLES)
  private readonly tripleM = new Int32Array(MAX_TRIPLES)
  private readonly tripleD = new Int32Array(MAX_TRIPLES)
  private readonly literals = new Uint8Array(MAX_LITERALS + 4)
  /** Per triple, while a block is written: the coded distance and the three symbols. */
  private readonly dCode = new Int32Array(MAX_TRIPLES)
  private readonly lSymbol = new Uint8Array(MAX_TRIPLES)
  private readonly mSymbol = new Uint8Array(MAX_TRIPLES)
  private readonly dSymbol = new Uint8Array(MAX_TRIPLES)
  private readonly block = new Uint8Array(BLOCK_BOUND)
  private readonly lTable = new FseTable(20, L_ALPHABET.states)
  private readonly mTable = new FseTable(20, M_ALPHABET.states)
  private readonly dTable = new FseTable(64, D_ALPHABET.states)
  private readonly literalTable = new FseTable(256, LITERAL_STATES)

  private src: Uint8Array = new Uint8Array(0)
  private sink = new Sink(0)
  private triples = 0
  private literalCount = 0
  /** Input offsets where the staged block starts and where its staged triples end. */
  private blockStart = 0
  private staged = 0
  private lastDistance = 0
  /** Output offset of the last block's `bvx-` header while it can still grow, else -1. */
  private openRaw = -1

  encode(input: Uint8Array): Buffer {
    this.src = input
    this.sink = new Sink(input.length + (input.length >> 4) + 64)
    this.triples = this.literalCount = this.blockStart = this.staged = this.lastDistance = 0
    this.openRaw = -1
    this.head.fill(-1)
    this.search()
    this.flushBlock()
    this.sink.magic('bvx$')
    const { buf, length } = this.sink
    this.src = new Uint8Array(0)
    this.sink = new Sink(0)
    return Buffer.from(buf.buffer, 0, length)
  }

  /** Greedy LZ77 over the whole input: hash chains of 4-byte prefixes, up to MAX_D back. */
  private search(): void {
    const { src, head, chain } = this
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength)
    const word = (at: number) => view.getInt32(at, true)
    const n = src.length
    const last = n - MIN_MATCH
    const mask = WINDOW - 1
    let anchor = 0
    let misses = 0
    for (let pos = 0; pos <= last;) {
      const here = word(pos)
      const h = hash(here)
      let candidate = head[h]
      chain[pos & mask] = candidate
      head[h] = pos
      const room = n - pos
      let bestLength = 0
      let bestDistance = 0
      for (let tries = CHAIN_DEPTH; candidate >= 0 && tries > 0; tries--) {
        const distance = pos - candidate
        if (distance > MAX_D) break
        if (src[candidate + bestLength] === src[pos + bestLength] && word(candidate) === here) {
          let length = MIN_MATCH
          while (length + 4 <= room && word(candidate + length) === word(pos + length)) length += 4
          while (length < room && src[candidate + length] === src[pos + length]) length++
          if (length > bestLength) {
            bestLength = length
            bestDistance = distance
            if (length >= GOOD_MATCH || length === room) break
          }
        }
        const next = chain[candidate & mask]
        if (next >= candidate) break
        candidate = next
      }
      if (!bestLength) {
        misses++
        pos += min(MAX_STEP, 1 + (misses >> SKIP_SHIFT))
        continue
      }
      misses = 0
      let start = pos
      while (
        start > anchor &&
        start > bestDistance &&
        src[start - 1] === src[start - 1 - bestDistance]
      ) {
        start--
        bestLength++
      }
      this.stage(anchor, start - anchor, bestLength, bestDistance)
      const end = start + bestLength
      // A few positions inside the match join the chains, so later repeats of its text are found;
      // all of them would cost more time than they save bytes.
      const stop = min(end, last + 1)
      for (let p = pos + 1; p < stop; p++) {
        if (p === pos + HEAD_INSERTS && stop - TAIL_INSERTS > p) p = stop - TAIL_INSERTS
        const h = hash(word(p))
        chain[p & mask] = head[h]
        head[h] = p
      }
      anchor = pos = end
    }
    if (anchor < n) this.stage(anchor, n - anchor, 0, 0)
  }

  /** Adds a literal run and a match, split into triples within the per-triple limits. */
  private stage(literalStart: number, l: number, m: number, distance: number): void {
    while (l > MAX_L) {
      this.triple(literalStart, MAX_L, 0, 0)
      literalStart += MAX_L
      l -= MAX_L
    }
    while (m > MAX_M) {
      this.triple(literalStart, l, MAX_M, distance)
      literalStart += l
      l = 0
      m -= MAX_M
    }
    if (l || m) this.triple(literalStart, l, m, distance)
  }

  /** One triple; a block that is full is written first. Distance 0: literals only (any D). */
  private triple(literalStart: number, l: number, m: number, distance: number): void {
    if (this.triples === MAX_TRIPLES || this.literalCount + l > MAX_LITERALS) this.flushBlock()
    // A literal-only triple repeats the block's last distance (coded in a few bits); the first
    // one in a block takes 1, which is valid as soon as one byte has been written.
    const d = distance || this.lastDistance || 1
    this.lastDistance = d
    const i = this.triples++
    this.tripleL[i] = l
    this.tripleM[i] = m
    this.tripleD[i] = d
    const { src, literals } = this
    for (let j = 0, at = this.literalCount; j < l; j++) literals[at + j] = src[literalStart + j]
    this.literalCount += l
    this.staged += l + m
  }

  /** Writes the staged triples as a `bvx2` block, or their bytes as `bvx-` if that is smaller. */
  private flushBlock(): void {
    if (!this.triples) return
    const rawLength = this.staged - this.blockStart
    const encoded = this.encodeBlock(rawLength)
    const sink = this.sink
    if (encoded > 0 && encoded < rawLength + 8) {
      sink.reserve(encoded)
      sink.buf.set(this.block.subarray(0, encoded), sink.length)
      sink.length += encoded
      this.openRaw = -1
    } else {
      // Neighbouring blocks that do not shrink share one `bvx-` block.
      if (this.openRaw < 0) {
        this.openRaw = sink.length
        sink.magic('bvx-')
        sink.reserve(4)
        sink.length += 4
        writeU32(sink.buf, this.openRaw + 4, 0)
      }
      writeU32(sink.buf, this.openRaw + 4, readU32(sink.buf, this.openRaw + 4) + rawLength)
      sink.reserve(rawLength)
      sink.buf.set(this.src.subarray(this.blockStart, this.staged), sink.length)
      sink.length += rawLength
    }
    this.triples = this.literalCount = this.lastDistance = 0
    this.blockStart = this.staged
  }

  /** The staged triples as a `bvx2` block in `this.block`: its length, or 0 if it cannot pay. */
  private encodeBlock(rawLength: number): number {
    const { tripleL, tripleM, tripleD, literals, dCode, lSymbol, mSymbol, dSymbol } = this
    const { lTable, mTable, dTable, literalTable } = this
    const tables = [lTable, mTable, dTable, literalTable]
    const triples = this.triples
    let literalCount = this.literalCount
    // Four interleaved literal streams: the count is padded to a multiple of 4.
    while (literalCount & 3) literals[literalCount++] = 0
    for (const table of tables) table.counts.fill(0)
    for (let i = 0; i < literalCount; i++) literalTable.counts[literals[i]]++
    let extraBits = 0
    for (let i = 0, previous = 0; i < triples; i++) {
      // A distance equal to the previous one is coded as 0.
      const d = tripleD[i]
      dCode[i] = d === previous ? 0 : d
      previous = d
      const ls = (lSymbol[i] = L_SYMBOL[tripleL[i]])
      const ms = (mSymbol[i] = M_SYMBOL[tripleM[i]])
      const ds = (dSymbol[i] = distanceSymbol(dCode[i]))
      lTable.counts[ls]++
      mTable.counts[ms]++
      dTable.counts[ds]++
      extraBits += L_ALPHABET.extraBits[ls] + M_ALPHABET.extraBits[ms] + D_ALPHABET.extraBits[ds]
    }
    let bits = extraBits
    for (const table of tables) {
      table.prepare()
      bits += table.cost()
    }
    // Header and tables take about 100 bytes more; skip the work when it plainly cannot pay.
    if (V2_HEADER + 100 + bits / 8 >= rawLength + 8) return 0

    const out = new BitWriter(this.block)
    out.pos = V2_HEADER
    for (const table of tables) for (const f of table.freq) writeFrequency(out, f)
    out.finish()
    const headerSize = out.pos

    // Both streams are written last symbol first, so the decoder reads them front to back.
    const states = [0, 0, 0, 0]
    for (let i = literalCount - 4; i >= 0; i -= 4) {
      states[3] = literalTable.encode(out, literals[i + 3], states[3])
      states[2] = literalTable.encode(out, literals[i + 2], states[2])
      states[1] = literalTable.encode(out, literals[i + 1], states[1])
      states[0] = literalTable.encode(out, literals[i], states[0])
    }
    const literalBits = out.finish()
    const literalPayload = out.pos - headerSize

    // The triple stream starts with 8 zero bytes: the decoder reads 8 bytes at a time backwards.
    this.block.fill(0, out.pos, out.pos + 8)
    out.pos += 8
    let lState = 0
    let mState = 0
    let dState = 0
    for (let i = triples - 1; i >= 0; i--) {
      // D, then M, then L, each value's extra bits before its state bits: the decoder reads L first.
      let s = dSymbol[i]
      dState = dTable.encode(out, s, dState, dCode[i] - D_ALPHABET.base[s], D_ALPHABET.extraBits[s])
      s = mSymbol[i]
      mState = mTable.encode(
        out,
        s,
        mState,
        tripleM[i] - M_ALPHABET.base[s],
        M_ALPHABET.extraBits[s]
      )
      s = lSymbol[i]
      lState = lTable.encode(
        out,
        s,
        lState,
        tripleL[i] - L_ALPHABET.base[s],
        L_ALPHABET.extraBits[s]
      )
    }
    const tripleBits = out.finish()
    const triplePayload = out.pos - headerSize - literalPayload

    const header = Buffer.from(this.block.buffer, this.block.byteOffset, V2_HEADER)
    header.write('bvx2', 0, 'latin1')
    header.writeUInt32LE(rawLength, 4)
    const field = (value: number, offset: number) => BigInt(value) << BigInt(offset)
    header.writeBigUInt64LE(
      field(literalCount, 0) |
        field(literalPayload, 20) |
        field(triples, 40) |
        field(7 + literalBits, 60),
      8
    )
    header.writeBigUInt64LE(
      field(states[0], 0) |
        field(states[1], 10) |
        field(states[2], 20) |
        field(states[3], 30) |
        field(triplePayload, 40) |
        field(7 + tripleBits, 60),
      16
    )
    header.writeBigUInt64LE(
      field(headerSize, 0) | field(lState, 32) | field(mState, 42) | field(dState, 52),
      24
    )
    return out.pos
  }
}

function readU32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0
}

function writeU32(buf: Uint8Array, at: number, value: number): void {
  for (let i = 0; i < 4; i++) buf[at + i] = (value >>> (8 * i)) & 0xff
}

let shared: StreamEncoder | undefined

/** `input` as one LZFSE stream (`bvx2`/`bvx-` blocks, then `bvx$`), as Apple's decoder reads it. */
export function encodeLzfse(input: Uint8Array): Buffer {
  shared ??= new StreamEncoder()
  return shared.encode(input)
}
