// The LZFSE decoder against vectors made by Apple's encoder, hand-built streams for the block
// kinds that encoder never writes, and one malformed stream per kind of error.
import { LzfseError, decodeLzfse } from '../../src/archive/lzfse.js'
import {
  type BlockFields,
  asV1,
  concat,
  lzfseVector as vector,
  readV2,
  v1Header
} from '../helpers/fuzz.js'

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

function le32(...values: number[]): Uint8Array {
  const out = Buffer.alloc(4 * values.length)
  values.forEach((value, i) => out.writeUInt32LE(value >>> 0, 4 * i))
  return new Uint8Array(out)
}

const END = ascii('bvx$')

function decoded(input: Uint8Array, size: number): Uint8Array {
  const output = new Uint8Array(size)
  decodeLzfse(input, output)
  return output
}

/** The error decoding `input` into `size` bytes throws; fails the test if it isn't an LzfseError. */
function errorOf(input: Uint8Array, size: number): LzfseError {
  try {
    decodeLzfse(input, new Uint8Array(size))
  } catch (error) {
    if (error instanceof LzfseError) return error
    throw error
  }
  throw new Error('decoded without an error')
}

/**
 * A bvx1 block whose every stream has one symbol owning all states, so no bits are read: every
 * triplet is (l, m, d) and every literal is `literal`. l, m < 16 and d < 4 are their own symbols.
 */
function constantBlock(options: {
  rawBytes: number
  literalCount: number
  matchCount: number
  l: number
  m: number
  d: number
  literal?: number
  frequencies?: (frequencies: number[]) => void
}): Uint8Array {
  const frequencies = new Array<number>(360).fill(0)
  frequencies[options.l] = 64
  frequencies[20 + options.m] = 64
  frequencies[40 + options.d] = 256
  frequencies[104 + (options.literal ?? 0x61)] = 1024
  options.frequencies?.(frequencies)
  return v1Header({
    rawBytes: options.rawBytes,
    literalCount: options.literalCount,
    literalPayload: 0,
    matchCount: options.matchCount,
    literalBits: 0,
    literalStates: [0, 0, 0, 0],
    lmdPayload: 0,
    lmdBits: 0,
    lState: 0,
    mState: 0,
    dState: 0,
    frequencies,
    headerSize: 772
  })
}

/** The magics of a stream's blocks, walked by hand. */
function blockKinds(stream: Uint8Array): string[] {
  const view = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength)
  const kinds: string[] = []
  let at = 0
  for (;;) {
    const magic = view.toString('latin1', at, at + 4)
    kinds.push(magic)
    if (magic === 'bvx$') return kinds
    if (magic === 'bvx-') at += 8 + view.readUInt32LE(at + 4)
    else if (magic === 'bvxn') at += 12 + view.readUInt32LE(at + 8)
    else if (magic === 'bvx2') {
      const fields = readV2(stream, at)
      at += fields.headerSize + fields.literalPayload + fields.lmdPayload
    } else throw new Error(`unexpected block magic ${magic}`)
  }
}

/** Byte offsets of a stream's blocks (bvx2, bvx- and bvxn only). */
function blockOffsets(stream: Uint8Array): number[] {
  const offsets: number[] = []
  let at = 0
  for (const kind of blockKinds(stream)) {
    offsets.push(at)
    if (kind === 'bvx2') {
      const fields = readV2(stream, at)
      at += fields.headerSize + fields.literalPayload + fields.lmdPayload
    } else if (kind === 'bvx-') at += 8 + Buffer.from(stream).readUInt32LE(at + 4)
    else if (kind === 'bvxn') at += 12 + Buffer.from(stream).readUInt32LE(at + 8)
  }
  return offsets
}

describe('vectors made by Apple’s encoder', () => {
  it.each([
    ['text', ['bvx2', 'bvx$']],
    ['binary', ['bvx2', 'bvx$']],
    ['repetitive', ['bvx2', 'bvx$']],
    ['random', ['bvx-', 'bvx$']],
    ['tiny', ['bvxn', 'bvx$']],
    ['empty', ['bvx-', 'bvx$']],
    ['multiblock', ['bvx2', 'bvx2', 'bvx2', 'bvx2', 'bvx$']]
  ])('%s (blocks %j) decodes to the exact bytes', (name, kinds) => {
    const { plain, encoded } = vector(name)
    expect(blockKinds(encoded)).toEqual(kinds)
    expect(Buffer.from(decoded(encoded, plain.length)).equals(plain)).toBe(true)
  })

  it('decodes into a view of a larger buffer, from a view of one', () => {
    const { plain, encoded } = vector('text')
    const input = concat(ascii('junk'), encoded, ascii('junk')).subarray(4, 4 + encoded.length)
    const output = new Uint8Array(plain.length + 20).subarray(10, 10 + plain.length)
    decodeLzfse(input, output)
    expect(Buffer.from(output).equals(plain)).toBe(true)
  })

  it('lets matches reach back into earlier blocks of the stream', () => {
    const { plain, encoded } = vector('multiblock')
    const [first, second, third] = blockOffsets(encoded)
    const alone = concat(encoded.subarray(second, third), END)
    const size = readV2(encoded, second).rawBytes
    // On its own the second block refers to bytes it doesn't have...
    expect(errorOf(alone, size).problem).toMatch(/reaches before the start of the output/)
    // ...which in the stream are the first block's.
    expect(first).toBe(0)
    expect(Buffer.from(decoded(encoded, plain.length)).equals(plain)).toBe(true)
  })
})

describe('hand-built streams', () => {
  it('decodes a bvx1 block (plain frequency tables) like the bvx2 block it restates', () => {
    const { plain, encoded } = vector('text')
    const v1 = concat(asV1(encoded, 0), END)
    expect(Buffer.from(decoded(v1, plain.length)).equals(plain)).toBe(true)
  })

  it('decodes bvx- blocks, including an empty one', () => {
    const raw = ascii('stored as is')
    const stream = concat(ascii('bvx-'), le32(raw.length), raw, ascii('bvx-'), le32(0), END)
    expect(Buffer.from(decoded(stream, raw.length)).toString()).toBe('stored as is')
  })

  it('decodes several blocks of different kinds, in order', () => {
    const text = vector('text')
    const tiny = vector('tiny')
    const binary = vector('binary')
    const random = vector('random')
    const raw = ascii('raw bytes first; ')
    const stream = concat(
      ascii('bvx-'),
      le32(raw.length),
      raw,
      asV1(text.encoded, 0),
      tiny.encoded.subarray(0, tiny.encoded.length - 4),
      binary.encoded.subarray(0, binary.encoded.length - 4),
      random.encoded.subarray(0, random.encoded.length - 4),
      END
    )
    const expected = concat(raw, text.plain, tiny.plain, binary.plain, random.plain)
    expect(Buffer.from(decoded(stream, expected.length)).equals(expected)).toBe(true)
  })

  it('decodes a constant-table block (no bits read at all)', () => {
    // Each triplet: 1 literal "a", then 3 bytes from 1 back: "aaaa" per triplet.
    const block = constantBlock({ rawBytes: 12, literalCount: 4, matchCount: 3, l: 1, m: 3, d: 1 })
    expect(Buffer.from(decoded(concat(block, END), 12)).toString()).toBe('a'.repeat(12))
  })
})

describe('malformed streams', () => {
  const text = vector('text')
  const tiny = vector('tiny')
  const textFields = readV2(text.encoded, 0)
  const textPayloadAt = textFields.headerSize

  /** `offset` is exact, or [first, last] where the problem's byte depends on the bit stream. */
  function expectError(
    input: Uint8Array,
    size: number,
    offset: number | [number, number],
    problem: string | RegExp
  ) {
    const error = errorOf(input, size)
    expect(error.problem).toMatch(problem)
    if (typeof offset === 'number') expect(error.offset).toBe(offset)
    else {
      expect(error.offset).toBeGreaterThanOrEqual(offset[0])
      expect(error.offset).toBeLessThanOrEqual(offset[1])
    }
    expect(error.message).toBe(`${error.problem} (at byte ${error.offset} of the LZFSE stream)`)
  }

  it('names an unknown block magic and where it is', () => {
    const stream = concat(ascii('bvx-'), le32(2), ascii('ok'), ascii('bvx?'), END)
    expectError(stream, 2, 10, 'block 2: unknown block magic "bvx?" (62 76 78 3f)')
  })

  it('refuses a stream without an end-of-stream marker', () => {
    const stream = text.encoded.subarray(0, text.encoded.length - 4)
    expectError(stream, text.plain.length, stream.length, /ends without an end-of-stream marker/)
    const raw = concat(ascii('bvx-'), le32(2), ascii('ok'))
    expectError(raw, 2, 10, 'the stream ends without an end-of-stream marker (bvx$)')
    expectError(concat(raw, ascii('bv')), 2, 10, /ends in a partial block magic "bv"/)
  })

  it('counts the bytes after the end-of-stream marker', () => {
    const stream = concat(text.encoded, ascii('xyz'))
    expectError(
      stream,
      text.plain.length,
      text.encoded.length,
      '3 bytes after the end-of-stream marker'
    )
  })

  it('refuses headers cut short', () => {
    expectError(
      text.encoded.subarray(0, 20),
      text.plain.length,
      0,
      'block 1 (bvx2): the header is cut short'
    )
    expectError(
      text.encoded.subarray(0, 40),
      text.plain.length,
      0,
      /the \d+-byte header is cut short/
    )
    expectError(
      tiny.encoded.subarray(0, 8),
      tiny.plain.length,
      0,
      'block 1 (bvxn): the header is cut short'
    )
    expectError(ascii('bvx-\x01'), 1, 0, 'block 1 (bvx-): the header is cut short')
    expectError(
      asV1(text.encoded, 0).subarray(0, 700),
      1,
      0,
      'block 1 (bvx1): the header is cut short'
    )
  })

  it('refuses payloads cut short', () => {
    const cut = text.encoded.subarray(0, textPayloadAt + 100)
    expectError(
      cut,
      text.plain.length,
      0,
      /bvx2\): the stream ends inside the block's \d+-byte payload/
    )
    const raw = concat(ascii('bvx-'), le32(10), ascii('short'))
    expectError(raw, 10, 8, "block 1 (bvx-): the stream ends inside the block's 10 raw bytes")
    const lzvn = tiny.encoded.subarray(0, 30)
    expectError(
      lzvn,
      tiny.plain.length,
      12,
      /bvxn\): the stream ends inside the block's 48-byte payload/
    )
  })

  it('refuses output that would exceed the buffer, and output that falls short of it', () => {
    const size = text.plain.length
    expectError(
      text.encoded,
      size - 1,
      0,
      `block 1 (bvx2): the stream decodes to more than ${size - 1} bytes`
    )
    expectError(
      text.encoded,
      size + 1,
      text.encoded.length - 4,
      `the stream decodes to only ${size} of ${size + 1} bytes`
    )
    expectError(tiny.encoded, 10, 0, 'block 1 (bvxn): the stream decodes to more than 10 bytes')
    const raw = concat(ascii('bvx-'), le32(5), ascii('12345'), END)
    expectError(raw, 4, 0, 'block 1 (bvx-): the stream decodes to more than 4 bytes')
  })

  describe('header fields out of range', () => {
    function v1(change: Partial<BlockFields>, payloadBytes?: number): Uint8Array {
      const fields = { ...textFields, ...change }
      const payload = text.encoded.subarray(
        textPayloadAt,
        textPayloadAt + textFields.literalPayload + textFields.lmdPayload
      )
      return concat(v1Header(fields, payloadBytes), payload, END)
    }
    const size = text.plain.length
    const lmdAt = 772 + textFields.literalPayload
    const lmd: [number, number] = [lmdAt, lmdAt + textFields.lmdPayload]

    it('frequencies that do not sum to the state count', () => {
      const frequencies = textFields.frequencies.slice()
      frequencies[0] += 1
      expectError(
        v1({ frequencies }),
        size,
        0,
        'block 1 (bvx1): the L frequencies sum to 65, not 64'
      )
      const literal = textFields.frequencies.slice()
      literal[104 + 0x20] -= 1
      expectError(
        v1({ frequencies: literal }),
        size,
        0,
        /the literal frequencies sum to 1023, not 1024/
      )
    })

    it('a packed frequency table longer or shorter than its header', () => {
      const longer = concat(
        text.encoded.subarray(0, 24),
        le32(textFields.headerSize + 1),
        text.encoded.subarray(28)
      )
      expectError(
        longer,
        size,
        32,
        'block 1 (bvx2): the frequency tables end 1 byte before the header does'
      )
      const shorter = concat(text.encoded.subarray(0, 24), le32(40), text.encoded.subarray(28))
      expectError(shorter, size, 32, /the frequency tables end after \d+ of 360 values/)
      const tiny = concat(text.encoded.subarray(0, 24), le32(20), text.encoded.subarray(28))
      expectError(tiny, size, 24, 'block 1 (bvx2): the header size 20 is less than 32')
    })

    it('states out of range', () => {
      expectError(v1({ lState: 64 }), size, 0, 'block 1 (bvx1): the L state 64 is not below 64')
      expectError(v1({ dState: 300 }), size, 0, 'block 1 (bvx1): the D state 300 is not below 256')
      expectError(
        v1({ literalStates: [0, 0, 1024, 0] }),
        size,
        0,
        /literal state 2 is 1024, not below 1024/
      )
      // In bvx2 the L, M and D states are 10-bit fields, so they can be out of range too.
      const packed = Buffer.from(text.encoded)
      packed.writeUInt16LE((packed.readUInt16LE(32 - 4) & ~0x3ff) | 100, 28)
      expectError(
        new Uint8Array(packed),
        size,
        0,
        'block 1 (bvx2): the L state 100 is not below 64'
      )
    })

    it('bit counts out of range', () => {
      expectError(
        v1({ literalBits: 1 }),
        size,
        0,
        'block 1 (bvx1): the literal bit count 1 is not in -8..0'
      )
      expectError(
        v1({ lmdBits: -9 }),
        size,
        0,
        'block 1 (bvx1): the L/M/D bit count -9 is not in -8..0'
      )
    })

    it('inconsistent counts and sizes', () => {
      expectError(
        v1({}, 5),
        size,
        8,
        /the payload size 5 is not the literal payload \d+ plus the L\/M\/D payload \d+/
      )
      expectError(
        v1({ matchCount: 10001 }),
        size,
        0,
        'block 1 (bvx1): the match count 10001 is more than 10000'
      )
      expectError(
        v1({ literalCount: 40004 }),
        size,
        0,
        /the literal count 40004 is not a multiple of 4 up to 40000/
      )
      expectError(
        v1({ literalCount: textFields.literalCount - 1 }),
        size,
        0,
        /is not a multiple of 4/
      )
      const fewer = v1({ rawBytes: size - 1 })
      expectError(
        fewer,
        size,
        lmd,
        `block 1 (bvx1): the block decodes to more than its ${size - 1} bytes`
      )
      const more = v1({ rawBytes: size + 1 })
      expectError(
        more,
        size + 1,
        lmdAt,
        `block 1 (bvx1): the block decodes to only ${size} of its ${size + 1} bytes`
      )
      const fewLiterals = v1({ literalCount: 16 })
      expectError(
        fewLiterals,
        size,
        lmd,
        /^block 1 \(bvx1\): a literal run of \d+ needs more than the block's 16 literals$/
      )
      const noPayload = v1({ literalPayload: 0, lmdPayload: 0 }, 0)
      const padding = `the L/M/D payload of 0 bytes can't hold ${textFields.lmdBits} bits of padding`
      expectError(noPayload, size, 0, `block 1 (bvx1): ${padding}`)
      const noLiterals = v1({ literalPayload: 0 }, textFields.lmdPayload)
      const overrun = 'block 1 (bvx1): the literal stream needs more bits than its payload holds'
      expectError(noLiterals, size, 772, overrun)
    })

    it('payload padding bits that are not zero', () => {
      expect(textFields.lmdBits).toBeLessThan(0)
      const stream = Buffer.from(text.encoded)
      const last = textPayloadAt + textFields.literalPayload + textFields.lmdPayload - 1
      stream[last] |= 0x80
      expectError(
        new Uint8Array(stream),
        size,
        last,
        "block 1 (bvx2): the L/M/D stream's padding bits are not zero"
      )
    })
  })

  describe('triplets', () => {
    it('refuses a distance that reaches before the start of the output', () => {
      const block = constantBlock({ rawBytes: 4, literalCount: 4, matchCount: 1, l: 1, m: 3, d: 3 })
      expectError(
        concat(block, END),
        4,
        772,
        'block 1 (bvx1): match distance 3 reaches before the start of the output (at output byte 1)'
      )
    })

    it('refuses a repeated distance when there is none yet (distance 0)', () => {
      const block = constantBlock({ rawBytes: 4, literalCount: 4, matchCount: 1, l: 1, m: 3, d: 0 })
      expectError(
        concat(block, END),
        4,
        772,
        /a match repeats the previous distance, but there is none in this block/
      )
    })

    it('refuses literal runs beyond the block’s literals', () => {
      const block = constantBlock({
        rawBytes: 16,
        literalCount: 4,
        matchCount: 2,
        l: 5,
        m: 3,
        d: 1
      })
      expectError(
        concat(block, END),
        16,
        772,
        /a literal run of 5 needs more than the block's 4 literals/
      )
    })

    it('refuses a bit stream read past its payload', () => {
      const block = constantBlock({
        rawBytes: 4,
        literalCount: 4,
        matchCount: 1,
        l: 1,
        m: 3,
        d: 1,
        // Two L symbols: every L now takes one bit, which the empty payload doesn't have.
        frequencies: (f) => ([f[1], f[2]] = [32, 32])
      })
      expectError(
        concat(block, END),
        4,
        772,
        'block 1 (bvx1): the L/M/D stream needs more bits than its payload holds'
      )
    })

    it('may only leave unused tables empty', () => {
      const empty = constantBlock({
        rawBytes: 0,
        literalCount: 0,
        matchCount: 0,
        l: 0,
        m: 0,
        d: 0,
        frequencies: (f) => f.fill(0)
      })
      expect(decoded(concat(empty, END), 0)).toHaveLength(0)
      const used = constantBlock({
        rawBytes: 4,
        literalCount: 4,
        matchCount: 1,
        l: 4,
        m: 0,
        d: 1,
        frequencies: (f) => f.fill(0, 0, 20)
      })
      expectError(concat(used, END), 4, 0, 'block 1 (bvx1): the L frequencies sum to 0, not 64')
    })
  })

  describe('LZVN', () => {
    function lzvn(payload: number[], rawBytes: number): Uint8Array {
      return concat(ascii('bvxn'), le32(rawBytes, payload.length), Uint8Array.from(payload), END)
    }
    const EOS = [0x06, 0, 0, 0, 0, 0, 0, 0]

    it('decodes literal, match and end-of-stream opcodes', () => {
      // 3 literals "abc", then a 6-byte match from 3 back (small distance: L=0, M=6, D=3).
      const stream = lzvn([0xe3, 0x61, 0x62, 0x63, 0x18, 0x03, ...EOS], 9)
      expect(Buffer.from(decoded(stream, 9)).toString()).toBe('abcabcabc')
    })

    it('refuses undefined opcodes', () => {
      const stream = Buffer.from(tiny.encoded)
      stream[12] = 0x70
      expectError(
        new Uint8Array(stream),
        tiny.plain.length,
        12,
        'block 1 (bvxn): undefined LZVN opcode 0x70'
      )
    })

    it('refuses distance 0 and distances before the start of the output', () => {
      expectError(
        lzvn([0xe1, 0x61, 0x00, 0x00, ...EOS], 4),
        4,
        14,
        'block 1 (bvxn): an LZVN match has distance 0'
      )
      expectError(
        lzvn([0xe1, 0x61, 0x00, 0x02, ...EOS], 4),
        4,
        14,
        /match distance 2 reaches before the start of the output \(at output byte 1\)/
      )
    })

    it('refuses opcodes and literals that overrun the payload or the block', () => {
      expectError(
        lzvn([0xe1, 0x61, 0x00], 4),
        4,
        14,
        'block 1 (bvxn): LZVN opcode 0x00 is cut short'
      )
      expectError(
        lzvn([0xe5, 0x61], 5),
        5,
        12,
        'block 1 (bvxn): 5 literals run past the LZVN payload'
      )
      expectError(
        lzvn([0xe3, 0x61, 0x62, 0x63, ...EOS], 2),
        2,
        12,
        'block 1 (bvxn): the block decodes to more than its 2 bytes'
      )
      // 1 literal, then a 4-byte match from 1 back (small distance: L=0, M=4, D=1).
      expectError(
        lzvn([0xe1, 0x61, 0x08, 0x01, ...EOS], 4),
        4,
        14,
        'block 1 (bvxn): the block decodes to more than its 4 bytes'
      )
      expectError(
        lzvn([0xe1, 0x61, ...EOS], 2),
        2,
        22,
        'block 1 (bvxn): the block decodes to only 1 of its 2 bytes'
      )
      expectError(
        lzvn([0xe1, 0x61, ...EOS, 0], 1),
        1,
        22,
        'block 1 (bvxn): 1 byte after the LZVN end-of-stream opcode'
      )
      expectError(
        lzvn([0xe1, 0x61], 1),
        1,
        14,
        'block 1 (bvxn): the LZVN payload ends without an end-of-stream opcode'
      )
    })
  })
})
