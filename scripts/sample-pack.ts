// Writes sample asset packs: a raw Apple Archive (AA01 entries: the manifest, then one file whose
// contents fill the archive to the requested size) and the Manifest.json it was "built" from.
// Shared by the demo, the tests and the benchmark. Large archives are streamed, never held whole.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'

export interface SamplePack {
  identifier: string
  archivePath: string
  manifestPath: string
  size: number
  md5: string
}

export function sampleManifest(assetPackID: string, platforms = ['iOS']): Record<string, unknown> {
  return {
    assetPackID,
    downloadPolicy: {
      prefetch: { installationEventTypes: ['firstInstallation', 'subsequentUpdate'] }
    },
    fileSelectors: [{ directory: 'Levels/Forest' }],
    platforms
  }
}

function field(key: string, subtype: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(key + subtype, 'latin1'), value])
}

function entryHeader(path: string, blobSize: number): Buffer {
  const name = Buffer.from(path)
  const pathLength = Buffer.alloc(2)
  pathLength.writeUInt16LE(name.length)
  const size = Buffer.alloc(8)
  size.writeBigUInt64LE(BigInt(blobSize))
  const fields = Buffer.concat([
    field('TYP', '1', Buffer.from('F')),
    field('PAT', 'P', Buffer.concat([pathLength, name])),
    field('DAT', 'C', size)
  ])
  const head = Buffer.alloc(6)
  head.write('AA01', 0, 'latin1')
  head.writeUInt16LE(6 + fields.length, 4)
  return Buffer.concat([head, fields])
}

/** A deterministic byte pattern (from `seed`), so the same call writes the same archive. */
function fill(buffer: Buffer, seed: number, offset: number): void {
  for (let i = 0; i < buffer.length; i++)
    buffer[i] = (Math.imul(offset + i, 2654435761) + seed) >>> 24
}

export async function writeSamplePack(
  dir: string,
  options: { identifier: string; size: number; seed?: number; platforms?: string[] }
): Promise<SamplePack> {
  const manifest = JSON.stringify(sampleManifest(options.identifier, options.platforms), null, 2)
  const manifestPath = join(dir, 'Manifest.json')
  await writeFile(manifestPath, manifest)
  const first = Buffer.concat([
    entryHeader('manifest.json', manifest.length),
    Buffer.from(manifest)
  ])
  const dataHeaderSize = entryHeader('Levels/Forest/data.bin', 0).length
  const dataSize = options.size - first.length - dataHeaderSize
  if (dataSize < 0)
    throw new Error(`a sample pack needs at least ${first.length + dataHeaderSize} bytes`)
  const archivePath = join(dir, `${options.identifier}.aar`)
  const out = createWriteStream(archivePath)
  const md5 = createHash('md5')
  const write = async (chunk: Buffer) => {
    md5.update(chunk)
    if (!out.write(chunk)) await once(out, 'drain')
  }
  await write(first)
  await write(entryHeader('Levels/Forest/data.bin', dataSize))
  const block = Buffer.alloc(4 * 1024 * 1024)
  for (let written = 0; written < dataSize; written += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, dataSize - written))
    fill(chunk, options.seed ?? 1, written)
    await write(Buffer.from(chunk))
  }
  out.end()
  await once(out, 'finish')
  return {
    identifier: options.identifier,
    archivePath,
    manifestPath,
    size: options.size,
    md5: md5.digest('hex')
  }
}
