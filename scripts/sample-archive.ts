// Writes sample asset-pack archives laid out as ba-package 2.0 writes them, for tests and the
// benchmark: a `pbze` container (1 MiB of entry stream per block, each block an LZFSE stream, or
// stored when that is not smaller) holding entries for the root, `Contents`, the directories and
// files under it, and `Manifest.json` with the `toolsVersion` ba-package adds. Entries carry
// owner, mode, flags and times; the root, `Contents` and `Manifest.json` the packaging time, files
// their own. Two real builds of the same inputs differ (the packaging time); this writer gives the
// same bytes for the same options. It streams: gigabytes never sit in memory.
import { open, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { encodeLzfse } from './lzfse-encoder.js'
import { blobField, entryHeader, stringField, type EntryField } from './sample-pack.js'

// Jest runs code in a vm context, where each global lookup (`Math`) in a hot loop is slow.
const { cos, floor, imul, max, min, round, sin } = Math

export interface ArchiveFileSpec {
  /** Under `Contents/`, e.g. `Contents/Levels/Forest/layout.json`. */
  path: string
  /** The contents, or their size and a generator. */
  data: Uint8Array | GeneratedData
  /** Modification time in seconds; default: the packaging time. */
  mtime?: number
}

/** Contents made as they are written: `fill` writes the bytes from `offset` on into `chunk`. */
export interface GeneratedData {
  size: number
  fill: Fill
}
type Fill = (chunk: Buffer, offset: number) => void

export interface SampleArchiveOptions {
  /** Written as `Manifest.json`, with `toolsVersion` added unless it has one or that is null. */
  manifest: Record<string, unknown>
  /** Entries for their parent directories are added. */
  files: ArchiveFileSpec[]
  /** Default `lzfse` (`pbze`). `raw` is the bare entry stream. */
  container?: 'raw' | 'lzfse' | 'zlib'
  /** Raw bytes per block; default 1 MiB. */
  blockSize?: number
  /** Packaging time in seconds, for the root, `Contents` and `Manifest.json`; default fixed. */
  packagedAt?: number
  /** Default 501/20. */
  owner?: { uid: number; gid: number }
  /**
   * Entry order. ba-package's own is not known: `sorted` (by path, so the root comes first) is
   * the default; `reversed` puts the root last; `shuffled` is a seeded shuffle.
   */
  order?: 'sorted' | 'reversed' | 'shuffled'
  /** The seed of `shuffled`; default 1. */
  seed?: number
  /** Symbolic links (`TYP L` with `LNK`), under `Contents/`. */
  links?: { path: string; target: string }[]
  /** Entry magic; default `AA01`. */
  magic?: 'AA01' | 'YAA1'
  /** Default `2.0`; null: none added. */
  toolsVersion?: string | null
  /**
   * Header field order. Default `type-first`: TYP, PAT, LNK, UID, GID, MOD, FLG, MTM, CTM, BTM,
   * DAT. `owner-first`: UID, GID, PAT, LNK, TYP, then the rest, as another public writer does.
   */
  fieldOrder?: 'type-first' | 'owner-first'
}

export interface SampleArchive {
  /** Bytes of the file written. */
  size: number
  /** Bytes of the entry stream. */
  rawSize: number
  /** `pbz?` blocks; 0 for a raw archive. */
  blocks: number
}

export const MiB = 1024 * 1024
/** 2026-05-28: ba-package 2.0 (Xcode 27) times. */
export const DEFAULT_PACKAGED_AT = 1_780_000_000
export const DEFAULT_TOOLS_VERSION = '2.0'
const FILE_MODE = 0o644
const DIRECTORY_MODE = 0o755
const LINK_MODE = 0o755

/** An unsigned integer field, as narrow as its value allows (`UID2` for 501, `GID1` for 20). */
export function uintField(key: string, value: number): EntryField {
  const width = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 2 ** 32 ? 4 : 8
  const bytes = Buffer.alloc(width)
  if (width === 8) bytes.writeBigUInt64LE(BigInt(value))
  else bytes.writeUIntLE(value, 0, width)
  return [`${key}${width}`, bytes]
}

/** A `T` timespec: int64 seconds, then int32 nanoseconds. */
export function timeField(key: string, seconds: number): EntryField {
  const whole = floor(seconds)
  const bytes = Buffer.alloc(12)
  bytes.writeBigInt64LE(BigInt(whole))
  bytes.writeInt32LE(min(999_999_999, round((seconds - whole) * 1e9)), 8)
  return [`${key}T`, bytes]
}

/** The blob subtype that holds `size`: `A` (u16), `B` (u32) or `C` (u64). */
export function blobSubtype(size: number): 'A' | 'B' | 'C' {
  return size < 0x10000 ? 'A' : size < 2 ** 32 ? 'B' : 'C'
}

type Data = ArchiveFileSpec['data']

interface PlannedEntry {
  type: 'D' | 'F' | 'L'
  path: string
  mode: number
  time: number
  link?: string
  data?: Data
}

const dataSize = (data: Data) => (data instanceof Uint8Array ? data.length : data.size)

/** One entry's header in the chosen field order. */
export function sampleEntryHeader(
  entry: { type: 'D' | 'F' | 'L'; path: string; link?: string; mode: number; time: number },
  options: Pick<SampleArchiveOptions, 'owner' | 'magic' | 'fieldOrder'> & { size?: number } = {}
): Buffer {
  const { uid, gid } = options.owner ?? { uid: 501, gid: 20 }
  const type: EntryField = ['TYP1', Buffer.from(entry.type)]
  const path = [stringField('PAT', entry.path)]
  if (entry.link !== undefined) path.push(stringField('LNK', entry.link))
  const owner = [uintField('UID', uid), uintField('GID', gid)]
  const fields: EntryField[] = [
    ...(options.fieldOrder === 'owner-first'
      ? [...owner, ...path, type]
      : [type, ...path, ...owner]),
    ['MOD2', u16(entry.mode)],
    ['FLG4', Buffer.alloc(4)],
    timeField('MTM', entry.time),
    timeField('CTM', entry.time),
    timeField('BTM', entry.time)
  ]
  if (options.size !== undefined)
    fields.push(blobField('DAT', options.size, blobSubtype(options.size)))
  return entryHeader(fields, options.magic ?? 'AA01')
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2)
  bytes.writeUInt16LE(value)
  return bytes
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = imul(state ^ (state >>> 15), state | 1)
    t ^= t + imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

function checkPath(path: string): void {
  const parts = path.split('/')
  if (
    parts[0] !== 'Contents' ||
    parts.length < 2 ||
    parts.some((p) => !p || p === '.' || p === '..')
  )
    throw new Error(`sample archive paths are under Contents/: ${JSON.stringify(path)}`)
}

/** The entries, parent directories included, in the requested order. */
function planEntries(options: SampleArchiveOptions, manifest: Buffer): PlannedEntry[] {
  const packagedAt = options.packagedAt ?? DEFAULT_PACKAGED_AT
  const entries = new Map<string, PlannedEntry>()
  const add = (entry: PlannedEntry) => {
    if (entries.has(entry.path)) throw new Error(`two entries for ${JSON.stringify(entry.path)}`)
    entries.set(entry.path, entry)
  }
  add({ type: 'D', path: '', mode: DIRECTORY_MODE, time: packagedAt })
  add({ type: 'D', path: 'Contents', mode: DIRECTORY_MODE, time: packagedAt })
  add({ type: 'F', path: 'Manifest.json', mode: FILE_MODE, time: packagedAt, data: manifest })
  for (const file of options.files) {
    checkPath(file.path)
    const time = file.mtime ?? packagedAt
    add({ type: 'F', path: file.path, mode: FILE_MODE, time, data: file.data })
  }
  for (const link of options.links ?? []) {
    checkPath(link.path)
    add({ type: 'L', path: link.path, mode: LINK_MODE, time: packagedAt, link: link.target })
  }
  // A directory under Contents is as new as the newest thing in it.
  const directories = new Map<string, number>()
  for (const entry of [...entries.values()]) {
    if (!entry.path.startsWith('Contents/')) continue
    const parts = entry.path.split('/')
    for (let depth = 2; depth < parts.length; depth++) {
      const path = parts.slice(0, depth).join('/')
      directories.set(path, max(directories.get(path) ?? 0, entry.time))
    }
  }
  for (const [path, time] of directories) {
    const existing = entries.get(path)
    if (existing && existing.type !== 'D')
      throw new Error(`${JSON.stringify(path)} is both a directory and a file or link`)
    if (!existing) add({ type: 'D', path, mode: DIRECTORY_MODE, time })
  }
  const sorted = [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
  if (options.order === 'reversed') return sorted.reverse()
  if (options.order === 'shuffled') {
    const random = seededRandom(options.seed ?? 1)
    for (let i = sorted.length - 1; i > 0; i--) {
      const j = floor(random() * (i + 1))
      ;[sorted[i], sorted[j]] = [sorted[j], sorted[i]]
    }
  }
  return sorted
}

/** The manifest as ba-package writes it into the archive: with its `toolsVersion`. */
export function archivedManifest(options: SampleArchiveOptions): Buffer {
  const manifest = { ...options.manifest }
  const toolsVersion =
    options.toolsVersion === undefined ? DEFAULT_TOOLS_VERSION : options.toolsVersion
  if (toolsVersion !== null && !('toolsVersion' in manifest)) manifest.toolsVersion = toolsVersion
  return Buffer.from(JSON.stringify(manifest, null, 2))
}

/** Gathers the entry stream into blocks and writes them, compressed or as they are. */
class ContainerWriter {
  private readonly block: Buffer
  private used = 0
  private position = 0
  rawSize = 0
  blocks = 0

  constructor(
    private readonly file: FileHandle,
    private readonly container: 'raw' | 'lzfse' | 'zlib',
    blockSize: number
  ) {
    this.block = Buffer.alloc(blockSize)
  }

  async start(): Promise<void> {
    if (this.container === 'raw') return
    const head = Buffer.alloc(12)
    head.write(this.container === 'lzfse' ? 'pbze' : 'pbzz', 0, 'latin1')
    head.writeBigUInt64BE(BigInt(this.block.length), 4)
    await this.write([head])
  }

  async put(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const n = min(this.block.length - this.used, bytes.length - at)
      this.block.set(bytes.subarray(at, at + n), this.used)
      this.used += n
      at += n
      if (this.used === this.block.length) await this.flush()
    }
  }

  /** `size` bytes from `fill`, generated straight into the block buffer. */
  async generate(size: number, fill: (chunk: Buffer, offset: number) => void): Promise<void> {
    for (let done = 0; done < size;) {
      const n = min(this.block.length - this.used, size - done)
      fill(this.block.subarray(this.used, this.used + n), done)
      this.used += n
      done += n
      if (this.used === this.block.length) await this.flush()
    }
  }

  async flush(): Promise<void> {
    if (!this.used) return
    const raw = this.block.subarray(0, this.used)
    this.rawSize += this.used
    this.used = 0
    if (this.container === 'raw') return this.write([raw])
    const encoded = this.container === 'lzfse' ? encodeLzfse(raw) : deflateSync(raw)
    // A block that does not shrink is stored as it is.
    const payload = encoded.length < raw.length ? encoded : raw
    this.blocks++
    await this.write([pbzBlockHeader(raw.length, payload.length), payload])
  }

  get size(): number {
    return this.position
  }

  private async write(buffers: Buffer[]): Promise<void> {
    const { bytesWritten } = await this.file.writev(buffers, this.position)
    this.position += bytesWritten
  }
}

/** A pbz? block's 16-byte header: its raw size and its stored size, u64 big-endian. */
export function pbzBlockHeader(rawSize: number, storedSize: number): Buffer {
  const header = Buffer.alloc(16)
  header.writeBigUInt64BE(BigInt(rawSize), 0)
  header.writeBigUInt64BE(BigInt(storedSize), 8)
  return header
}

/**
 * `stream` in a pbz? container held in memory (for tests): the 12-byte header (magic, u64 BE block
 * size), then blocks of `blockSize` raw bytes, each `encode`d and stored as it is when that is not
 * smaller, as ba-package does.
 */
export function pbzContainer(
  stream: Buffer,
  letter: string,
  blockSize: number,
  encode: (raw: Buffer) => Buffer
): Buffer {
  const head = Buffer.alloc(12)
  head.write(`pbz${letter}`, 0, 'latin1')
  head.writeBigUInt64BE(BigInt(blockSize), 4)
  const parts: Buffer[] = [head]
  for (let at = 0; at < stream.length; at += blockSize) {
    const raw = stream.subarray(at, at + blockSize)
    const encoded = encode(raw)
    const payload = encoded.length < raw.length ? encoded : raw
    parts.push(pbzBlockHeader(raw.length, payload.length), payload)
  }
  return Buffer.concat(parts)
}

/** Writes an archive at `path` as ba-package would (see SampleArchiveOptions for the choices). */
export async function writeSampleArchive(
  path: string,
  options: SampleArchiveOptions
): Promise<SampleArchive> {
  const entries = planEntries(options, archivedManifest(options))
  const file = await open(path, 'w')
  try {
    const writer = new ContainerWriter(file, options.container ?? 'lzfse', options.blockSize ?? MiB)
    await writer.start()
    for (const entry of entries) {
      const size = entry.data && dataSize(entry.data)
      await writer.put(sampleEntryHeader(entry, { ...options, size }))
      if (entry.data instanceof Uint8Array) await writer.put(entry.data)
      else if (entry.data) await writer.generate(entry.data.size, entry.data.fill)
    }
    await writer.flush()
    return { size: writer.size, rawSize: writer.rawSize, blocks: writer.blocks }
  } finally {
    await file.close()
  }
}

// Content for the builders below: deterministic from a seed, and any chunk can be made on its own,
// so a file of gigabytes is generated block by block as it is written.

/** Four pseudo-random bytes for word `index` of stream `seed` (a murmur3-style finaliser). */
function noiseWord(seed: number, index: number): number {
  let x = imul(index ^ imul(seed, 0x9e3779b9), 0x85ebca6b) ^ seed
  x = imul(x ^ (x >>> 16), 0x85ebca6b)
  x = imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** Incompressible bytes, like a compressed texture's payload. */
export function noise(seed: number): Fill {
  return (chunk, offset) => {
    let at = 0
    let position = offset
    const byte = (p: number) => (noiseWord(seed, floor(p / 4)) >>> (8 * (p % 4))) & 0xff
    while (position % 4 && at < chunk.length) chunk[at++] = byte(position++)
    for (let word = position / 4; at + 4 <= chunk.length; word++, at += 4, position += 4) {
      const x = noiseWord(seed, word)
      chunk[at] = x
      chunk[at + 1] = x >>> 8
      chunk[at + 2] = x >>> 16
      chunk[at + 3] = x >>> 24
    }
    while (at < chunk.length) chunk[at++] = byte(position++)
  }
}

/** `head`'s bytes, then `body`'s from its own offset 0. */
function withHead(head: Buffer, body: Fill): Fill {
  return (chunk, offset) => {
    const fromHead = max(0, min(head.length - offset, chunk.length))
    if (fromHead) head.copy(chunk, 0, offset, offset + fromHead)
    if (fromHead < chunk.length) body(chunk.subarray(fromHead), offset + fromHead - head.length)
  }
}

/** A KTX2-like texture: a small header (magic, size, format), then compressed-looking blocks. */
function texture(size: number, seed: number): GeneratedData {
  const head = Buffer.alloc(80)
  Buffer.from('\xabKTX 20\xbb\r\n\x1a\n', 'latin1').copy(head)
  head.writeUInt32LE(157, 12) // an ASTC 4×4 format number
  head.writeUInt32LE(2048, 20)
  head.writeUInt32LE(2048, 24)
  head.writeUInt32LE(size, 72)
  return { size, fill: withHead(head, noise(seed)) }
}

/** Vertex records (position, normal, uv: 32 bytes): smooth values, some low bits of noise. */
function mesh(size: number, seed: number): GeneratedData {
  const record = Buffer.alloc(32)
  const make = (index: number) => {
    const t = index / 64
    const jitter = (noiseWord(seed, index) & 0xff) / 25600
    record.writeFloatLE(sin(t) * 4 + jitter, 0)
    record.writeFloatLE(cos(t * 0.7) * 2, 4)
    record.writeFloatLE(t % 16, 8)
    record.writeFloatLE(round(sin(t) * 64) / 64, 12)
    record.writeFloatLE(0, 16)
    record.writeFloatLE(round(cos(t) * 64) / 64, 20)
    record.writeFloatLE((index % 256) / 256, 24)
    record.writeFloatLE(floor(index / 256) / 256, 28)
  }
  return {
    size,
    fill: (chunk, offset) => {
      for (let at = 0; at < chunk.length;) {
        const index = floor((offset + at) / 32)
        const from = (offset + at) % 32
        make(index)
        at += record.copy(chunk, at, from, min(32, from + chunk.length - at))
      }
    }
  }
}

const WORDS = (
  'the a you we they it this that there here now then never always again still only just ' +
  'forest river bridge tower gate harbor desert cave village castle market lantern key map ' +
  'sword shield torch rope boat storm night dawn fire stone gold silver shadow light ' +
  'guard captain merchant traveler keeper child elder witch smith sailor scout ' +
  'go come look find open close take give bring follow wait listen remember forget ' +
  'is was will be must can should could would have has had know think see hear ' +
  'old new dark bright quiet long small great lost hidden broken ancient strange ' +
  'to of in on at by from with over under through beyond before after and but or if when'
).split(' ')
const REGIONS = ['Forest', 'Desert', 'Caves', 'Harbor', 'Skyline', 'Swamp', 'Tundra', 'Ruins']
const KINDS = ['tree', 'rock', 'chest', 'door', 'torch', 'npc', 'spawn', 'trigger', 'bridge']
const LANGUAGES = ['en', 'fr', 'de', 'ja', 'es', 'it']
const SPEAKERS = ['guard', 'captain', 'merchant', 'keeper', 'elder', 'smith', 'sailor', 'scout']

const pick = <T>(random: () => number, list: T[]) => list[floor(random() * list.length)]
/** Words drawn with a skew towards the start of the list, as in natural text. */
const word = (random: () => number) => WORDS[floor(random() * random() * WORDS.length)]
const decimal = (random: () => number, scale: number) => round(random() * scale * 100) / 100

function sentence(random: () => number): string {
  const words = Array.from({ length: 3 + floor(random() * 12) }, () => word(random))
  return words.join(' ').replace(/^./, (c) => c.toUpperCase()) + pick(random, ['.', '.', '!', '?'])
}

interface TextShape {
  open: string
  item: (random: () => number, index: number) => string
  separator: string
  close: string
}

const SHAPES: Record<'level' | 'dialogue' | 'shader' | 'material', TextShape> = {
  level: {
    open: '{\n  "format": 3,\n  "entities": [\n',
    item: (random, id) =>
      `    { "id": ${id}, "type": "${pick(random, KINDS)}", "position": [${decimal(random, 200)}, ` +
      `${decimal(random, 10)}, ${decimal(random, 200)}], "rotation": ${floor(random() * 8) * 45}, ` +
      `"tags": ["${word(random)}", "${pick(random, REGIONS).toLowerCase()}"] }`,
    separator: ',\n',
    close: '\n  ]\n}\n'
  },
  dialogue: {
    open: '/* Dialogue. Keys: chapter.speaker.line */\n\n',
    item: (random, line) =>
      `"ch${floor(line / 200)}.${pick(random, SPEAKERS)}.${line}" = ` +
      `"${sentence(random)} ${random() < 0.5 ? sentence(random) : ''}";\n`,
    separator: '',
    close: ''
  },
  shader: {
    open: '#include <metal_stdlib>\nusing namespace metal;\n\n',
    item: (random, n) =>
      `fragment float4 ${word(random)}_${n}(VertexOut in [[stage_in]],\n` +
      `    texture2d<float> albedo [[texture(0)]], sampler s [[sampler(0)]]) {\n` +
      `  float4 color = albedo.sample(s, in.uv * ${decimal(random, 4)});\n` +
      `  color.rgb *= float3(${decimal(random, 1)}, ${decimal(random, 1)}, ${decimal(random, 1)});\n` +
      `  return color;\n}\n\n`,
    separator: '',
    close: ''
  },
  material: {
    open: '{\n  "materials": [\n',
    item: (random, id) =>
      `    { "name": "${word(random)}-${id}", "albedo": "${word(random)}_albedo.ktx2", ` +
      `"roughness": ${decimal(random, 1)}, "metallic": ${decimal(random, 1)} }`,
    separator: ',\n',
    close: '\n  ]\n}\n'
  }
}

/** The text document being written, kept while its chunks are asked for. */
let current: { key: object; bytes: Buffer } | undefined

/** A text document of exactly `size` bytes: whole items, then the close, then spaces. */
function textDocument(shape: TextShape, size: number, seed: number): GeneratedData {
  const key = {}
  const build = () => {
    const random = seededRandom(seed)
    const parts = [shape.open]
    let length = shape.open.length + shape.close.length
    for (let index = 0; ; index++) {
      const item = (index ? shape.separator : '') + shape.item(random, index)
      if (length + item.length > size) break
      parts.push(item)
      length += item.length
    }
    parts.push(shape.close, ' '.repeat(max(0, size - length)))
    return Buffer.from(parts.join('').slice(0, size), 'latin1')
  }
  return {
    size,
    fill: (chunk, offset) => {
      if (current?.key !== key) current = { key, bytes: build() }
      current.bytes.copy(chunk, 0, offset, offset + chunk.length)
    }
  }
}

/** Files of sizes in [min, max] (log-uniform) until `budget` bytes; the last one takes the rest. */
function spend(
  budget: number,
  smallest: number,
  largest: number,
  random: () => number,
  make: (size: number, index: number) => ArchiveFileSpec
): ArchiveFileSpec[] {
  const files: ArchiveFileSpec[] = []
  for (let left = budget, index = 0; left > 0; index++) {
    const size = min(left, round(smallest * (largest / smallest) ** random()))
    files.push(make(size, index))
    left -= size
  }
  return files
}

/** Modification times in the weeks before the default packaging time, with nanoseconds. */
const mtime = (random: () => number) =>
  DEFAULT_PACKAGED_AT - floor(random() * 40 * 86_400) - random()

/**
 * A texture-heavy pack of `totalBytes` of file contents (mixed content): 85% incompressible
 * textures of 2 to 8 MiB, 5% vertex data, 10% JSON (levels, materials).
 */
export function texturePack(totalBytes: number, seed: number): ArchiveFileSpec[] {
  const random = seededRandom(seed)
  const textures = round(totalBytes * 0.85)
  const meshes = round(totalBytes * 0.05)
  const text = totalBytes - textures - meshes
  const maps = ['albedo', 'normal', 'roughness']
  return [
    ...spend(textures, 2 * MiB, 8 * MiB, random, (size, i) => ({
      path: `Contents/Textures/${pick(random, REGIONS)}/${word(random)}-${i}_${maps[i % 3]}.ktx2`,
      data: texture(size, seed * 7919 + i),
      mtime: mtime(random)
    })),
    ...spend(meshes, 256 * 1024, 2 * MiB, random, (size, i) => ({
      path: `Contents/Meshes/${pick(random, REGIONS)}/${word(random)}-${i}.mesh`,
      data: mesh(size, seed * 104_729 + i),
      mtime: mtime(random)
    })),
    ...spend(text, 2048, 512 * 1024, random, (size, i) => ({
      path:
        i % 3
          ? `Contents/Levels/${pick(random, REGIONS)}/level-${i}.json`
          : `Contents/Materials/${word(random)}-${i}.json`,
      data: textDocument(i % 3 ? SHAPES.level : SHAPES.material, size, seed * 31 + i),
      mtime: mtime(random)
    }))
  ]
}

/**
 * A text-heavy pack of `totalBytes` of file contents: 50% JSON levels (16 KiB to 2 MiB), 35%
 * dialogue strings (8 KiB to 1 MiB), 15% Metal shader source (2 to 64 KiB).
 */
export function textPack(totalBytes: number, seed: number): ArchiveFileSpec[] {
  const random = seededRandom(seed)
  const levels = round(totalBytes * 0.5)
  const dialogue = round(totalBytes * 0.35)
  const shaders = totalBytes - levels - dialogue
  return [
    ...spend(levels, 16 * 1024, 2 * MiB, random, (size, i) => ({
      path: `Contents/Levels/${pick(random, REGIONS)}/level-${i}.json`,
      data: textDocument(SHAPES.level, size, seed * 31 + i),
      mtime: mtime(random)
    })),
    ...spend(dialogue, 8 * 1024, MiB, random, (size, i) => ({
      path: `Contents/Dialogue/${pick(random, LANGUAGES)}/chapter-${i}.strings`,
      data: textDocument(SHAPES.dialogue, size, seed * 37 + i),
      mtime: mtime(random)
    })),
    ...spend(shaders, 2048, 64 * 1024, random, (size, i) => ({
      path: `Contents/Shaders/${word(random)}-${i}.metal`,
      data: textDocument(SHAPES.shader, size, seed * 41 + i),
      mtime: mtime(random)
    }))
  ]
}

/** A pack as a project keeps it: the archive ba-package wrote and the Manifest.json beside it. */
export interface PackOnDisk {
  identifier: string
  archivePath: string
  manifestPath: string
  size: number
}

/**
 * A texture-heavy pack of `bytes` of content in `dir`: `seed` decides the content, `packagedAt`
 * only the bytes (another packaging time is a rebuild of the same content), as with ba-package.
 */
export async function writeTexturePack(
  dir: string,
  identifier: string,
  options: { bytes: number; seed: number; packagedAt?: number; manifest?: Record<string, unknown> }
): Promise<PackOnDisk> {
  const manifest = options.manifest ?? {
    assetPackID: identifier,
    downloadPolicy: { prefetch: { installationEventTypes: ['firstInstallation'] } },
    fileSelectors: [{ directory: 'Textures' }, { directory: 'Levels' }],
    platforms: ['iOS']
  }
  const manifestPath = join(dir, 'Manifest.json')
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2))
  const archivePath = join(dir, `${identifier}.aar`)
  const { size } = await writeSampleArchive(archivePath, {
    manifest,
    files: texturePack(options.bytes, options.seed),
    packagedAt: options.packagedAt
  })
  return { identifier, archivePath, manifestPath, size }
}
