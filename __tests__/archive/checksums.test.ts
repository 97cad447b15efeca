// The commit's checksums: one pass for MD5, SHA-256 and the parts' composite MD5.
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveChecksums, hashFile } from '../../src/archive/index.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checksums-test-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

async function file(name: string, bytes: Buffer): Promise<[string, number]> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return [path, bytes.length]
}

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
