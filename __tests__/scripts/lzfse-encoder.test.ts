// The test helper's LZFSE encoder against the action's decoder: varied inputs (seeded) round trip
// byte for byte, and the streams keep to the format's per-block limits.
import { encodeLzfse } from '../../scripts/lzfse-encoder.js'
import { decodeLzfse } from '../../src/archive/lzfse.js'

function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

function noise(size: number, next: () => number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = next() * 256
  return bytes
}

const WORDS = 'the forest level door key lantern river stone tower guard night bridge'.split(' ')

function prose(size: number, next: () => number): Buffer {
  let text = ''
  while (text.length < size) text += WORDS[Math.floor(next() * next() * WORDS.length)] + ' '
  return Buffer.from(text.slice(0, size))
}

function levels(size: number, next: () => number): Buffer {
  const items: string[] = []
  for (let length = 0, id = 0; length < size; id++) {
    const item = JSON.stringify({ id, kind: WORDS[id % WORDS.length], x: next() * 100, y: next() })
    items.push(item)
    length += item.length + 2
  }
  return Buffer.from(items.join(',\n')).subarray(0, size)
}

/** Vertex-like records: an index, a smooth float, a small enum, a constant. */
function records(size: number, next: () => number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let at = 0; at + 16 <= size; at += 16) {
    bytes.writeUInt32LE(at / 16, at)
    bytes.writeFloatLE(Math.sin(at / 1600), at + 4)
    bytes.writeUInt32LE(Math.floor(next() * 4), at + 8)
    bytes.writeUInt32LE(0xc0ffee, at + 12)
  }
  return bytes
}

function runs(size: number, next: () => number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let at = 0; at < size;) {
    const length = 1 + Math.floor(next() * next() * 9000)
    bytes.fill(Math.floor(next() * 4) * 50, at, Math.min(size, at + length))
    at += length
    for (let gap = Math.floor(next() * 8); gap > 0 && at < size; gap--) bytes[at++] = next() * 256
  }
  return bytes
}

interface Block {
  magic: string
  literals?: number
  triples?: number
}

/** The stream's blocks, as far as their headers say. */
function blocks(stream: Buffer): Block[] {
  const found: Block[] = []
  for (let at = 0; ;) {
    const magic = stream.toString('latin1', at, at + 4)
    if (magic === 'bvx$') {
      expect(at + 4).toBe(stream.length)
      found.push({ magic })
      return found
    }
    if (magic === 'bvx-') {
      found.push({ magic })
      at += 8 + stream.readUInt32LE(at + 4)
    } else {
      expect(magic).toBe('bvx2')
      const packed0 = stream.readBigUInt64LE(at + 8)
      const packed1 = stream.readBigUInt64LE(at + 16)
      const field = (packed: bigint, offset: number) =>
        Number((packed >> BigInt(offset)) & 0xfffffn)
      found.push({ magic, literals: field(packed0, 0), triples: field(packed0, 40) })
      at += stream.readUInt32LE(at + 24) + field(packed0, 20) + field(packed1, 40)
    }
  }
}

function roundTrip(input: Buffer): Block[] {
  const stream = encodeLzfse(input)
  const output = new Uint8Array(input.length)
  decodeLzfse(stream, output)
  expect(Buffer.from(output).equals(input)).toBe(true)
  return blocks(stream)
}

const MiB = 1024 * 1024

describe('encodeLzfse', () => {
  it('round trips the empty input and every size from 1 to 16 bytes', () => {
    expect(encodeLzfse(new Uint8Array(0)).toString('latin1')).toBe('bvx$')
    roundTrip(Buffer.alloc(0))
    const next = random(1)
    for (let size = 1; size <= 16; size++) {
      roundTrip(noise(size, next))
      roundTrip(Buffer.alloc(size, 'a'))
    }
  })

  it.each([
    ['prose', prose],
    ['JSON levels', levels],
    ['binary records', records],
    ['runs', runs],
    ['zeros', (size: number) => Buffer.alloc(size)]
  ])('compresses %s into bvx2 blocks that decode exactly', (_name, make) => {
    const next = random(2)
    for (const size of [100, 5000, 70_000, MiB + 123]) {
      const input = make(size, next)
      const found = roundTrip(input)
      if (size >= 5000) expect(found.some((b) => b.magic === 'bvx2')).toBe(true)
      expect(encodeLzfse(input).length).toBeLessThanOrEqual(size >= 5000 ? size / 1.5 : size + 12)
    }
  })

  it('stores noise as one bvx- block, and mixes bvx- and bvx2 in one stream', () => {
    const next = random(3)
    const input = noise(300_000, next)
    expect(roundTrip(input).map((b) => b.magic)).toEqual(['bvx-', 'bvx$'])
    const mixed = Buffer.concat([levels(200_000, next), noise(200_000, next), prose(200_000, next)])
    const magics = new Set(roundTrip(mixed).map((b) => b.magic))
    expect([...magics].sort()).toEqual(['bvx$', 'bvx-', 'bvx2'])
  })

  it('keeps each block within 10,000 triples and 40,000 literals', () => {
    const next = random(4)
    // Four-byte tokens with 0-2 noise bytes between: a triple every few bytes.
    const tokens = ['lamp', 'door', 'gate', 'well'].map((t) => Buffer.from(t))
    const parts: Buffer[] = []
    for (let size = 0; size < 400_000;) {
      const gap = noise(Math.floor(next() * 3), next)
      parts.push(tokens[Math.floor(next() * 4)], gap)
      size += 4 + gap.length
    }
    const compressed = roundTrip(Buffer.concat(parts)).filter((b) => b.magic === 'bvx2')
    expect(compressed.length).toBeGreaterThan(1)
    expect(Math.max(...compressed.map((b) => b.triples!))).toBe(10_000)
    const literalHeavy = roundTrip(Buffer.concat([noise(1000, next), prose(MiB, next)]))
    for (const block of [...compressed, ...literalHeavy.filter((b) => b.magic === 'bvx2')])
      expect(block.literals!).toBeLessThanOrEqual(40_000)
  })

  it('matches as far back as 262,139 bytes, across blocks, and not one byte further', () => {
    const next = random(5)
    const far = levels(200_000, next)
    const reachable = Buffer.concat([far, noise(62_139, next), far])
    const tooFar = Buffer.concat([far, noise(62_140, next), far])
    roundTrip(reachable)
    roundTrip(tooFar)
    // The repeat is found only within reach: one copy of `far` fewer in the output.
    expect(encodeLzfse(tooFar).length - encodeLzfse(reachable).length).toBeGreaterThan(30_000)
  })

  it('splits long matches and literal runs into triples the decoder accepts', () => {
    const next = random(6)
    roundTrip(Buffer.concat([noise(5000, next), Buffer.alloc(100_000, 7), noise(3, next)]))
    roundTrip(
      Buffer.concat([noise(90_000, next), Buffer.from('echo echo echo echo'), noise(50_000, next)])
    )
    // Short periods: overlapping copies with distances 1 to 9.
    roundTrip(
      Buffer.concat(Array.from({ length: 9 }, (_, i) => Buffer.alloc(5000, noise(i + 1, next))))
    )
  })
})
