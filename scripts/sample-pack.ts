// Writes sample asset packs of an exact size: a raw Apple Archive laid out as ba-package lays it
// out (the root, Contents, Manifest.json with its toolsVersion, then one file under Contents whose
// contents fill the archive to the requested size; the root and Contents carry the packaging
// time) and the Manifest.json it was "built" from. The seed decides the content, the packaging
// time only the bytes: a rebuild is the same content in other bytes. Shared by the demo and the
// tests; scripts/sample-archive.ts writes compressed packs of many files. Large archives are
// streamed, never held whole.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { open, writeFile } from 'node:fs/promises'
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

/** An entry header field: the 3-letter key and its subtype letter, then the value's bytes. */
export type EntryField = [keyAndSubtype: string, value: Buffer]

/** A `P` (string) field: u16 little-endian length, then the bytes. */
export function stringField(key: string, text: string): EntryField {
  const bytes = Buffer.from(text)
  const length = Buffer.alloc(2)
  length.writeUInt16LE(bytes.length)
  return [`${key}P`, Buffer.concat([length, bytes])]
}

/** A blob field (`A`/`B`/`C`: u16/u32/u64 size); the blob's bytes follow the header. */
export function blobField(key: string, size: number, subtype: 'A' | 'B' | 'C' = 'C'): EntryField {
  const value = Buffer.alloc({ A: 2, B: 4, C: 8 }[subtype])
  if (subtype === 'A') value.writeUInt16LE(size)
  if (subtype === 'B') value.writeUInt32LE(size)
  if (subtype === 'C') value.writeBigUInt64LE(BigInt(size))
  return [`${key}${subtype}`, value]
}

/** One Apple Archive entry header: magic, u16 little-endian header size, then the fields. */
export function entryHeader(fields: EntryField[], magic = 'AA01'): Buffer {
  const body = Buffer.concat(
    fields.map(([key, value]) => Buffer.concat([Buffer.from(key, 'latin1'), value]))
  )
  const head = Buffer.alloc(6)
  head.write(magic, 0, 'latin1')
  head.writeUInt16LE(6 + body.length, 4)
  return Buffer.concat([head, body])
}

/** The header of a regular file entry whose contents (`DAT`) are `size` bytes. */
export function fileEntryHeader(path: string, size: number): Buffer {
  return entryHeader([['TYP1', Buffer.from('F')], stringField('PAT', path), blobField('DAT', size)])
}

/**
 * A sparse archive of `size` bytes: one file entry whose contents are zeros the file system does
 * not store, so a test can have a multi-gigabyte archive in an instant.
 */
export async function writeSparseArchive(path: string, size: number): Promise<void> {
  const header = fileEntryHeader(
    'Assets/sparse.bin',
    size - fileEntryHeader('Assets/sparse.bin', 0).length
  )
  const file = await open(path, 'w')
  try {
    await file.write(header, 0, header.length, 0)
    await file.truncate(size)
  } finally {
    await file.close()
  }
}

/** A deterministic byte pattern (from `seed`), so the same call writes the same archive. */
function fill(buffer: Buffer, seed: number, offset: number): void {
  for (let i = 0; i < buffer.length; i++)
    buffer[i] = (Math.imul(offset + i, 2654435761) ^ Math.imul(seed, 0x27d4eb2d)) >>> 24
}

/** The packaging time of sample packs, unless a test rebuilds one. */
const PACKAGED_AT = 1_780_000_000

/** A directory entry stamped with the packaging time, as ba-package writes the root and Contents. */
function directoryEntry(path: string, packagedAt: number): Buffer {
  const time = Buffer.alloc(12)
  time.writeBigInt64LE(BigInt(Math.floor(packagedAt)))
  return entryHeader([['TYP1', Buffer.from('D')], stringField('PAT', path), ['MTMT', time]])
}

const DATA_PATH = 'Contents/Levels/Forest/data.bin'

export async function writeSamplePack(
  dir: string,
  options: {
    identifier: string
    size: number
    /** The content: the same seed, the same files. */
    seed?: number
    platforms?: string[]
    /** The manifest, written beside the archive and inside it; default: sampleManifest(). */
    manifest?: Record<string, unknown>
    /** The packaging time (seconds): another one is a rebuild, other bytes of the same content. */
    packagedAt?: number
  }
): Promise<SamplePack> {
  const manifest = options.manifest ?? sampleManifest(options.identifier, options.platforms)
  const manifestPath = join(dir, 'Manifest.json')
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2))
  // ba-package adds its version to the manifest it puts in the archive.
  const inside = Buffer.from(JSON.stringify({ ...manifest, toolsVersion: '2.0' }, null, 2))
  const packagedAt = options.packagedAt ?? PACKAGED_AT
  const first = Buffer.concat([
    directoryEntry('', packagedAt),
    directoryEntry('Contents', packagedAt),
    fileEntryHeader('Manifest.json', inside.length),
    inside
  ])
  const dataHeaderSize = fileEntryHeader(DATA_PATH, 0).length
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
  await write(fileEntryHeader(DATA_PATH, dataSize))
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
