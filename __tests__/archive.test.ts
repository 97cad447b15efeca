// Archive signatures and checksums.
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveChecksums, hashFile, identifyArchive } from '../src/archive.js'

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
function pbz(blocks: Buffer[], truncateBy = 0): Buffer {
  const header = Buffer.alloc(12)
  header.write('pbze', 0, 'latin1')
  header.writeBigUInt64BE(4n * 1024n * 1024n, 4)
  const body = blocks.map((b) => {
    const h = Buffer.alloc(16)
    h.writeBigUInt64BE(BigInt(b.length), 0)
    h.writeBigUInt64BE(BigInt(b.length), 8)
    return Buffer.concat([h, b])
  })
  const all = Buffer.concat([header, ...body])
  return all.subarray(0, all.length - truncateBy)
}

test('Apple Archive signatures are recognised; ZIP, AEA and truncated streams explained', async () => {
  expect(
    await identifyArchive(
      ...(await file(
        'raw.aar',
        Buffer.concat([Buffer.from('AA01\x06\x00', 'latin1'), Buffer.alloc(100)])
      ))
    )
  ).toEqual({ signature: 'AA01' })
  expect(
    await identifyArchive(
      ...(await file(
        'legacy.aar',
        Buffer.concat([Buffer.from('YAA1\x06\x00', 'latin1'), Buffer.alloc(10)])
      ))
    )
  ).toEqual({ signature: 'YAA1' })
  expect(
    await identifyArchive(...(await file('c.aar', pbz([Buffer.alloc(50), Buffer.alloc(20)]))))
  ).toEqual({ signature: 'pbzx-compressed' })
  expect(
    await identifyArchive(...(await file('cut.aar', pbz([Buffer.alloc(50)], 10))))
  ).toMatchObject({ problem: expect.stringMatching(/truncated/) })
  expect(
    await identifyArchive(...(await file('zip.aar', Buffer.from('PK\x03\x04....', 'latin1'))))
  ).toMatchObject({ problem: expect.stringMatching(/Android/) })
  expect(
    await identifyArchive(...(await file('aea.aar', Buffer.from('AEA1....', 'latin1'))))
  ).toMatchObject({ problem: expect.stringMatching(/encrypted/) })
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
