// Seeded mutation fuzzing for parsers of untrusted bytes: every case either decodes or is refused
// with one of the target's own error classes, quickly and without a memory blow-up. Anything else
// (another exception type, a case that takes seconds, memory that keeps growing) fails the run.

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

function concat(...parts: Uint8Array[]): Uint8Array {
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
