// Archives for the simulator's tests: processing reads an archive whole as Apple does, so an
// upload meant to be accepted is a real one (bytes that only start like one fail).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeSampleArchive } from '../../scripts/sample-archive.js'
import { fileEntryHeader } from '../../scripts/sample-pack.js'

const DATA_PATH = 'Contents/data.bin'

/** A raw Apple Archive (AA01) of exactly `size` bytes: one file entry filling it. */
export function rawArchive(size: number): Buffer {
  const data = size - fileEntryHeader(DATA_PATH, 0).length
  return Buffer.concat([fileEntryHeader(DATA_PATH, data), Buffer.alloc(data, 7)])
}

/** An LZFSE archive as ba-package writes it, with `manifest` as its Manifest.json. */
export async function packedArchive(manifest: Record<string, unknown>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'simulator-archive-'))
  try {
    const path = join(dir, 'pack.aar')
    const data = Buffer.from('level data '.repeat(200))
    await writeSampleArchive(path, { manifest, files: [{ path: DATA_PATH, data }] })
    return await readFile(path)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
