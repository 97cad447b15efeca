// The archive read whole, end to end through dist/index.js against the simulator: two builds of
// the same inputs have one content-id whatever their bytes (packaging time, owner, entry order,
// container, block size); other content has another; a damaged archive is refused before any
// request, naming the block and the byte; an archive without Manifest.json is a warning; an LZMA
// archive is checked as a block chain only.
import { readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { encodeLzfse } from '../../scripts/lzfse-encoder.js'
import { runAction, type ActionRun } from '../../scripts/run-action.js'
import {
  DEFAULT_PACKAGED_AT,
  MiB,
  archivedManifest,
  noise,
  pbzContainer,
  sampleEntryHeader,
  texturePack,
  writeSampleArchive,
  type ArchiveFileSpec,
  type SampleArchiveOptions
} from '../../scripts/sample-archive.js'
import { sampleManifest } from '../../scripts/sample-pack.js'
import { IDENTIFIER, inputsFor, setUp, type Harness } from '../helpers/simulator.js'

const MANIFEST = sampleManifest(IDENTIFIER)
const puts = (h: Harness) => h.sim.requests.filter((r) => r.method === 'PUT')
const fmt = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Text that compresses as level data does: the same records with other numbers. */
function levelText(size: number, variant = 0): Buffer {
  const records: string[] = []
  for (let i = 0; records.join(',\n').length < size; i++)
    records.push(
      `{ "id": ${i}, "type": "tree", "position": [${(i * 37) % 200}, 0, ${(i * 53) % 200}] }`
    )
  const text = Buffer.from(`[\n${records.join(',\n')}\n]\n`.padEnd(size, ' ').slice(0, size))
  text[size >> 1] ^= variant
  return text
}

/** Vertex-like bytes: compressible, but not trivially. */
function terrain(size: number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = ((i >> 4) * 7 + (i & 15) * (i >> 11)) & 0xff
  return bytes
}

/** The small pack's files: level text, terrain, an empty file, a texture of noise. */
function smallFiles(change: { byte?: boolean; rename?: boolean } = {}): ArchiveFileSpec[] {
  return [
    { path: 'Contents/Levels/Forest/layout.json', data: levelText(40_000, change.byte ? 1 : 0) },
    {
      path: `Contents/Levels/Forest/${change.rename ? 'terrain-2' : 'terrain'}.bin`,
      data: terrain(150_000)
    },
    { path: 'Contents/Levels/Forest/.keep', data: Buffer.alloc(0) },
    { path: 'Contents/Textures/bark_albedo.ktx2', data: { size: 60_000, fill: noise(7) } }
  ]
}

/** One build of the small pack: ba-package's defaults (LZFSE, 1 MiB blocks) unless overridden. */
function smallPack(overrides: Partial<SampleArchiveOptions> = {}): SampleArchiveOptions {
  return {
    manifest: MANIFEST,
    files: smallFiles(),
    links: [{ path: 'Contents/Levels/current', target: 'Forest' }],
    ...overrides
  }
}

async function build(h: Harness, name: string, options: SampleArchiveOptions): Promise<string> {
  const path = join(h.dir, name)
  await writeSampleArchive(path, options)
  return path
}

function release(
  h: Harness,
  archivePath: string,
  extra: Record<string, string> = {},
  env: Record<string, string> = {}
) {
  return runAction(inputsFor(h, { 'archive-path': archivePath, ...extra }), { env })
}

/** The `::error title=Invalid input::` annotation the run ended with. */
const inputError = (run: ActionRun) =>
  run.stdout.split('\n').find((l) => l.startsWith('::error title=Invalid input::'))

/** Refused as an input error before any request. */
function expectRefused(h: Harness, run: ActionRun): string {
  expect(run.exitCode).toBe(1)
  expect(h.sim.requests).toEqual([])
  const annotation = inputError(run)
  expect(annotation).toMatch(/^::error title=Invalid input::archive-path: '.*' /)
  return annotation!
}

// A pbz? container: a 12-byte header (magic, u64 BE block size), then blocks of a u64 BE raw size,
// a u64 BE stored size and the payload.

interface ChainBlock {
  /** Where its 16-byte header starts in the file. */
  headerAt: number
  payloadAt: number
  raw: number
  stored: number
}

/** The blocks of a pbz? archive, read here independently of the action. */
function chain(bytes: Buffer): { blockSize: number; blocks: ChainBlock[] } {
  const blocks: ChainBlock[] = []
  for (let at = 12; at < bytes.length;) {
    const raw = Number(bytes.readBigUInt64BE(at))
    const stored = Number(bytes.readBigUInt64BE(at + 8))
    blocks.push({ headerAt: at, payloadAt: at + 16, raw, stored })
    at += 16 + stored
  }
  return { blockSize: Number(bytes.readBigUInt64BE(4)), blocks }
}

/** `stream` in a pbz? container of `blockSize` blocks, each stored when it does not shrink. */
function pbz(stream: Buffer, letter: 'e' | 'z' | 'x', blockSize: number): Buffer {
  // No LZMA encoder here: a pbzx block's payload is a stand-in the action never decodes.
  return pbzContainer(
    stream,
    letter,
    blockSize,
    letter === 'e' ? encodeLzfse : (b) => deflateSync(b)
  )
}

interface StreamEntry {
  type: 'D' | 'F' | 'L'
  path: string
  data?: Buffer
}

/** A raw entry stream of `entries` as ba-package writes them; where each entry starts and ends. */
function entryStream(entries: StreamEntry[]) {
  const parts: Buffer[] = []
  const spans = new Map<string, { start: number; end: number }>()
  let at = 0
  for (const entry of entries) {
    const mode = entry.type === 'D' ? 0o755 : 0o644
    const header = sampleEntryHeader(
      { ...entry, mode, time: DEFAULT_PACKAGED_AT },
      { size: entry.data?.length }
    )
    parts.push(header, entry.data ?? Buffer.alloc(0))
    const end = at + header.length + (entry.data?.length ?? 0)
    spans.set(entry.path, { start: at, end })
    at = end
  }
  return { bytes: Buffer.concat(parts), spans }
}

/** The small pack's entries, written by hand (so an entry can be left out or cut). */
function packEntries(options: { manifest?: boolean } = {}): StreamEntry[] {
  return [
    { type: 'D', path: '' },
    { type: 'D', path: 'Contents' },
    { type: 'D', path: 'Contents/Levels' },
    { type: 'F', path: 'Contents/Levels/layout.json', data: levelText(40_000) },
    { type: 'F', path: 'Contents/Levels/terrain.bin', data: terrain(150_000) },
    ...(options.manifest === false
      ? []
      : [
          {
            type: 'F' as const,
            path: 'Manifest.json',
            data: archivedManifest({ manifest: MANIFEST, files: [] })
          }
        ])
  ]
}

describe('content-id', () => {
  test('rebuilds with other times, owner, entry order, container and block size have the same content-id, shown in the summary', async () => {
    const h = await setUp()
    const first = await release(h, await build(h, 'first.aar', smallPack()))
    expect(first.exitCode).toBe(0)
    const id = first.outputs['content-id']
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.parse(first.outputs.packs)[0]['content-id']).toBe(id)
    // The summary shows the identity's first 12 characters, the output all 64.
    expect(first.summary).toContain(`<code>${id.slice(0, 12)}</code>`)
    expect(first.summary).not.toContain(id)
    expect(first.stdout).toContain(`entries read whole, content ${id.slice(0, 12)}`)

    const rebuilds: [string, Partial<SampleArchiveOptions>][] = [
      [
        'zlib.aar',
        {
          container: 'zlib',
          blockSize: 64 * 1024,
          packagedAt: DEFAULT_PACKAGED_AT + 86_400,
          owner: { uid: 1001, gid: 121 },
          order: 'shuffled',
          seed: 3
        }
      ],
      [
        'raw.aar',
        { container: 'raw', packagedAt: DEFAULT_PACKAGED_AT + 3600.5, order: 'reversed' }
      ],
      [
        'lzfse-small-blocks.aar',
        {
          blockSize: 16 * 1024,
          owner: { uid: 0, gid: 0 },
          order: 'shuffled',
          seed: 11,
          fieldOrder: 'owner-first'
        }
      ]
    ]
    for (const [name, options] of rebuilds) {
      const before = puts(h).length
      const run = await release(h, await build(h, name, smallPack(options)))
      expect({ name, exitCode: run.exitCode, id: run.outputs['content-id'] }).toEqual({
        name,
        exitCode: 0,
        id
      })
      // The same content: the newest version is kept, nothing uploaded.
      expect(run.outputs.unchanged).toBe('true')
      expect(puts(h).length).toBe(before)
    }
  })

  test('a changed byte, a renamed file and a changed manifest field each give another content-id', async () => {
    const h = await setUp()
    const platforms = join(h.dir, 'Manifest-macOS.json')
    const macOS = sampleManifest(IDENTIFIER, ['iOS', 'macOS'])
    await writeFile(platforms, JSON.stringify(macOS, null, 2))
    const builds: [string, SampleArchiveOptions, Record<string, string>][] = [
      ['same.aar', smallPack(), {}],
      ['byte.aar', smallPack({ files: smallFiles({ byte: true }) }), {}],
      ['renamed.aar', smallPack({ files: smallFiles({ rename: true }) }), {}],
      ['platforms.aar', smallPack({ manifest: macOS }), { 'manifest-path': platforms }]
    ]
    const ids: string[] = []
    for (const [name, options, extra] of builds) {
      const run = await release(h, await build(h, name, options), extra)
      expect({ name, exitCode: run.exitCode }).toEqual({ name, exitCode: 0 })
      expect(run.outputs['content-id']).toMatch(/^[0-9a-f]{64}$/)
      ids.push(run.outputs['content-id'])
    }
    expect(new Set(ids).size).toBe(builds.length)
  })

  test('a 24 MiB LZFSE archive of many files has the content-id of its raw twin', async () => {
    const h = await setUp({ upload: { partSize: 8 * MiB } })
    const files = texturePack(24 * MiB, 5)
    expect(files.length).toBeGreaterThan(20)
    const lzfse = await build(h, 'textures.aar', { manifest: MANIFEST, files })
    const raw = await build(h, 'textures-raw.aar', {
      manifest: MANIFEST,
      files,
      container: 'raw',
      packagedAt: DEFAULT_PACKAGED_AT + 60
    })
    const first = await release(h, lzfse)
    expect(first.exitCode).toBe(0)
    expect(first.stdout).toMatch(
      /textures\.aar: [\d.]+ MiB compressed Apple Archive \(LZFSE\), \d+ entries read whole/
    )
    const twin = await release(h, raw)
    expect(twin.exitCode).toBe(0)
    expect(twin.outputs['content-id']).toMatch(/^[0-9a-f]{64}$/)
    expect(twin.outputs['content-id']).toBe(first.outputs['content-id'])
    expect(twin.outputs.unchanged).toBe('true')
  })
})

describe('refused before any request', () => {
  /** A small pack in 64 KiB blocks: three blocks, the last one partly full. */
  async function threeBlocks(h: Harness, container: 'lzfse' | 'zlib' = 'lzfse') {
    const path = await build(h, `damaged-${container}.aar`, {
      manifest: MANIFEST,
      files: [
        { path: 'Contents/Levels/Forest/layout.json', data: levelText(40_000) },
        { path: 'Contents/Levels/Forest/terrain.bin', data: terrain(150_000) }
      ],
      container,
      blockSize: 64 * 1024
    })
    const bytes = await readFile(path)
    const { blockSize, blocks } = chain(bytes)
    expect(blocks.length).toBe(3)
    // Every block is compressed (not stored), the last one holds less than a block.
    for (const block of blocks) expect(block.stored).toBeLessThan(block.raw)
    expect(blocks[2].raw).toBeLessThan(blockSize)
    return { path, bytes, blocks }
  }

  test('a damaged LZFSE block magic, naming the block and the byte', async () => {
    const h = await setUp()
    const { path, bytes, blocks } = await threeBlocks(h)
    const second = blocks[1]
    expect(bytes.toString('latin1', second.payloadAt, second.payloadAt + 4)).toBe('bvx2')
    bytes.write('bvx?', second.payloadAt, 'latin1')
    await writeFile(path, bytes)
    const annotation = expectRefused(h, await release(h, path))
    expect(annotation).toContain(
      `is a compressed Apple Archive (LZFSE) whose block 2 of 3 (its payload at byte ${fmt(second.payloadAt)}, ${fmt(second.stored)} bytes for ${fmt(second.raw)} decoded) is damaged: its LZFSE data block 1: unknown block magic`
    )
    expect(annotation).toMatch(new RegExp(`\\(at byte ${fmt(second.payloadAt)} of the file\\)\\.$`))
  })

  test('an archive cut short inside a block, naming the block and the byte', async () => {
    const h = await setUp()
    const { path, blocks } = await threeBlocks(h)
    const second = blocks[1]
    const cut = second.payloadAt + 100
    await truncate(path, cut)
    const annotation = expectRefused(h, await release(h, path))
    expect(annotation).toContain(
      `is a compressed Apple Archive (LZFSE) that is cut short inside block 2 at byte ${cut} of ${second.payloadAt + second.stored} (truncated).`
    )
  })

  const codecs = [
    ['LZFSE', 'lzfse'],
    ['zlib', 'zlib']
  ] as const

  /**
   * Declares `declared` raw bytes in the header of block `index` (0-based) of the small pack in
   * `container`, then checks the refusal names that block, how it decodes, and a byte inside it.
   */
  async function expectSizeRefused(
    container: 'lzfse' | 'zlib',
    index: number,
    change: number,
    decodes: (block: ChainBlock, declared: number) => string
  ): Promise<void> {
    const h = await setUp()
    const { path, bytes, blocks } = await threeBlocks(h, container)
    const block = blocks[index]
    const declared = block.raw + change
    bytes.writeBigUInt64BE(BigInt(declared), block.headerAt)
    await writeFile(path, bytes)
    const annotation = expectRefused(h, await release(h, path))
    const name = container === 'lzfse' ? 'LZFSE' : 'zlib'
    expect(annotation).toContain(
      `is a compressed Apple Archive (${name}) whose block ${index + 1} of ${blocks.length} (its payload at byte ${fmt(block.payloadAt)}, ${fmt(block.stored)} bytes for ${fmt(declared)} decoded) is damaged: `
    )
    expect(annotation).toMatch(new RegExp(decodes(block, declared)))
    const at = /\(at byte ([\d,]+) of the file\)\.$/.exec(annotation)?.[1]
    expect(Number(at?.replace(/,/g, ''))).toBeGreaterThanOrEqual(block.payloadAt)
    expect(Number(at?.replace(/,/g, ''))).toBeLessThan(block.payloadAt + block.stored)
  }

  test.each(codecs)(
    '%s: a block that decodes to fewer bytes than its header declares',
    (_name, container) =>
      expectSizeRefused(
        container,
        2,
        1000,
        (block, declared) => `decodes to only ${block.raw} of (its declared )?${declared} bytes`
      )
  )

  test.each(codecs)(
    '%s: a last block that decodes to more bytes than its header declares',
    (_name, container) =>
      // 16 bytes fewer: the stream still holds every entry header the earlier blocks announce.
      expectSizeRefused(
        container,
        2,
        -16,
        (_block, declared) => `decodes to more than (its declared )?${declared} bytes`
      )
  )

  // The walk of block 1 opens an entry that ends past the stream's declared end; the block that
  // decodes to more than it declares is the problem named, not a cut entry.
  test.each(codecs)(
    '%s: a middle block that decodes to more bytes than its header declares is named, not taken for a cut entry',
    (_name, container) =>
      expectSizeRefused(
        container,
        1,
        -1000,
        (_block, declared) => `decodes to more than (its declared )?${declared} bytes`
      )
  )

  test('an entry cut short inside an LZFSE archive, naming the entry, the block and the byte', async () => {
    const h = await setUp()
    const { bytes: stream, spans } = entryStream(packEntries())
    const terrainSpan = spans.get('Contents/Levels/terrain.bin')!
    const cut = terrainSpan.start + 100_000
    const blockSize = 64 * 1024
    const path = join(h.dir, 'cut.aar')
    await writeFile(path, pbz(stream.subarray(0, cut), 'e', blockSize))
    const count = Math.ceil(cut / blockSize)
    const lastRaw = cut - (count - 1) * blockSize
    const annotation = expectRefused(h, await release(h, path))
    expect(annotation).toContain(
      `is a compressed Apple Archive (LZFSE) whose decoded entry stream is cut short inside the entry for \`Contents/Levels/terrain.bin\` at byte ${cut} of ${terrainSpan.end} (in block ${count} of ${count}, at byte ${lastRaw} of its ${lastRaw} decoded bytes).`
    )
  })

  // About 123 GiB in ba-package's 1 MiB blocks, under Apple's 200 GB: no per-block spread of
  // arguments may overflow the stack.
  test('an archive of 200,000 blocks that hold no entries is an input error, not a stack overflow', async () => {
    const h = await setUp()
    // Stored blocks of one byte each (a zero: not an entry), in ba-package's 1 MiB container.
    const head = Buffer.alloc(12)
    head.write('pbze', 0, 'latin1')
    head.writeBigUInt64BE(BigInt(MiB), 4)
    const block = Buffer.alloc(17)
    block.writeBigUInt64BE(1n, 0)
    block.writeBigUInt64BE(1n, 8)
    const path = join(h.dir, 'many-blocks.aar')
    await writeFile(path, Buffer.concat([head, ...new Array<Buffer>(200_000).fill(block)]))
    const annotation = expectRefused(h, await release(h, path))
    expect(annotation).toContain(
      'is a compressed Apple Archive (LZFSE) whose decoded entry stream has 200000 bytes after its last entry (from byte 0) that are not an Apple Archive entry'
    )
    expect(annotation).toContain('(in block 1 of 200000, at byte 0 of its 1 decoded bytes).')
  })

  test('an embedded Manifest.json naming another pack', async () => {
    const h = await setUp()
    const other = { ...MANIFEST, assetPackID: 'desert-level-1' }
    const path = await build(h, 'desert.aar', smallPack({ manifest: other }))
    const annotation = expectRefused(h, await release(h, path, { 'manifest-path': '' }))
    expect(annotation).toContain(
      `'${path}' was built for another asset pack: its Manifest.json has "assetPackID": "desert-level-1", but asset-pack-identifier is "${IDENTIFIER}".`
    )
  })

  test('a manifest-path that differs from the Manifest.json inside', async () => {
    const h = await setUp()
    const onDemand = { ...MANIFEST, downloadPolicy: { onDemand: {} } }
    const path = await build(h, 'on-demand.aar', smallPack({ manifest: onDemand }))
    const annotation = expectRefused(h, await release(h, path))
    expect(annotation).toMatch(
      new RegExp(
        escapeRegExp(
          `'${path}' was built from another manifest than manifest-path '${h.pack.manifestPath}': they differ first in "downloadPolicy" ({"onDemand":{}} inside the archive, `
        ) +
          '.*' +
          escapeRegExp(' in Manifest.json).')
      )
    )
  })
})

describe('accepted with a note', () => {
  test('an archive without Manifest.json uploads with a warning annotation', async () => {
    const h = await setUp()
    const path = join(h.dir, 'no-manifest.aar')
    await writeFile(path, pbz(entryStream(packEntries({ manifest: false })).bytes, 'e', MiB))
    const run = await release(h, path)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.state).toBe('COMPLETE')
    expect(run.outputs['content-id']).toMatch(/^[0-9a-f]{64}$/)
    expect(run.stdout).toContain(
      `::warning::archive-path: '${path}' has no Manifest.json at its root (ba-package writes one)`
    )
    expect(puts(h).length).toBeGreaterThan(0)
  })

  test('an LZMA (pbzx) archive uploads with a one-line note in log and summary and no content-id', async () => {
    const h = await setUp()
    const path = join(h.dir, 'lzma.aar')
    await writeFile(path, pbz(entryStream(packEntries()).bytes, 'x', 64 * 1024))
    const run = await release(h, path)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.state).toBe('COMPLETE')
    expect(run.outputs['content-id']).toBeUndefined()
    expect(JSON.parse(run.outputs.packs)[0]['content-id']).toBeNull()
    const note =
      'lzma.aar: its LZMA blocks are checked as a chain only: this action has no LZMA decoder, so the contents, the Manifest.json inside and the content identity are not read.'
    expect(run.stdout.split('\n').filter((l) => l.includes('LZMA blocks'))).toEqual([note])
    expect(run.summary).toContain(note)
    expect(puts(h).length).toBeGreaterThan(0)
  })
})
