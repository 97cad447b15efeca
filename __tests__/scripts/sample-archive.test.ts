// The sample-archive writer: entries laid out as ba-package writes them, pbze/pbzz blocks of at
// most blockSize raw bytes (stored when they do not shrink) that decode to the raw entry stream.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'
import {
  DEFAULT_PACKAGED_AT,
  MiB,
  textPack,
  texturePack,
  writeSampleArchive,
  type ArchiveFileSpec,
  type GeneratedData,
  type SampleArchiveOptions
} from '../../scripts/sample-archive.js'
import { decodeLzfse } from '../../src/archive/lzfse.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sample-archive-test-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

interface Field {
  key: string
  value: Buffer
}

interface Entry {
  magic: string
  fields: Field[]
  type?: string
  path?: string
  link?: string
  data: Buffer
}

const VALUE_SIZES: Record<string, number> = { '1': 1, '2': 2, '4': 4, '8': 8, T: 12 }
const BLOB_SIZES: Record<string, number> = { A: 2, B: 4, C: 8 }

/** Walks a raw entry stream: it must end exactly after its last entry's blobs. */
function walk(stream: Buffer): Entry[] {
  const entries: Entry[] = []
  for (let at = 0; at < stream.length;) {
    const magic = stream.toString('latin1', at, at + 4)
    expect(['AA01', 'YAA1']).toContain(magic)
    const end = at + stream.readUInt16LE(at + 4)
    const entry: Entry = { magic, fields: [], data: Buffer.alloc(0) }
    let blobs = 0
    for (let f = at + 6; f < end;) {
      const key = stream.toString('latin1', f, f + 4)
      f += 4
      const size =
        key[3] === 'P' ? 2 + stream.readUInt16LE(f) : (VALUE_SIZES[key[3]] ?? BLOB_SIZES[key[3]])
      expect(size).toBeDefined()
      const value = stream.subarray(f, f + size)
      entry.fields.push({ key, value })
      if (key === 'TYP1') entry.type = value.toString('latin1')
      if (key === 'PATP') entry.path = value.toString('utf8', 2)
      if (key === 'LNKP') entry.link = value.toString('utf8', 2)
      if (BLOB_SIZES[key[3]]) blobs += value.readUIntLE(0, Math.min(6, size))
      f += size
    }
    entry.data = stream.subarray(end, end + blobs)
    expect(end + blobs).toBeLessThanOrEqual(stream.length)
    entries.push(entry)
    at = end + blobs
  }
  return entries
}

const field = (entry: Entry, key: string) => entry.fields.find((f) => f.key === key)?.value
const seconds = (time: Buffer | undefined) =>
  Number(time!.readBigInt64LE(0)) + time!.readInt32LE(8) / 1e9

interface Block {
  raw: number
  stored: number
  payload: Buffer
}

/** A pbz? container's letter and blocks. */
function blocksOf(archive: Buffer): { letter: string; blockSize: number; blocks: Block[] } {
  expect(archive.toString('latin1', 0, 3)).toBe('pbz')
  const blocks: Block[] = []
  for (let at = 12; at < archive.length;) {
    const raw = Number(archive.readBigUInt64BE(at))
    const stored = Number(archive.readBigUInt64BE(at + 8))
    blocks.push({ raw, stored, payload: archive.subarray(at + 16, at + 16 + stored) })
    at += 16 + stored
    expect(at).toBeLessThanOrEqual(archive.length)
  }
  return {
    letter: archive.toString('latin1', 3, 4),
    blockSize: Number(archive.readBigUInt64BE(4)),
    blocks
  }
}

function unpack(archive: Buffer): Buffer {
  const { letter, blocks } = blocksOf(archive)
  return Buffer.concat(
    blocks.map(({ raw, stored, payload }) => {
      if (raw === stored) return payload
      if (letter === 'z') return inflateSync(payload)
      const out = new Uint8Array(raw)
      decodeLzfse(payload, out)
      return Buffer.from(out)
    })
  )
}

const MANIFEST = { assetPackID: 'forest-levels', platforms: ['iOS'] }

let archives = 0
async function write(options: Partial<SampleArchiveOptions> = {}) {
  const path = join(dir, `${++archives}.aar`)
  const result = await writeSampleArchive(path, { manifest: MANIFEST, files: FILES, ...options })
  const bytes = await readFile(path)
  expect(result.size).toBe(bytes.length)
  return { ...result, bytes }
}

const counting = (size: number): GeneratedData => ({
  size,
  fill: (chunk, offset) => {
    for (let i = 0; i < chunk.length; i++) chunk[i] = (offset + i) % 251
  }
})

const FILES: ArchiveFileSpec[] = [
  { path: 'Contents/Levels/Forest/layout.json', data: Buffer.from('{"trees": 40}'), mtime: 1.75e9 },
  { path: 'Contents/Levels/Forest/big.bin', data: counting(70_000), mtime: 1_760_000_000.25 },
  { path: 'Contents/Audio/theme.caf', data: Buffer.alloc(3000, 1) }
]

describe('writeSampleArchive', () => {
  it('writes root, Contents, parent directories, files, links and Manifest.json, sorted', async () => {
    const { bytes, rawSize, blocks } = await write({
      container: 'raw',
      links: [{ path: 'Contents/current', target: 'Levels/Forest' }]
    })
    expect(rawSize).toBe(bytes.length)
    expect(blocks).toBe(0)
    const entries = walk(bytes)
    expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual([
      'D ',
      'D Contents',
      'D Contents/Audio',
      'F Contents/Audio/theme.caf',
      'D Contents/Levels',
      'D Contents/Levels/Forest',
      'F Contents/Levels/Forest/big.bin',
      'F Contents/Levels/Forest/layout.json',
      'L Contents/current',
      'F Manifest.json'
    ])
    const byPath = new Map(entries.map((e) => [e.path!, e]))
    const big = byPath.get('Contents/Levels/Forest/big.bin')!
    expect(big.fields.map((f) => f.key)).toEqual(
      'TYP1 PATP UID2 GID1 MOD2 FLG4 MTMT CTMT BTMT DATB'.split(' ')
    )
    expect(big.data.equals(Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251)))).toBe(
      true
    )
    expect(seconds(field(big, 'MTMT'))).toBe(1_760_000_000.25)
    const layout = byPath.get('Contents/Levels/Forest/layout.json')!
    expect(field(layout, 'DATA')!.readUInt16LE()).toBe(13)
    expect(layout.data.toString()).toBe('{"trees": 40}')
    expect(field(layout, 'UID2')!.readUInt16LE()).toBe(501)
    expect(field(layout, 'GID1')![0]).toBe(20)
    expect(field(layout, 'MOD2')!.readUInt16LE()).toBe(0o644)
    expect(field(byPath.get('Contents')!, 'MOD2')!.readUInt16LE()).toBe(0o755)
    // The packaging time on the root, Contents and the manifest; a directory is as new as its
    // newest file; a file without an mtime was made when it was packaged.
    for (const path of ['', 'Contents', 'Manifest.json', 'Contents/Audio/theme.caf'])
      expect(seconds(field(byPath.get(path)!, 'MTMT'))).toBe(DEFAULT_PACKAGED_AT)
    expect(seconds(field(byPath.get('Contents/Levels')!, 'BTMT'))).toBe(1_760_000_000.25)
    expect(byPath.get('Contents/current')!.link).toBe('Levels/Forest')
    expect(JSON.parse(byPath.get('Manifest.json')!.data.toString())).toEqual({
      ...MANIFEST,
      toolsVersion: '2.0'
    })
  })

  it('adds toolsVersion unless the manifest has one or it is null', async () => {
    const manifestOf = async (options: Partial<SampleArchiveOptions>) => {
      const entries = walk((await write({ container: 'raw', ...options })).bytes)
      return JSON.parse(entries.find((e) => e.path === 'Manifest.json')!.data.toString())
    }
    expect((await manifestOf({ toolsVersion: '2.1' })).toolsVersion).toBe('2.1')
    expect(await manifestOf({ manifest: { ...MANIFEST, toolsVersion: '1.0' } })).toEqual({
      ...MANIFEST,
      toolsVersion: '1.0'
    })
    expect(await manifestOf({ toolsVersion: null })).toEqual(MANIFEST)
  })

  it('orders entries as asked, and writes other magics, owners and field orders', async () => {
    const paths = async (options: Partial<SampleArchiveOptions>) =>
      walk((await write({ container: 'raw', ...options })).bytes).map((e) => e.path)
    const sorted = await paths({})
    expect(await paths({ order: 'reversed' })).toEqual([...sorted].reverse())
    const shuffled = await paths({ order: 'shuffled', seed: 3 })
    expect(shuffled).not.toEqual(sorted)
    expect([...shuffled].sort()).toEqual([...sorted].sort())
    expect(await paths({ order: 'shuffled', seed: 3 })).toEqual(shuffled)
    expect(await paths({ order: 'shuffled', seed: 4 })).not.toEqual(shuffled)

    const other = walk(
      (
        await write({
          container: 'raw',
          magic: 'YAA1',
          owner: { uid: 70_000, gid: 0 },
          fieldOrder: 'owner-first'
        })
      ).bytes
    )
    expect(new Set(other.map((e) => e.magic))).toEqual(new Set(['YAA1']))
    expect(other[0].fields.map((f) => f.key).slice(0, 4)).toEqual(['UID4', 'GID1', 'PATP', 'TYP1'])
    expect(field(other[0], 'UID4')!.readUInt32LE()).toBe(70_000)
  })

  it('is deterministic for the same options, and differs with the packaging time', async () => {
    const first = await write({ files: texturePack(MiB, 1) })
    const again = await write({ files: texturePack(MiB, 1) })
    expect(again.bytes.equals(first.bytes)).toBe(true)
    const later = await write({ files: texturePack(MiB, 1), packagedAt: DEFAULT_PACKAGED_AT + 1 })
    expect(later.bytes.equals(first.bytes)).toBe(false)
  })

  it.each(['lzfse', 'zlib'] as const)(
    'cuts the %s container into blocks of the raw stream, stored when they do not shrink',
    async (container) => {
      const files = [...texturePack(3 * MiB, 2), ...textPack(MiB, 2)]
      const raw = await write({ files, container: 'raw' })
      const packed = await write({ files, container, blockSize: 256 * 1024 })
      const { letter, blockSize, blocks } = blocksOf(packed.bytes)
      expect(letter).toBe(container === 'lzfse' ? 'e' : 'z')
      expect(blockSize).toBe(256 * 1024)
      expect(packed.blocks).toBe(blocks.length)
      expect(packed.rawSize).toBe(raw.bytes.length)
      // Every block is full but the last; headers and blobs straddle blocks.
      expect(blocks.slice(0, -1).every((b) => b.raw === blockSize)).toBe(true)
      expect(blocks.at(-1)!.raw).toBeLessThanOrEqual(blockSize)
      expect(blocks.some((b) => b.stored === b.raw)).toBe(true)
      expect(blocks.some((b) => b.stored < b.raw / 2)).toBe(true)
      expect(blocks.every((b) => b.stored <= b.raw)).toBe(true)
      if (container === 'lzfse')
        for (const b of blocks.filter((b) => b.stored < b.raw))
          expect(b.payload.toString('latin1', b.payload.length - 4)).toBe('bvx$')
      expect(unpack(packed.bytes).equals(raw.bytes)).toBe(true)
    }
  )

  it('defaults to pbze with 1 MiB blocks, and decodes with tiny blocks too', async () => {
    const files = textPack(2 * MiB + 5, 5)
    const raw = await write({ files, container: 'raw' })
    const packed = await write({ files })
    expect(blocksOf(packed.bytes)).toMatchObject({ letter: 'e', blockSize: MiB })
    expect(packed.blocks).toBe(Math.ceil(raw.bytes.length / MiB))
    expect(unpack(packed.bytes).equals(raw.bytes)).toBe(true)
    // Blocks of 7 bytes: every header and blob straddles blocks.
    const small = { files: [FILES[0]], links: [{ path: 'Contents/current', target: 'Levels' }] }
    const tiny = await write({ ...small, blockSize: 7 })
    expect(blocksOf(tiny.bytes).blocks.every((b) => b.raw <= 7)).toBe(true)
    expect(unpack(tiny.bytes).equals((await write({ ...small, container: 'raw' })).bytes)).toBe(
      true
    )
  })

  it('refuses paths outside Contents/ and two entries for one path', async () => {
    for (const path of ['Levels/a.json', 'Contents', 'Contents/../x', 'Contents//x'])
      await expect(write({ files: [{ path, data: Buffer.alloc(1) }] })).rejects.toThrow(
        'under Contents/'
      )
    await expect(write({ files: [FILES[0], FILES[0]] })).rejects.toThrow('two entries')
  })
})

describe('the pack builders', () => {
  it.each([
    ['texturePack', texturePack],
    ['textPack', textPack]
  ])('%s: exactly the bytes asked for, distinct paths under Contents/, by seed', (_name, build) => {
    const files = build(20 * MiB + 3, 7)
    const size = (f: ArchiveFileSpec) =>
      f.data instanceof Uint8Array ? f.data.length : f.data.size
    expect(files.reduce((sum, f) => sum + size(f), 0)).toBe(20 * MiB + 3)
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length)
    expect(files.every((f) => f.path.startsWith('Contents/'))).toBe(true)
    expect(build(20 * MiB + 3, 7).map((f) => f.path)).toEqual(files.map((f) => f.path))
    expect(build(20 * MiB + 3, 8).map((f) => f.path)).not.toEqual(files.map((f) => f.path))
  })

  it('generates the same bytes whatever the chunks, and whole JSON documents', () => {
    for (const file of [...texturePack(8 * MiB, 1).slice(0, 2), ...textPack(MiB, 1).slice(0, 2)]) {
      const data = file.data as GeneratedData
      const whole = Buffer.alloc(data.size)
      data.fill(whole, 0)
      const pieces = Buffer.alloc(data.size)
      for (let at = 0, step = 1; at < data.size; at += step, step = 1 + ((step * 7 + 3) % 100_003))
        data.fill(pieces.subarray(at, at + step), at)
      expect(pieces.equals(whole)).toBe(true)
      if (file.path.endsWith('.json')) expect(() => JSON.parse(whole.toString())).not.toThrow()
    }
  })
})
