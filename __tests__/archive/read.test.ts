// The whole read of an archive: containers, blocks decoded to their declared size, the entry
// stream walked across blocks, the manifest inside, and the content identity.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { encodeLzfse } from '../../scripts/lzfse-encoder.js'
import { pbzBlockHeader, pbzContainer } from '../../scripts/sample-archive.js'
import { readArchive, type ArchiveReading } from '../../src/archive/index.js'
import {
  blobField,
  entryHeader,
  fileEntryHeader,
  stringField,
  writeSparseArchive,
  type EntryField
} from '../../scripts/sample-pack.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'read-test-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

let files = 0
async function read(bytes: Buffer): Promise<ArchiveReading | { problem: string }> {
  const path = join(dir, `${++files}.aar`)
  await writeFile(path, bytes)
  return readArchive(path, bytes.length)
}

async function contentId(bytes: Buffer): Promise<string> {
  const result = await read(bytes)
  if ('problem' in result) throw new Error(result.problem)
  return result.contentId!
}

/** A pbz? container of `stream` in blocks of `blockSize` raw bytes, stored when not smaller. */
function pbz(
  stream: Buffer,
  { letter = 'z', blockSize = 64 * 1024, encode = (b: Buffer): Buffer => deflateSync(b) } = {}
): Buffer {
  return pbzContainer(stream, letter, blockSize, encode)
}

/** pbz? letters and their encoders: stored, LZFSE, zlib. */
const CODECS: [string, (b: Buffer) => Buffer][] = [
  ['-', (b) => b],
  ['e', encodeLzfse],
  ['z', (b) => deflateSync(b)]
]

interface PackOptions {
  time?: number
  uid?: number
  reversed?: boolean
  texture?: Buffer
  layoutName?: string
  manifest?: Record<string, unknown>
  manifestSpaces?: number
}

const TEXTURE = randomBytes(200_000)
const MANIFEST = {
  assetPackID: 'forest-level-2',
  downloadPolicy: { prefetch: { installationEventTypes: ['firstInstallation'] } },
  fileSelectors: [{ directory: 'Levels' }],
  platforms: ['iOS'],
  toolsVersion: '2.0'
}

/** A pack laid out as ba-package writes it: root, Contents, files, a link, Manifest.json. */
function pack(options: PackOptions = {}): Buffer {
  const time = Buffer.alloc(12)
  time.writeBigInt64LE(BigInt(options.time ?? 1_780_000_000))
  const owner = (uid: number): EntryField[] => [
    ['UID2', Buffer.from([uid & 0xff, uid >> 8])],
    ['GID1', Buffer.from([20])],
    ['MOD2', Buffer.from([0xa4, 0x01])],
    ['MTMT', time]
  ]
  const uid = options.uid ?? 501
  const dir = (path: string) =>
    entryHeader([['TYP1', Buffer.from('D')], stringField('PAT', path), ...owner(uid)])
  const file = (path: string, data: Buffer) =>
    Buffer.concat([
      entryHeader([
        ['TYP1', Buffer.from('F')],
        stringField('PAT', path),
        ...owner(uid),
        blobField('DAT', data.length, data.length < 65536 ? 'A' : 'B')
      ]),
      data
    ])
  const manifest = Buffer.from(
    JSON.stringify(options.manifest ?? MANIFEST, null, options.manifestSpaces ?? 2)
  )
  const entries = [
    dir(''),
    dir('Contents'),
    dir('Contents/Levels'),
    file(`Contents/Levels/${options.layoutName ?? 'layout.json'}`, Buffer.from('{"trees": 40}')),
    file('Contents/Levels/forest.ktx', options.texture ?? TEXTURE),
    entryHeader([
      ['TYP1', Buffer.from('L')],
      stringField('PAT', 'Contents/current'),
      stringField('LNK', 'Levels')
    ]),
    file('Manifest.json', manifest)
  ]
  return Buffer.concat(options.reversed ? entries.reverse() : entries)
}

describe('the content identity', () => {
  test('the same assets built twice have one identity: other times, owners, order, containers', async () => {
    const first = await contentId(pack())
    const again = [
      pack({ time: 1_790_000_000 }),
      pack({ uid: 1001 }),
      pack({ reversed: true }),
      pack({ manifestSpaces: 0 }),
      // Blocks of 7 bytes: every header and blob straddles blocks.
      pbz(pack(), { letter: '-', blockSize: 7, encode: (b) => b }),
      pbz(pack({ time: 1 })),
      pbz(pack({ reversed: true, uid: 7 }), { blockSize: 1000 })
    ]
    for (const bytes of again) expect(await contentId(bytes)).toBe(first)
  })

  test('any number of blocks, fewer or more than are read ahead, gives the same identity', async () => {
    const stream = pack()
    const expected = await contentId(stream)
    for (const blocks of [1, 2, 3, 4, 5, 9, 40]) {
      const blockSize = Math.ceil(stream.length / blocks)
      for (const [letter, encode] of CODECS)
        expect(await contentId(pbz(stream, { letter, blockSize, encode }))).toBe(expected)
    }
  })

  test('a changed byte, a renamed file or a changed manifest field gives another', async () => {
    const first = await contentId(pack())
    const changed = Buffer.from(TEXTURE)
    changed[123_456] ^= 1
    const others = await Promise.all(
      [
        pack({ texture: changed }),
        pack({ layoutName: 'layout2.json' }),
        pack({ manifest: { ...MANIFEST, platforms: ['iOS', 'visionOS'] } }),
        pack({ manifest: { ...MANIFEST, toolsVersion: '2.1' } })
      ].map(contentId)
    )
    expect(new Set([first, ...others]).size).toBe(5)
  })

  test('a raw archive: its kind, entries, the manifest inside (any case), and 64 hex digits', async () => {
    expect(await read(pack())).toEqual({
      kind: 'Apple Archive (AA01)',
      rawSize: pack().length,
      blocks: 0,
      entries: 7,
      manifest: { path: 'Manifest.json', value: MANIFEST },
      contentId: expect.stringMatching(/^[0-9a-f]{64}$/)
    })
    const lower = pack().toString('latin1').replace('Manifest.json', 'manifest.JSON')
    expect(await read(Buffer.from(lower, 'latin1'))).toMatchObject({
      manifest: { path: 'manifest.JSON', value: MANIFEST }
    })
  })

  test('an archive without a Manifest.json has an identity and no manifest', async () => {
    const bytes = Buffer.concat([fileEntryHeader('Contents/a', 3), Buffer.from('abc')])
    const result = await read(bytes)
    expect(result).toMatchObject({ entries: 1, contentId: expect.any(String) })
    expect(result).not.toHaveProperty('manifest.path')
  })

  test('a large sparse archive is read whole with flat buffers', async () => {
    const path = join(dir, 'sparse.aar')
    const size = 64 * 1024 ** 2
    await writeSparseArchive(path, size)
    expect(await readArchive(path, size)).toMatchObject({ entries: 1 })
    await rm(path)
  })
})

describe('damage is refused, saying where', () => {
  test('a block that decodes to fewer or more bytes than declared', async () => {
    const stream = pack()
    const payload = deflateSync(stream)
    const fewer = Buffer.concat([
      pbz(Buffer.alloc(0), { blockSize: 1 << 20 }),
      pbzBlockHeader(stream.length + 10, payload.length),
      payload
    ])
    expect(await read(fewer)).toEqual({
      problem: `is a compressed Apple Archive (zlib) whose block 1 of 1 (its payload at byte 28, ${payload.length.toLocaleString('en')} bytes for ${(stream.length + 10).toLocaleString('en')} decoded) is damaged: decodes to only ${stream.length} of its declared ${stream.length + 10} bytes (at byte 28 of the file).`
    })
    const more = Buffer.concat([
      pbz(Buffer.alloc(0), { blockSize: 1 << 20 }),
      pbzBlockHeader(stream.length - 10, payload.length),
      payload
    ])
    expect(await read(more)).toMatchObject({
      problem: expect.stringContaining(
        `decodes to more than its declared ${stream.length - 10} bytes`
      )
    })
  })

  test('a damaged payload names the block', async () => {
    const compressible = pack({ texture: Buffer.alloc(200_000, 7) })
    const bytes = pbz(compressible, { blockSize: 100_000 })
    const firstPayload = Number(bytes.readBigUInt64BE(12 + 8))
    const second = 12 + 16 + firstPayload
    bytes.fill(0xff, second + 16, second + 40)
    expect(await read(bytes)).toEqual({
      problem: expect.stringMatching(
        new RegExp(
          `whose block 2 of 3 \\(its payload at byte ${second + 16}, .*\\) is damaged: is not valid zlib data`
        )
      )
    })
  })

  test('an entry cut inside a compressed archive names the entry and the block', async () => {
    const stream = pack()
    const cut = stream.subarray(0, stream.length - 5000)
    const result = await read(pbz(cut, { blockSize: 100_000 }))
    expect(result).toMatchObject({
      problem: expect.stringMatching(
        /^is a compressed Apple Archive \(zlib\) whose decoded entry stream is cut short inside the entry for `Contents\/Levels\/forest.ktx` at byte \d+ of \d+ \(in block 2 of 2, at byte \d+ of its \d+ decoded bytes\)\.$/
      )
    })
  })

  test('raw archives: cut inside data or a header, bytes after the last entry, a damaged header', async () => {
    const whole = pack()
    const cut = whole.subarray(0, whole.length - 10)
    expect(await read(cut)).toEqual({
      problem: `is an Apple Archive (AA01) that is cut short inside the entry for \`Manifest.json\` at byte ${cut.length} of ${whole.length}.`
    })
    const headerStart = whole.lastIndexOf(Buffer.from('AA01'))
    expect(await read(whole.subarray(0, headerStart + 10))).toMatchObject({
      problem: expect.stringMatching(/cut short inside the header of entry 7 at byte \d+ of \d+\.$/)
    })
    expect(await read(Buffer.concat([whole, Buffer.from('garbage!')]))).toMatchObject({
      problem: expect.stringMatching(/has 8 bytes after its last entry .* "garb"/)
    })
    const tiny = Buffer.from('AA01\x04\x00', 'latin1')
    expect(await read(Buffer.concat([tiny, Buffer.alloc(20)]))).toEqual({
      problem:
        'is an Apple Archive (AA01) that has a damaged header for entry 1 at byte 0: its size is 4, under the 6 bytes of magic and size.'
    })
  })

  test('a Manifest.json inside that is not JSON', async () => {
    const bytes = Buffer.concat([fileEntryHeader('Manifest.json', 5), Buffer.from('{"a":')])
    expect(await read(bytes)).toEqual({
      problem: expect.stringMatching(/^holds a Manifest.json that is not valid JSON: .* line 1/)
    })
  })

  test('the block chain: cut off, bytes after the last block', async () => {
    const whole = pbz(pack(), { blockSize: 100_000 })
    expect(await read(whole.subarray(0, whole.length - 10))).toEqual({
      problem: `is a compressed Apple Archive (zlib) that is cut short inside block 3 at byte ${whole.length - 10} of ${whole.length} (truncated).`
    })
    expect(await read(Buffer.concat([whole, Buffer.alloc(9, 0xff)]))).toEqual({
      problem: `is a compressed Apple Archive (zlib) that has 9 bytes after its last block (from byte ${whole.length}).`
    })
  })

  test('ZIP (an Android .aar), AEA and unknown files are explained', async () => {
    expect(await read(Buffer.from('PK\x03\x04....', 'latin1'))).toMatchObject({
      problem: expect.stringMatching(/Android/)
    })
    expect(await read(Buffer.from('AEA1....', 'latin1'))).toMatchObject({
      problem: expect.stringMatching(/encrypted/)
    })
    expect(await read(Buffer.from('hello world'))).toMatchObject({
      problem: expect.stringMatching(/does not start with an Apple Archive signature/)
    })
  })
})

test.each([
  ['x', 'LZMA'],
  ['4', 'LZ4'],
  ['b', 'LZBITMAP'],
  ['m', 'LZRaven']
])(
  'pbz%s (%s) has no decoder here: its block chain is checked, its contents not read',
  async (letter, name) => {
    const bytes = pbz(pack(), { letter, encode: (b) => b.subarray(0, b.length - 1) })
    expect(await read(bytes)).toEqual({
      kind: `compressed Apple Archive (${name})`,
      rawSize: pack().length,
      blocks: 4,
      entries: 0,
      unread: `its ${name} blocks are checked as a chain only: this action has no ${name} decoder, so the contents, the Manifest.json inside and the content identity are not read`
    })
  }
)
