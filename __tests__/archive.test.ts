// Archive checks (the entry walk, the block chain, what the file is) and checksums.
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveChecksums, hashFile, identifyArchive, parseEntryHeader } from '../src/archive.js'
import {
  blobField,
  entryHeader,
  fileEntryHeader,
  stringField,
  writeSparseArchive,
  type EntryField
} from '../scripts/sample-pack.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archive-test-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

async function file(name: string, bytes: Buffer): Promise<[string, number]> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return [path, bytes.length]
}

/** A pbz? stream: header (magic + block size), then blocks (raw size, compressed size, bytes). */
function pbz(blocks: Buffer[], letter = 'e', extra = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(12)
  header.write(`pbz${letter}`, 0, 'latin1')
  header.writeBigUInt64BE(4n * 1024n * 1024n, 4)
  const body = blocks.map((b) => {
    const h = Buffer.alloc(16)
    h.writeBigUInt64BE(BigInt(b.length), 0)
    h.writeBigUInt64BE(BigInt(b.length), 8)
    return Buffer.concat([h, b])
  })
  return Buffer.concat([header, ...body, extra])
}

const identify = async (name: string, bytes: Buffer) =>
  identifyArchive(...(await file(name, bytes)))

/** A file entry: header, then its contents. */
const fileEntry = (path: string, contents: Buffer) =>
  Buffer.concat([fileEntryHeader(path, contents.length), contents])

/** A raw archive of three entries: a directory, the manifest, a level file. */
const threeEntries = () =>
  Buffer.concat([
    entryHeader([['TYP1', Buffer.from('D')], stringField('PAT', '')]),
    fileEntry('manifest.json', Buffer.from('{"assetPackID":"forest"}')),
    fileEntry('Assets/level-7.bin', Buffer.alloc(5000, 9))
  ])

describe('raw Apple Archives: the entry chain is walked to the end of the file', () => {
  test('a whole multi-entry archive (AA01 and YAA1) is accepted and named', async () => {
    expect(await identify('three.aar', threeEntries())).toEqual({ kind: 'Apple Archive (AA01)' })
    const legacy = entryHeader([['TYP1', Buffer.from('F')], blobField('DAT', 3, 'B')], 'YAA1')
    expect(await identify('legacy.aar', Buffer.concat([legacy, Buffer.from('abc')]))).toEqual({
      kind: 'Apple Archive (YAA1)'
    })
  })

  test('cut inside an entry’s data: refused, naming the entry and where it breaks', async () => {
    const whole = threeEntries()
    const cut = whole.subarray(0, whole.length - 1000)
    expect(await identify('cut-data.aar', cut)).toEqual({
      problem: `is an Apple Archive (AA01) that is cut short inside the entry for \`Assets/level-7.bin\` at byte ${cut.length} of ${whole.length}.`
    })
    // Half of a valid archive, the case a first-header check let through.
    const half = whole.subarray(0, Math.floor(whole.length / 2))
    expect(await identify('half.aar', half)).toMatchObject({
      problem: expect.stringMatching(/cut short inside the entry for `Assets\/level-7\.bin`/)
    })
  })

  test('cut inside an entry header: refused, saying so', async () => {
    const whole = threeEntries()
    const lastHeaderStart = whole.length - 5000 - fileEntryHeader('Assets/level-7.bin', 0).length
    const cut = whole.subarray(0, lastHeaderStart + 10)
    expect(await identify('cut-header.aar', cut)).toEqual({
      problem: `is an Apple Archive (AA01) that is cut short inside the header of entry 3 at byte ${cut.length} of ${lastHeaderStart + fileEntryHeader('Assets/level-7.bin', 0).length}.`
    })
    const inPrefix = whole.subarray(0, lastHeaderStart + 3)
    expect(await identify('cut-prefix.aar', inPrefix)).toMatchObject({
      problem: expect.stringMatching(/cut short inside the header of entry 3/)
    })
  })

  test('bytes after the last entry are not an entry', async () => {
    const bytes = Buffer.concat([threeEntries(), Buffer.from('garbage!')])
    expect(await identify('trailing.aar', bytes)).toMatchObject({
      problem: expect.stringMatching(/has 8 bytes after its last entry .* "garb"/)
    })
  })
})

describe('entry headers, field by field', () => {
  const header = (...fields: EntryField[]) => entryHeader(fields)

  test('every subtype of the field table has its size; blobs add up', () => {
    const all = header(
      ['FLG*', Buffer.alloc(0)],
      ['UID1', Buffer.alloc(1)],
      ['MOD2', Buffer.alloc(2)],
      ['GID4', Buffer.alloc(4)],
      ['SIZ8', Buffer.alloc(8)],
      stringField('PAT', 'Assets/a.bin'),
      ['CKSF', Buffer.alloc(4)],
      ['SH1G', Buffer.alloc(20)],
      ['SH2H', Buffer.alloc(32)],
      ['SH3I', Buffer.alloc(48)],
      ['SH5J', Buffer.alloc(64)],
      ['MTMS', Buffer.alloc(8)],
      ['CTMT', Buffer.alloc(12)],
      blobField('XAT', 7, 'A'),
      blobField('DAT', 70_000, 'B'),
      blobField('HLC', 2 ** 33, 'C')
    )
    expect(parseEntryHeader(all)).toEqual({ path: 'Assets/a.bin', blobBytes: 7 + 70_000 + 2 ** 33 })
  })

  test('zero-length blobs are fine, in a header and in an archive', async () => {
    const empty = header(
      ['TYP1', Buffer.from('F')],
      stringField('PAT', 'empty'),
      blobField('DAT', 0)
    )
    expect(parseEntryHeader(empty)).toEqual({ path: 'empty', blobBytes: 0 })
    expect(await identify('empty-file.aar', Buffer.concat([empty, empty]))).toEqual({
      kind: 'Apple Archive (AA01)'
    })
  })

  test('a field that overruns the header is damage', () => {
    const whole = header(blobField('DAT', 5, 'C'))
    const short = Buffer.from(whole.subarray(0, whole.length - 3))
    short.writeUInt16LE(short.length, 4)
    expect(parseEntryHeader(short)).toBe('its field DATC overruns the header')
    const string = header(['PATP', Buffer.from([50, 0, 65])])
    expect(parseEntryHeader(string)).toBe('its field PATP overruns the header')
  })

  test('an unknown subtype, and a header size under 6, are damage', async () => {
    expect(parseEntryHeader(header(['ABCZ', Buffer.alloc(4)]))).toBe(
      "its field ABC has the unknown type 'Z'"
    )
    const tiny = Buffer.from('AA01\x04\x00', 'latin1')
    expect(await identify('tiny.aar', Buffer.concat([tiny, Buffer.alloc(20)]))).toEqual({
      problem:
        'is an Apple Archive (AA01) that has a damaged header for entry 1 at byte 0: its size is 4, under the 6 bytes of magic and size.'
    })
  })

  test('only headers are read: a 64 GiB sparse entry is walked without reading its blob', async () => {
    const path = join(dir, 'sparse.aar')
    const size = 64 * 1024 ** 3
    await writeSparseArchive(path, size)
    expect(await identifyArchive(path, size)).toEqual({ kind: 'Apple Archive (AA01)' })
    await rm(path)
  })
})

describe('compressed streams (pbz?): the block chain, and the compression named', () => {
  test.each([
    ['e', 'LZFSE'],
    ['z', 'zlib'],
    ['x', 'LZMA'],
    ['4', 'LZ4'],
    ['b', 'LZBITMAP']
  ])('pbz%s is a compressed Apple Archive (%s)', async (letter, name) => {
    expect(
      await identify(`c-${letter}.aar`, pbz([Buffer.alloc(50), Buffer.alloc(20)], letter))
    ).toEqual({
      kind: `compressed Apple Archive (${name})`
    })
  })

  test('a block cut off is truncated; bytes after the last block are said as such', async () => {
    const whole = pbz([Buffer.alloc(50)])
    expect(await identify('cut.aar', whole.subarray(0, whole.length - 10))).toEqual({
      problem: `is a compressed Apple Archive (LZFSE) that is cut short inside block 1 at byte ${whole.length - 10} of ${whole.length} (truncated).`
    })
    expect(
      await identify('longer.aar', pbz([Buffer.alloc(50)], 'e', Buffer.alloc(9, 0xff)))
    ).toEqual({
      problem: `is a compressed Apple Archive (LZFSE) that has 9 bytes after its last block (from byte ${whole.length}).`
    })
  })
})

test('ZIP (an Android .aar), AEA and unknown files are explained', async () => {
  expect(await identify('zip.aar', Buffer.from('PK\x03\x04....', 'latin1'))).toMatchObject({
    problem: expect.stringMatching(/Android/)
  })
  expect(await identify('aea.aar', Buffer.from('AEA1....', 'latin1'))).toMatchObject({
    problem: expect.stringMatching(/encrypted/)
  })
  expect(await identify('text.aar', Buffer.from('hello world'))).toMatchObject({
    problem: expect.stringMatching(/does not start with an Apple Archive signature/)
  })
})

test('one pass gives MD5, SHA-256 and the composite MD5 of the parts in partNumber order', async () => {
  const bytes = Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => i % 251))
  const [path] = await file('data.bin', bytes)
  const parts = [
    { partNumber: 2, offset: 300_000, length: 700_000 },
    { partNumber: 1, offset: 0, length: 300_000 }
  ]
  const digests = await hashFile(path, { sha256: true, parts })
  const md5 = (b: Buffer) => createHash('md5').update(b).digest()
  expect(digests.md5).toBe(md5(bytes).toString('hex'))
  expect(digests.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
  expect(digests.composite).toBe(
    createHash('md5')
      .update(Buffer.concat([md5(bytes.subarray(0, 300_000)), md5(bytes.subarray(300_000))]))
      .digest('hex')
  )
})

test('ArchiveChecksums hashes once, and again only to add SHA-256', async () => {
  const [path] = await file('once.bin', Buffer.alloc(1000, 3))
  const checksums = new ArchiveChecksums(path)
  const first = await checksums.get()
  expect(await checksums.get()).toBe(first)
  const withSha = await checksums.get(true)
  expect(withSha.sha256).toMatch(/^[0-9a-f]{64}$/)
  expect(checksums.known).toBe(withSha)
})
