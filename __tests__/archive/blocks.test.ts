// Blocks read and decoded one after another: stored, LZFSE and zlib blocks give their exact bytes
// in reused buffers; a block that decodes to other than its declared size is a BlockDamage naming
// the block and the file offset.
import { randomBytes } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { encodeLzfse } from '../../scripts/lzfse-encoder.js'
import { BlockDamage, BlockReader } from '../../src/archive/blocks.js'
import type { Block, Codec } from '../../src/archive/container.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'blocks-test-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const text = (size: number, seed: number) =>
  Buffer.from(
    Array.from({ length: size }, (_, i) => `line ${seed}:${i % 97}\n`)
      .join('')
      .slice(0, size)
  )

/** A file of the payloads one after another (a gap of 16 bytes before each, as a pbz header). */
async function blockFile(
  blocks: { codec: Codec; raw: Buffer; payload?: Buffer; rawSize?: number }[]
): Promise<{ path: string; list: Block[] }> {
  const parts: Buffer[] = []
  const list: Block[] = []
  let fileOffset = 0
  let streamOffset = 0
  blocks.forEach(({ codec, raw, payload, rawSize }, index) => {
    const stored =
      payload ?? (codec === 'lzfse' ? encodeLzfse(raw) : codec === 'zlib' ? deflateSync(raw) : raw)
    parts.push(Buffer.alloc(16), stored)
    fileOffset += 16
    const size = rawSize ?? raw.length
    list.push({ index, fileOffset, storedSize: stored.length, rawSize: size, streamOffset, codec })
    fileOffset += stored.length
    streamOffset += size
  })
  const path = join(dir, `${list.length}-${Date.now()}-${Math.random()}.bin`)
  await writeFile(path, Buffer.concat(parts))
  return { path, list }
}

test('stored, LZFSE and zlib blocks come out as their exact bytes, in order', async () => {
  const raws = [randomBytes(5000), text(70_000, 1), text(40_000, 2), text(3, 3), randomBytes(1)]
  const codecs: Codec[] = ['stored', 'lzfse', 'zlib', 'lzfse', 'stored']
  const { path, list } = await blockFile(raws.map((raw, i) => ({ codec: codecs[i], raw })))
  const fd = openSync(path, 'r')
  const reader = new BlockReader(fd, list)
  try {
    list.forEach((block, i) => expect(Buffer.from(reader.read(block))).toEqual(raws[i]))
  } finally {
    closeSync(fd)
  }
})

test('the bytes handed on are valid until the next read, which reuses the buffer', async () => {
  const raws = [text(8000, 1), text(8000, 2)]
  const { path, list } = await blockFile(raws.map((raw) => ({ codec: 'lzfse' as const, raw })))
  const fd = openSync(path, 'r')
  const reader = new BlockReader(fd, list)
  try {
    const first = reader.read(list[0])
    expect(Buffer.from(first)).toEqual(raws[0])
    reader.read(list[1])
    expect(Buffer.from(first)).toEqual(raws[1])
  } finally {
    closeSync(fd)
  }
})

test.each([
  ['lzfse', 'decodes to only 999 of', 'its LZFSE data the stream decodes to only'],
  [
    'lzfse',
    'decodes to more than',
    'its LZFSE data block 1 (bvx2): the stream decodes to more than'
  ],
  ['zlib', 'decodes to only 999 of', 'decodes to only 1000 of its declared 1001 bytes'],
  ['zlib', 'decodes to more than', 'decodes to more than its declared 999 bytes']
] as const)('a %s block that %s its declared size is damage', async (codec, what, message) => {
  const raw = text(1000, 7)
  const rawSize = what.startsWith('decodes to only') ? 1001 : 999
  const payload = codec === 'lzfse' ? encodeLzfse(raw) : deflateSync(raw)
  const { path, list } = await blockFile([
    { codec: 'stored', raw: randomBytes(100) },
    { codec, raw, payload, rawSize }
  ])
  const fd = openSync(path, 'r')
  const reader = new BlockReader(fd, list)
  try {
    reader.read(list[0])
    const damage = (() => {
      try {
        reader.read(list[1])
      } catch (error) {
        return error
      }
    })()
    expect(damage).toBeInstanceOf(BlockDamage)
    expect((damage as BlockDamage).block).toBe(list[1])
    expect((damage as BlockDamage).problem).toContain(message)
    expect((damage as BlockDamage).fileOffset).toBeGreaterThanOrEqual(list[1].fileOffset)
  } finally {
    closeSync(fd)
  }
})

test('a damaged LZFSE block names the byte of the file where it is wrong', async () => {
  const raw = text(20_000, 9)
  const payload = Buffer.from(encodeLzfse(raw))
  payload.write('bvxQ', 0, 'latin1')
  const { path, list } = await blockFile([{ codec: 'lzfse', raw, payload }])
  const fd = openSync(path, 'r')
  const reader = new BlockReader(fd, list)
  try {
    expect(() => reader.read(list[0])).toThrow(BlockDamage)
    try {
      reader.read(list[0])
    } catch (error) {
      expect((error as BlockDamage).problem).toMatch(/unknown block magic "bvxQ"/)
      expect((error as BlockDamage).fileOffset).toBe(list[0].fileOffset)
    }
  } finally {
    closeSync(fd)
  }
})

test('a file shorter than its blocks say is an error, not a short block', async () => {
  const { path, list } = await blockFile([{ codec: 'stored', raw: randomBytes(100) }])
  const fd = openSync(path, 'r')
  const reader = new BlockReader(fd, [{ ...list[0], storedSize: 200, rawSize: 200 }])
  try {
    expect(() => reader.read({ ...list[0], storedSize: 200, rawSize: 200 })).toThrow(
      /the file ended at byte 116 while reading a block/
    )
  } finally {
    closeSync(fd)
  }
})
