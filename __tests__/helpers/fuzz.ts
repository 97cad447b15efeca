// Seeded mutation fuzzing for parsers of untrusted bytes: every case either decodes or is refused
// with one of the target's own error classes, quickly and without a memory blow-up. Anything else
// (another exception type, a case that takes seconds, memory that keeps growing) fails the run.
// Also the fuzz targets (fuzzTargets) and the LZFSE streams their seeds are built from, which the
// LZFSE unit tests build on too.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LzfseError, decodeLzfse } from '../../src/archive/lzfse.js'

/** A small seeded PRNG (mulberry32): the same seed gives the same cases on every machine. */
export class SeededRandom {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.uint32() / 0x1_0000_0000) * n)
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1)
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.uint32() & 0xff
    return out
  }
}

const EXTREME_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]

/** Values that break size arithmetic: zero, one, the signed and unsigned limits, and neighbours. */
function extremeU32(random: SeededRandom, length: number): number {
  return random.pick([
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    0xff,
    0x100,
    0xffff,
    0x10000,
    0x7fffffff,
    0x80000000,
    0xfffffffe,
    0xffffffff,
    length,
    length + 1,
    Math.max(0, length - 1),
    random.uint32(),
    random.below(Math.max(1, length * 2))
  ])
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

type Mutation = (random: SeededRandom, bytes: Uint8Array) => Uint8Array

const MUTATIONS: readonly Mutation[] = [
  function flipBit(random, bytes) {
    if (bytes.length === 0) return bytes
    const out = bytes.slice()
    out[random.below(out.length)] ^= 1 << random.below(8)
    return out
  },
  function overwriteBytes(random, bytes) {
    if (bytes.length === 0) return bytes
    const out = bytes.slice()
    const count = random.between(1, 4)
    for (let i = 0; i < count; i++) {
      const value = random.below(2) === 0 ? random.pick(EXTREME_BYTES) : random.below(256)
      out[random.below(out.length)] = value
    }
    return out
  },
  function truncate(random, bytes) {
    return bytes.slice(0, random.below(bytes.length + 1))
  },
  function insertBytes(random, bytes) {
    const at = random.below(bytes.length + 1)
    return concat(bytes.subarray(0, at), random.bytes(random.between(1, 16)), bytes.subarray(at))
  },
  function deleteBytes(random, bytes) {
    if (bytes.length === 0) return bytes
    const at = random.below(bytes.length)
    const end = Math.min(bytes.length, at + random.between(1, 16))
    return concat(bytes.subarray(0, at), bytes.subarray(end))
  },
  function corruptSizeField(random, bytes) {
    if (bytes.length < 4) return bytes
    const out = bytes.slice()
    const at = random.below(Math.floor(out.length / 4)) * 4
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
    // Formats differ in byte order (LZFSE headers are little-endian, pbze big-endian).
    view.setUint32(at, extremeU32(random, bytes.length), random.below(2) === 0)
    return out
  },
  function swapChunks(random, bytes) {
    if (bytes.length < 4) return bytes
    const size = random.between(1, Math.max(1, Math.floor(bytes.length / 4)))
    const first = random.below(bytes.length - 2 * size + 1)
    const second = first + size + random.below(bytes.length - first - 2 * size + 1)
    const out = bytes.slice()
    out.set(bytes.subarray(second, second + size), first)
    out.set(bytes.subarray(first, first + size), second)
    return out
  },
  function duplicateChunk(random, bytes) {
    if (bytes.length === 0) return bytes
    const from = random.below(bytes.length)
    const chunk = bytes.subarray(from, from + random.between(1, 64))
    const at = random.below(bytes.length + 1)
    return concat(bytes.subarray(0, at), chunk, bytes.subarray(at))
  }
]

/** One to four random mutations of `bytes` (which is left untouched). */
export function mutate(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  let out = bytes
  const count = random.between(1, 4)
  for (let i = 0; i < count; i++) out = random.pick(MUTATIONS)(random, out)
  return out === bytes ? bytes.slice() : out
}

type ErrorClass = abstract new (...args: any[]) => Error

export interface FuzzTarget {
  name: string
  /** Valid inputs that cases are mutated from. */
  seeds: Uint8Array[]
  /** The error classes that are a clean refusal of a malformed input. */
  cleanErrors: readonly ErrorClass[]
  /** Parses one input; `seedIndex` says which seed it was mutated from. */
  run(input: Uint8Array, seedIndex: number): void
}

export interface FuzzOptions {
  targets: readonly FuzzTarget[]
  /** Cases per target. */
  iterations: number
  seed: number
  /** Stop a target early (still counted as passing) once this much time has gone. */
  timeBudgetMs?: number
  /** A single case slower than this is a suspected hang. */
  caseLimitMs?: number
  /** Called before each case (a watchdog can name the case that never returns). */
  beforeCase?: (target: string, caseIndex: number) => void
  /** Growth of ArrayBuffer memory (or rss, 4× this) over the run's start that counts as a blow-up. */
  memoryLimitBytes?: number
}

export interface FuzzCounts {
  cases: number
  /** Inputs that parsed without an error. */
  accepted: number
  /** Inputs refused with a clean error. */
  refused: number
}

export interface FuzzReport {
  targets: Record<string, FuzzCounts>
  total: FuzzCounts
}

/** A case that did something other than parse or cleanly refuse; `input` reproduces it. */
export class FuzzFailure extends Error {
  constructor(
    readonly target: string,
    readonly caseIndex: number,
    readonly seed: number,
    readonly input: Uint8Array,
    readonly reason: string
  ) {
    super(
      `fuzz target ${target}, case ${caseIndex} (seed ${seed}, ${input.length}-byte input): ${reason}`
    )
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`
  return `non-Error thrown: ${String(error)}`
}

/** Runs `iterations` mutated cases per target; throws FuzzFailure on the first bad case. */
export function runFuzz(options: FuzzOptions): FuzzReport {
  const caseLimitMs = options.caseLimitMs ?? 2000
  const memoryLimit = options.memoryLimitBytes ?? 512 * 1024 * 1024
  const started = performance.now()
  const baseline = process.memoryUsage()
  const total: FuzzCounts = { cases: 0, accepted: 0, refused: 0 }
  const targets: Record<string, FuzzCounts> = {}

  for (const target of options.targets) {
    if (target.seeds.length === 0) throw new Error(`fuzz target ${target.name} has no seeds`)
    const counts: FuzzCounts = { cases: 0, accepted: 0, refused: 0 }
    targets[target.name] = counts
    const random = new SeededRandom(options.seed)
    for (let i = 0; i < options.iterations; i++) {
      if (options.timeBudgetMs !== undefined && performance.now() - started > options.timeBudgetMs)
        break
      const seedIndex = random.below(target.seeds.length)
      const input = mutate(random, target.seeds[seedIndex])
      const fail = (reason: string): never => {
        throw new FuzzFailure(target.name, i, options.seed, input, reason)
      }
      options.beforeCase?.(target.name, i)
      const before = performance.now()
      try {
        target.run(input, seedIndex)
        counts.accepted++
      } catch (error) {
        if (!target.cleanErrors.some((errorClass) => error instanceof errorClass))
          fail(`unexpected ${describe(error)}`)
        counts.refused++
      }
      counts.cases++
      const took = performance.now() - before
      if (took > caseLimitMs) fail(`took ${Math.round(took)} ms (suspected hang)`)
      // Every case (about 4 µs): an allocation sized from a corrupt field shows up right after.
      const now = process.memoryUsage()
      if (now.arrayBuffers - baseline.arrayBuffers > memoryLimit)
        fail(`ArrayBuffer memory grew by ${now.arrayBuffers - baseline.arrayBuffers} bytes`)
      if (now.rss - baseline.rss > 4 * memoryLimit)
        fail(`resident memory grew by ${now.rss - baseline.rss} bytes`)
    }
    total.cases += counts.cases
    total.accepted += counts.accepted
    total.refused += counts.refused
  }
  return { targets, total }
}

// LZFSE streams

const LZFSE_FIXTURES = fileURLToPath(new URL('../fixtures/lzfse/', import.meta.url))

/** The vectors in __tests__/fixtures/lzfse, made by Apple's encoder. */
export const LZFSE_VECTORS = [
  'text',
  'binary',
  'repetitive',
  'random',
  'tiny',
  'empty',
  'multiblock'
]

export function lzfseVector(name: string): { plain: Uint8Array; encoded: Uint8Array } {
  return {
    plain: new Uint8Array(readFileSync(`${LZFSE_FIXTURES}${name}.bin`)),
    encoded: new Uint8Array(readFileSync(`${LZFSE_FIXTURES}${name}.lzfse`))
  }
}

/** A bvx2 header's fields, read by hand here (independently of the decoder) to rebuild blocks. */
export interface BlockFields {
  rawBytes: number
  literalCount: number
  literalPayload: number
  matchCount: number
  literalBits: number
  literalStates: number[]
  lmdPayload: number
  lmdBits: number
  lState: number
  mState: number
  dState: number
  /** L (20), M (20), D (64) then literal (256) frequencies. */
  frequencies: number[]
  headerSize: number
}

function bits(value: bigint, from: number, count: number): number {
  return Number((value >> BigInt(from)) & ((1n << BigInt(count)) - 1n))
}

/** The packed frequency code, as the format defines it: the low bits say how long a code is. */
function unpackFrequencies(bytes: Uint8Array): number[] {
  let stream = 0n
  bytes.forEach((b, i) => (stream |= BigInt(b) << BigInt(8 * i)))
  const out: number[] = []
  let at = 0
  while (out.length < 360) {
    const low = bits(stream, at, 5)
    if ((low & 1) === 0) [out[out.length], at] = [(low >> 1) & 1, at + 2]
    else if ((low & 2) === 0) [out[out.length], at] = [2 + ((low >> 2) & 1), at + 3]
    else if ((low & 4) === 0) [out[out.length], at] = [4 + ((low >> 3) & 3), at + 5]
    else if ((low & 8) === 0) [out[out.length], at] = [8 + bits(stream, at + 4, 4), at + 8]
    else [out[out.length], at] = [24 + bits(stream, at + 4, 10), at + 14]
  }
  return out
}

export function readV2(stream: Uint8Array, at: number): BlockFields {
  const view = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength)
  if (view.toString('latin1', at, at + 4) !== 'bvx2') throw new Error(`no bvx2 block at byte ${at}`)
  const [v0, v1, v2] = [8, 16, 24].map((o) => view.readBigUInt64LE(at + o))
  const headerSize = bits(v2, 0, 32)
  return {
    rawBytes: view.readUInt32LE(at + 4),
    literalCount: bits(v0, 0, 20),
    literalPayload: bits(v0, 20, 20),
    matchCount: bits(v0, 40, 20),
    literalBits: bits(v0, 60, 3) - 7,
    literalStates: [0, 10, 20, 30].map((o) => bits(v1, o, 10)),
    lmdPayload: bits(v1, 40, 20),
    lmdBits: bits(v1, 60, 3) - 7,
    lState: bits(v2, 32, 10),
    mState: bits(v2, 42, 10),
    dState: bits(v2, 52, 10),
    frequencies: unpackFrequencies(stream.subarray(at + 32, at + headerSize)),
    headerSize
  }
}

/** The 772-byte bvx1 header: the same fields unpacked, little-endian, then the u16 frequencies. */
export function v1Header(
  fields: BlockFields,
  payloadBytes = fields.literalPayload + fields.lmdPayload
) {
  const out = Buffer.alloc(772)
  out.write('bvx1', 0, 'latin1')
  out.writeUInt32LE(fields.rawBytes, 4)
  out.writeUInt32LE(payloadBytes, 8)
  out.writeUInt32LE(fields.literalCount, 12)
  out.writeUInt32LE(fields.matchCount, 16)
  out.writeUInt32LE(fields.literalPayload, 20)
  out.writeUInt32LE(fields.lmdPayload, 24)
  out.writeInt32LE(fields.literalBits, 28)
  fields.literalStates.forEach((state, i) => out.writeUInt16LE(state, 32 + 2 * i))
  out.writeInt32LE(fields.lmdBits, 40)
  out.writeUInt16LE(fields.lState, 44)
  out.writeUInt16LE(fields.mState, 46)
  out.writeUInt16LE(fields.dState, 48)
  fields.frequencies.forEach((f, i) => out.writeUInt16LE(f, 50 + 2 * i))
  return new Uint8Array(out)
}

/** The bvx2 block at `at` re-expressed as a bvx1 block (same payload). */
export function asV1(
  stream: Uint8Array,
  at: number,
  change: Partial<BlockFields> = {}
): Uint8Array {
  const fields = { ...readV2(stream, at), ...change }
  const payloadAt = at + fields.headerSize
  const payload = stream.subarray(payloadAt, payloadAt + fields.literalPayload + fields.lmdPayload)
  return concat(v1Header(fields), payload)
}

// Fuzz targets

/** Streams to mutate, with their decoded size: the vectors, a bvx1 block, blocks of every kind. */
function lzfseSeeds(): { encoded: Uint8Array; size: number }[] {
  const vectors = LZFSE_VECTORS.map(lzfseVector)
  const [text, binary, , random, tiny] = vectors
  const withoutEnd = (stream: Uint8Array) => stream.subarray(0, stream.length - 4)
  const end = new TextEncoder().encode('bvx$')
  const mixed = concat(
    withoutEnd(tiny.encoded),
    asV1(text.encoded, 0),
    withoutEnd(random.encoded),
    withoutEnd(binary.encoded),
    end
  )
  return [
    ...vectors.map(({ plain, encoded }) => ({ encoded, size: plain.length })),
    { encoded: concat(asV1(text.encoded, 0), end), size: text.plain.length },
    {
      encoded: mixed,
      size: tiny.plain.length + text.plain.length + random.plain.length + binary.plain.length
    }
  ]
}

/** decodeLzfse over mutated streams, into an output of the seed's size and of a wrong size. */
export function lzfseFuzzTargets(): FuzzTarget[] {
  const seeds = lzfseSeeds()
  const encoded = seeds.map((seed) => seed.encoded)
  return [
    {
      name: 'lzfse',
      seeds: encoded,
      cleanErrors: [LzfseError],
      run(input, seedIndex) {
        decodeLzfse(input, new Uint8Array(seeds[seedIndex].size))
      }
    },
    {
      name: 'lzfse (wrong output size)',
      seeds: encoded,
      cleanErrors: [LzfseError],
      run(input, seedIndex) {
        const size = seeds[seedIndex].size
        const wrong = [size + 1, Math.max(0, size - 1), 2 * size + 7, size >>> 1]
        decodeLzfse(input, new Uint8Array(wrong[input.length % wrong.length]))
      }
    }
  ]
}

/** Every fuzz target: scripts/fuzz.ts runs these (add new targets here). */
export function fuzzTargets(): FuzzTarget[] {
  return [...lzfseFuzzTargets()]
}
