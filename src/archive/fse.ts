// Finite State Entropy (tANS) decoding tables for LZFSE compressed blocks.
//
// A block carries a normalized frequency per symbol for four streams: L (literal run length),
// M (match length), D (match distance) and the literal bytes. The frequencies of a stream sum to
// its state count (a power of two); symbol s owns freq[s] consecutive states, in symbol order.
// Decoding from a state yields its symbol and the next state: some bits read from the stream
// added to a per-state base ("delta"). L, M and D symbols stand for a range of values: the
// symbol's base value plus a number of extra bits read together with the state bits.

export const L_SYMBOLS = 20
export const M_SYMBOLS = 20
export const D_SYMBOLS = 64
export const LITERAL_SYMBOLS = 256
export const L_STATES = 64
export const M_STATES = 64
export const D_STATES = 256
export const LITERAL_STATES = 1024

/** Frequencies are stored in this order, one table after the other. */
export const FREQUENCY_COUNT = L_SYMBOLS + M_SYMBOLS + D_SYMBOLS + LITERAL_SYMBOLS
export const L_FREQUENCIES_AT = 0
export const M_FREQUENCIES_AT = L_SYMBOLS
export const D_FREQUENCIES_AT = L_SYMBOLS + M_SYMBOLS
export const LITERAL_FREQUENCIES_AT = L_SYMBOLS + M_SYMBOLS + D_SYMBOLS

// Extra bits and base values of the L, M and D symbols (fixed by the format).
// prettier-ignore
export const L_EXTRA_BITS = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8
)
// prettier-ignore
export const L_BASE = Int32Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60
)
// prettier-ignore
export const M_EXTRA_BITS = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11
)
// prettier-ignore
export const M_BASE = Int32Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312
)
// prettier-ignore
export const D_EXTRA_BITS = Uint8Array.of(
  0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
  4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7,
  8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11,
  12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15
)
// prettier-ignore
export const D_BASE = Int32Array.of(
  0, 1, 2, 3, 4, 6, 8, 10,
  12, 16, 20, 24, 28, 36, 44, 52,
  60, 76, 92, 108, 124, 156, 188, 220,
  252, 316, 380, 444, 508, 636, 764, 892,
  1020, 1276, 1532, 1788, 2044, 2556, 3068, 3580,
  4092, 5116, 6140, 7164, 8188, 10236, 12284, 14332,
  16380, 20476, 24572, 28668, 32764, 40956, 49148, 57340,
  65532, 81916, 98300, 114684, 131068, 163836, 196604, 229372
)

/** Sum of `count` frequencies starting at `at`. */
export function frequencySum(freq: Uint16Array, at: number, count: number): number {
  let sum = 0
  for (let i = at; i < at + count; i++) sum += freq[i]
  return sum
}

/**
 * Fills `table[0 .. states)` for the literal stream: each entry packs `delta << 16 | symbol << 8 |
 * bits`. The frequencies must sum to exactly `states`.
 */
export function buildLiteralTable(freq: Uint16Array, at: number, table: Int32Array): void {
  const states = LITERAL_STATES
  let state = 0
  for (let symbol = 0; symbol < LITERAL_SYMBOLS; symbol++) {
    const f = freq[at + symbol]
    if (f === 0) continue
    // k is the shift that brings f into [states, 2 * states): the first j0 of the symbol's
    // states read k bits, the rest k - 1 bits, so that together they cover every next state.
    const k = Math.clz32(f) - Math.clz32(states)
    const j0 = ((2 * states) >> k) - f
    for (let j = 0; j < f; j++) {
      const entry =
        j < j0 ? ((((f + j) << k) - states) << 16) | k : (((j - j0) << (k - 1)) << 16) | (k - 1)
      table[state++] = entry | (symbol << 8)
    }
  }
}

/**
 * Fills `table[0 .. states)` and `bases[0 .. states)` for an L, M or D stream: each table entry
 * packs `delta << 16 | extraBits << 8 | (stateBits + extraBits)`, and `bases` holds the value
 * base of the state's symbol. The frequencies must sum to exactly `states`.
 */
export function buildValueTable(
  freq: Uint16Array,
  at: number,
  symbols: number,
  states: number,
  extraBits: Uint8Array,
  baseValues: Int32Array,
  table: Int32Array,
  bases: Int32Array
): void {
  let state = 0
  for (let symbol = 0; symbol < symbols; symbol++) {
    const f = freq[at + symbol]
    if (f === 0) continue
    const k = Math.clz32(f) - Math.clz32(states)
    const j0 = ((2 * states) >> k) - f
    const extra = extraBits[symbol]
    for (let j = 0; j < f; j++) {
      const entry =
        j < j0
          ? ((((f + j) << k) - states) << 16) | (k + extra)
          : (((j - j0) << (k - 1)) << 16) | (k - 1 + extra)
      table[state] = entry | (extra << 8)
      bases[state++] = baseValues[symbol]
    }
  }
}

// The packed (bvx2) frequency code: a prefix code read from the low bits upwards. The low 5
// bits of the code determine its length and, for lengths up to 5, its value; the 8- and 14-bit
// codes carry 4 and 10 more bits of value.
// prettier-ignore
const CODE_BITS = Uint8Array.of(
  2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14,
  2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14
)
// prettier-ignore
const CODE_VALUE = Uint8Array.of(
  0, 2, 1, 4, 0, 3, 1, 0, 0, 2, 1, 5, 0, 3, 1, 0,
  0, 2, 1, 6, 0, 3, 1, 0, 0, 2, 1, 7, 0, 3, 1, 0
)

/**
 * Decodes the packed frequencies in `input[from .. to)` into `freq`. Returns undefined, or what
 * is wrong: the codes must end in the header's last byte. An empty range means all zero.
 */
export function readPackedFrequencies(
  input: Uint8Array,
  from: number,
  to: number,
  freq: Uint16Array
): string | undefined {
  if (from === to) {
    freq.fill(0)
    return undefined
  }
  let at = from
  let bits = 0
  let count = 0
  for (let i = 0; i < FREQUENCY_COUNT; i++) {
    while (count <= 24 && at < to) {
      bits |= input[at++] << count
      count += 8
    }
    const code = bits & 31
    const length = CODE_BITS[code]
    if (length > count) return `the frequency tables end after ${i} of ${FREQUENCY_COUNT} values`
    freq[i] =
      length === 8
        ? 8 + ((bits >>> 4) & 0xf)
        : length === 14
          ? 24 + ((bits >>> 4) & 0x3ff)
          : CODE_VALUE[code]
    bits >>>= length
    count -= length
  }
  const unread = to - at + (count >> 3)
  if (unread > 0)
    return `the frequency tables end ${unread} byte${unread === 1 ? '' : 's'} before the header does`
  return undefined
}
