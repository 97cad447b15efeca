// Seeded mutation fuzzing for parsers of untrusted bytes: every case either decodes or is refused
// with one of the target's own error classes (or an asynchronous target's own refusal), quickly
// and without a memory blow-up. Anything else (another exception type, a case that takes seconds
// or never settles, memory that keeps growing) fails the run. Also the fuzz targets (fuzzTargets:
// the LZFSE decoder, the whole archive read) and the LZFSE streams their seeds are built from,
// which the LZFSE unit tests build on too.
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync, inflateSync } from 'node:zlib'
import { readArchive } from '../../src/archive/index.js'
import { LzfseError, decodeLzfse } from '../../src/archive/lzfse.js'
import { encodeLzfse } from '../../scripts/lzfse-encoder.js'
import {
  archivedManifest,
  noise,
  sampleEntryHeader,
  writeSampleArchive,
  type SampleArchiveOptions
} from '../../scripts/sample-archive.js'

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

/** How a case's input is made from a seed: `mutate` unless the target has its own. */
export type Mutator = (random: SeededRandom, seed: Uint8Array) => Uint8Array

export interface FuzzTarget {
  name: string
  /** Valid inputs that cases are mutated from. */
  seeds: Uint8Array[]
  /** The error classes that are a clean refusal of a malformed input. */
  cleanErrors: readonly ErrorClass[]
  /** Makes a case from a seed; default `mutate`. */
  mutate?: Mutator
  /** Parses one input; `seedIndex` says which seed it was mutated from. */
  run(input: Uint8Array, seedIndex: number): void
}

/**
 * A target whose parser is asynchronous (it reads a file, say): its cases are awaited one by one.
 * `run` resolves `refused` for an input refused without an exception (a `{ problem }` result).
 */
export interface AsyncFuzzTarget extends Omit<FuzzTarget, 'run'> {
  async: true
  run(input: Uint8Array, seedIndex: number): Promise<'accepted' | 'refused'>
  /** Called once the run is over (to remove temporary files). */
  close?(): Promise<void>
}

export type AnyFuzzTarget = FuzzTarget | AsyncFuzzTarget

export interface FuzzOptions<Target extends AnyFuzzTarget = FuzzTarget> {
  targets: readonly Target[]
  /** Cases per target (a number, or one per target). */
  iterations: number | ((target: Target) => number)
  seed: number
  /** Stop a target early (still counted as passing) once this much time has gone. */
  timeBudgetMs?: number
  /** A single case slower than this is a suspected hang. */
  caseLimitMs?: number
  /** An asynchronous case that has not settled after this long hangs (its promise may never settle). */
  hangLimitMs?: number
  /** Called before each case (a watchdog can name the case that never returns). */
  beforeCase?: (target: string, caseIndex: number) => void
  /** Called as each target ends, with its counts and how long its cases took. */
  afterTarget?: (target: string, counts: FuzzCounts, milliseconds: number) => void
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

/**
 * One target's cases: makes each input, counts its outcome and checks it (a clean error, its
 * time, memory since the run's start). The same for synchronous and asynchronous targets.
 */
class Cases {
  readonly counts: FuzzCounts = { cases: 0, accepted: 0, refused: 0 }
  input: Uint8Array = new Uint8Array(0)
  seedIndex = 0
  index = -1
  private readonly random: SeededRandom
  private readonly iterations: number
  private readonly mutator: Mutator
  private before = 0

  constructor(
    private readonly target: AnyFuzzTarget,
    private readonly options: FuzzOptions<any>,
    private readonly started: number,
    private readonly baseline: NodeJS.MemoryUsage
  ) {
    if (target.seeds.length === 0) throw new Error(`fuzz target ${target.name} has no seeds`)
    this.random = new SeededRandom(options.seed)
    const { iterations } = options
    this.iterations = typeof iterations === 'number' ? iterations : iterations(target)
    this.mutator = target.mutate ?? mutate
  }

  /** Makes the next case; false once the cases or the time budget are spent. */
  next(): boolean {
    const { timeBudgetMs } = this.options
    if (++this.index >= this.iterations) return false
    if (timeBudgetMs !== undefined && performance.now() - this.started > timeBudgetMs) return false
    this.seedIndex = this.random.below(this.target.seeds.length)
    this.input = this.mutator(this.random, this.target.seeds[this.seedIndex])
    this.options.beforeCase?.(this.target.name, this.index)
    this.before = performance.now()
    return true
  }

  fail(reason: string): never {
    throw new FuzzFailure(this.target.name, this.index, this.options.seed, this.input, reason)
  }

  /** The case ended with `outcome`, or threw `error` (undefined when it did not throw). */
  done(outcome: 'accepted' | 'refused' | undefined, error?: unknown): void {
    if (outcome) this.counts[outcome]++
    else if (this.target.cleanErrors.some((errorClass) => error instanceof errorClass))
      this.counts.refused++
    else this.fail(`unexpected ${describe(error)}`)
    this.counts.cases++
    const took = performance.now() - this.before
    if (took > (this.options.caseLimitMs ?? 2000))
      this.fail(`took ${Math.round(took)} ms (suspected hang)`)
    // Every case (about 4 µs): an allocation sized from a corrupt field shows up right after.
    const memoryLimit = this.options.memoryLimitBytes ?? 512 * 1024 * 1024
    const now = process.memoryUsage()
    if (now.arrayBuffers - this.baseline.arrayBuffers > memoryLimit)
      this.fail(`ArrayBuffer memory grew by ${now.arrayBuffers - this.baseline.arrayBuffers} bytes`)
    if (now.rss - this.baseline.rss > 4 * memoryLimit)
      this.fail(`resident memory grew by ${now.rss - this.baseline.rss} bytes`)
  }
}

function runSync(target: FuzzTarget, cases: Cases): void {
  while (cases.next()) {
    try {
      target.run(cases.input, cases.seedIndex)
    } catch (error) {
      cases.done(undefined, error)
      continue
    }
    cases.done('accepted')
  }
}

const HANG = Symbol('hang')

async function runAsync(target: AsyncFuzzTarget, cases: Cases, hangLimitMs: number) {
  while (cases.next()) {
    let outcome: 'accepted' | 'refused' | typeof HANG
    let timer: NodeJS.Timeout | undefined
    // The timer also keeps the process alive while a case waits on a promise that never settles.
    const hang = new Promise<typeof HANG>(
      (resolve) => (timer = setTimeout(resolve, hangLimitMs, HANG))
    )
    try {
      outcome = await Promise.race([target.run(cases.input, cases.seedIndex), hang])
    } catch (error) {
      cases.done(undefined, error)
      continue
    } finally {
      clearTimeout(timer)
    }
    if (outcome === HANG) cases.fail(`did not settle within ${hangLimitMs} ms (it hangs)`)
    cases.done(outcome)
  }
}

function addUp(report: FuzzReport, name: string, counts: FuzzCounts): void {
  report.targets[name] = counts
  report.total.cases += counts.cases
  report.total.accepted += counts.accepted
  report.total.refused += counts.refused
}

const emptyReport = (): FuzzReport => ({
  targets: {},
  total: { cases: 0, accepted: 0, refused: 0 }
})

/** Runs the cases of synchronous targets; throws FuzzFailure on the first bad case. */
export function runFuzz(options: FuzzOptions): FuzzReport {
  const started = performance.now()
  const baseline = process.memoryUsage()
  const report = emptyReport()
  for (const target of options.targets) {
    if ('async' in target) throw new Error(`${target.name} is asynchronous: use runFuzzAsync`)
    const cases = new Cases(target, options, started, baseline)
    const before = performance.now()
    runSync(target, cases)
    addUp(report, target.name, cases.counts)
    options.afterTarget?.(target.name, cases.counts, performance.now() - before)
  }
  return report
}

/**
 * Runs the cases of any targets: synchronous ones as runFuzz does, asynchronous ones awaited case
 * by case; rejects with FuzzFailure on the first bad case. Closes the targets that need it.
 */
export async function runFuzzAsync(options: FuzzOptions<AnyFuzzTarget>): Promise<FuzzReport> {
  const started = performance.now()
  const baseline = process.memoryUsage()
  const report = emptyReport()
  try {
    for (const target of options.targets) {
      const cases = new Cases(target, options, started, baseline)
      const before = performance.now()
      if ('async' in target) await runAsync(target, cases, options.hangLimitMs ?? 10_000)
      else runSync(target, cases)
      addUp(report, target.name, cases.counts)
      options.afterTarget?.(target.name, cases.counts, performance.now() - before)
    }
  } finally {
    for (const target of options.targets) if ('async' in target) await target.close?.()
  }
  return report
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

// Archives

const MiB = 1024 * 1024
const latin1 = (bytes: Uint8Array, from: number, to: number) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', from, to)
const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** A pbz? block as the chain lays it out: its header at `at`, its payload up to `end`. */
interface ChainBlock {
  at: number
  end: number
  raw: number
  stored: number
}

/** The whole blocks of a pbz? archive (none for any other input), read leniently. */
function chainBlocks(bytes: Uint8Array): ChainBlock[] {
  if (bytes.length < 12 || latin1(bytes, 0, 3) !== 'pbz') return []
  const blocks: ChainBlock[] = []
  for (let at = 12; at + 16 <= bytes.length;) {
    const raw = Number(view(bytes).getBigUint64(at))
    const stored = Number(view(bytes).getBigUint64(at + 8))
    const end = at + 16 + stored
    if (end > bytes.length) break
    blocks.push({ at, end, raw, stored })
    at = end
  }
  return blocks
}

/** The archive with its container header and `blocks` (whole, header and payload) in that order. */
function withBlocks(bytes: Uint8Array, blocks: ChainBlock[]): Uint8Array {
  const tail = blocks.length ? [] : [bytes.subarray(12)]
  return concat(bytes.subarray(0, 12), ...blocks.map((b) => bytes.subarray(b.at, b.end)), ...tail)
}

/** Sizes that break size arithmetic in a u64 field, around `near`. */
function extremeU64(random: SeededRandom, near: number): bigint {
  return random.pick([
    0n,
    1n,
    BigInt(Math.max(0, near - 1)),
    BigInt(near + 1),
    BigInt(near * 2),
    4095n,
    4096n,
    4097n,
    0xffffn,
    0x7fffffffn,
    0xffffffffn,
    0x1_0000_0000n + BigInt(near),
    BigInt(64 * MiB),
    BigInt(64 * MiB + 1),
    2n ** 53n,
    2n ** 63n,
    2n ** 64n - 1n,
    BigInt(random.uint32())
  ])
}

/** Another block size in the container header. */
function badContainerBlockSize(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  if (!chainBlocks(bytes).length) return bytes
  const out = bytes.slice()
  view(out).setBigUint64(4, extremeU64(random, Number(view(bytes).getBigUint64(4))))
  return out
}

/** Another raw or stored size in a block header. */
function badBlockSize(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  const blocks = chainBlocks(bytes)
  if (!blocks.length) return bytes
  const block = random.pick(blocks)
  const out = bytes.slice()
  const field = random.below(2)
  const near = random.pick([block.raw, block.stored])
  view(out).setBigUint64(block.at + 8 * field, extremeU64(random, near))
  return out
}

/** Two blocks swapped, one dropped, or one repeated: a whole chain with the stream out of order. */
function reorderBlocks(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  const blocks = chainBlocks(bytes)
  if (!blocks.length) return bytes
  const order = blocks.slice()
  const i = random.below(order.length)
  const j = random.below(order.length)
  const kind = random.below(3)
  if (kind === 0) [order[i], order[j]] = [order[j], order[i]]
  else if (kind === 1) order.splice(i, 1)
  else order.splice(j, 0, order[i])
  return withBlocks(bytes, order)
}

/** Entry headers' size fields: the header size after a magic, a blob's or a string's size. */
function badEntryField(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  const text = latin1(bytes, 0, bytes.length)
  const fields: { at: number; width: number }[] = []
  for (const match of text.matchAll(/AA01|YAA1|(DAT|XAT|ACL)([ABC])|(PAT|LNK)P/g)) {
    const at = match.index + 4
    const width = match[2] ? { A: 2, B: 4, C: 8 }[match[2]]! : 2
    if (at + width <= bytes.length) fields.push({ at, width })
  }
  if (!fields.length) return bytes
  const { at, width } = random.pick(fields)
  const out = bytes.slice()
  const old = Number(Buffer.from(out.buffer, out.byteOffset).readUIntLE(at, Math.min(width, 6)))
  const value = extremeU64(random, old) & ((1n << BigInt(8 * width)) - 1n)
  for (let b = 0; b < width; b++) out[at + b] = Number((value >> BigInt(8 * b)) & 0xffn)
  return out
}

/** A raw entry stream's mutations: the generic ones and its size fields. */
function mutateStream(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  return random.below(3) === 0 ? badEntryField(random, bytes) : mutate(random, bytes)
}

/**
 * A block's decoded bytes mutated and written back, compressed again (or stored) under a header
 * of their new size: damage to the entry stream that the container carries intact.
 */
function mutateInsideBlock(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  const blocks = chainBlocks(bytes)
  if (!blocks.length) return bytes
  const index = random.below(blocks.length)
  const block = blocks[index]
  const payload = bytes.subarray(block.at + 16, block.end)
  const letter = latin1(bytes, 3, 4)
  let raw: Uint8Array
  try {
    if (block.stored === block.raw) raw = payload
    else if (letter === 'z') raw = inflateSync(payload)
    else if (letter === 'e' && block.raw <= MiB) {
      raw = new Uint8Array(block.raw)
      decodeLzfse(payload, raw)
    } else return bytes
  } catch {
    return bytes
  }
  const changed = mutateStream(random, raw)
  // Stored a quarter of the time, and always past 64 KiB (encoding a large block takes a while).
  const encode = random.below(4) && changed.length <= 64 * 1024
  const encoded = !encode
    ? changed
    : letter === 'z'
      ? deflateSync(changed)
      : letter === 'e'
        ? encodeLzfse(changed)
        : changed
  const stored = encoded.length < changed.length ? encoded : changed
  const header = new Uint8Array(16)
  view(header).setBigUint64(0, BigInt(changed.length))
  view(header).setBigUint64(8, BigInt(stored.length))
  return concat(bytes.subarray(0, block.at), header, stored, bytes.subarray(block.end))
}

const ARCHIVE_MUTATIONS: readonly Mutation[] = [
  (random, bytes) => mutate(random, bytes),
  badEntryField,
  badBlockSize,
  badBlockSize,
  badContainerBlockSize,
  reorderBlocks,
  mutateInsideBlock,
  mutateInsideBlock
]

/**
 * An archive's mutations: bit flips, truncations and the other generic ones, bad sizes in the
 * container, its blocks and the entry headers, blocks swapped, dropped or repeated, and damage
 * inside a block's decoded bytes.
 */
export function mutateArchive(random: SeededRandom, bytes: Uint8Array): Uint8Array {
  let out = bytes
  const count = random.between(1, 3)
  for (let i = 0; i < count; i++) out = random.pick(ARCHIVE_MUTATIONS)(random, out)
  return out === bytes ? bytes.slice() : out
}

/** The small pack the archive seeds hold: text, a texture of noise, an empty file, a link. */
function smallPack(variant: number): SampleArchiveOptions {
  const level = Buffer.from(
    Array.from({ length: 60 }, (_, i) => `{ "id": ${i}, "kind": "tree", "x": ${i * 37} }`).join(
      ',\n'
    )
  )
  return {
    manifest: {
      assetPackID: 'forest-level-2',
      downloadPolicy: { prefetch: { installationEventTypes: ['firstInstallation'] } },
      fileSelectors: [{ directory: 'Levels' }],
      platforms: ['iOS']
    },
    files: [
      { path: 'Contents/Levels/Forest/layout.json', data: level },
      { path: 'Contents/Levels/Forest/.keep', data: new Uint8Array(0) },
      { path: 'Contents/Textures/bark.ktx2', data: { size: 5000, fill: noise(variant) } },
      { path: 'Contents/Audio/wind.caf', data: new Uint8Array(3000).map((_, i) => (i * i) >> 5) }
    ],
    links: [{ path: 'Contents/Levels/current', target: 'Forest' }],
    ...(variant === 1
      ? {}
      : { order: 'shuffled', seed: variant, fieldOrder: 'owner-first', magic: 'YAA1' })
  }
}

/** A pbze archive whose middle blocks are the LZFSE vectors, each all of one file's data. */
function vectorArchive(names: string[]): Uint8Array {
  const entry = (type: 'D' | 'F' | 'L', path: string, size?: number, link?: string) =>
    sampleEntryHeader({ type, path, link, mode: 0o644, time: 1_780_000_000 }, { size })
  const manifest = archivedManifest(smallPack(1))
  const head = new Uint8Array(12)
  head.set(Buffer.from('pbze', 'latin1'))
  view(head).setBigUint64(4, BigInt(MiB))
  const parts: Uint8Array[] = [head]
  const block = (raw: Uint8Array, payload: Uint8Array) => {
    const header = new Uint8Array(16)
    view(header).setBigUint64(0, BigInt(raw.length))
    view(header).setBigUint64(8, BigInt(payload.length))
    parts.push(header, payload)
  }
  const encoded = (raw: Uint8Array) => {
    const lzfse = encodeLzfse(raw)
    block(raw, lzfse.length < raw.length ? lzfse : raw)
  }
  let headers = concat(
    entry('D', ''),
    entry('D', 'Contents'),
    entry('F', 'Manifest.json', manifest.length),
    manifest,
    entry('D', 'Contents/Vectors')
  )
  for (const name of names) {
    const { plain, encoded: stream } = lzfseVector(name)
    encoded(concat(headers, entry('F', `Contents/Vectors/${name}.bin`, plain.length)))
    block(plain, stream)
    headers = new Uint8Array(0)
  }
  encoded(entry('L', 'Contents/current', undefined, 'Vectors'))
  return concat(...parts)
}

/** A problem as the action prints it: text, with no `undefined`, `NaN` or `[object …]` outside quotes. */
function isSentence(problem: unknown): boolean {
  if (typeof problem !== 'string' || !problem) return false
  const unquoted = problem.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  return !/\b(undefined|NaN)\b|\[object /.test(unquoted)
}

/**
 * readArchive (on the main thread, with two hashing lanes as worker threads would have) over
 * mutated archives: raw, pbze and pbzz written as ba-package writes them in 4 KiB blocks, and
 * pbze archives carrying the LZFSE vectors made by Apple's encoder. Each case ends in a reading
 * or a `{ problem }`; an exception, a promise that never settles or memory that keeps growing
 * fails it. Each case is written to its target's temporary file (rewritten in place), then read.
 */
export async function archiveFuzzTargets(): Promise<AsyncFuzzTarget[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-archive-'))
  const written = async (options: SampleArchiveOptions) => {
    const path = join(dir, 'seed.aar')
    await writeSampleArchive(path, { blockSize: 4096, ...options })
    return new Uint8Array(await readFile(path))
  }
  const seeds = async (container: 'raw' | 'lzfse' | 'zlib') => [
    await written({ ...smallPack(1), container }),
    await written({ ...smallPack(2), container, blockSize: 1024 })
  ]
  // Only the vectors that shrink: a block whose stream would not be smaller is stored.
  const vectors = LZFSE_VECTORS.filter((name) => {
    const { plain, encoded } = lzfseVector(name)
    return encoded.length < plain.length
  })
  const targets: [string, Uint8Array[]][] = [
    ['archive (raw)', await seeds('raw')],
    ['archive (pbze)', await seeds('lzfse')],
    ['archive (pbzz)', await seeds('zlib')],
    [
      'archive (pbze, LZFSE vectors)',
      [
        ...vectors.map((name) => vectorArchive([name])),
        vectorArchive(['text', 'repetitive', 'binary'])
      ]
    ]
  ]
  let open = targets.length
  return targets.map(([name, seeds], i) => {
    const path = join(dir, `case-${i}.aar`)
    // Rewritten in place: opening with O_TRUNC costs about a millisecond a case on some disks.
    const fd = openSync(path, 'w+')
    return {
      name,
      seeds,
      cleanErrors: [],
      async: true,
      mutate: mutateArchive,
      async run(input) {
        writeSync(fd, input, 0, input.length, 0)
        ftruncateSync(fd, input.length)
        const read = await readArchive(path, input.length)
        if ('problem' in read) {
          if (!isSentence(read.problem))
            throw new Error(`a problem that is not a sentence: ${JSON.stringify(read.problem)}`)
          return 'refused'
        }
        if (!read.unread && !/^[0-9a-f]{64}$/.test(read.contentId ?? ''))
          throw new Error(`read whole without a content identity: ${JSON.stringify(read)}`)
        return 'accepted'
      },
      async close() {
        closeSync(fd)
        if (--open === 0) await rm(dir, { recursive: true, force: true })
      }
    }
  })
}

/** Every fuzz target: scripts/fuzz.ts runs these (add new targets here). */
export async function fuzzTargets(): Promise<AnyFuzzTarget[]> {
  return [...lzfseFuzzTargets(), ...(await archiveFuzzTargets())]
}
