// One read of the whole archive, before any request: every block decoded to exactly its declared
// size, the entry stream walked to its exact end, every entry's data hashed, the Manifest.json
// inside kept, and the content identity computed. The blocks come decoded in order (blocks.ts);
// the walk goes through them, a header or a blob straddling blocks, and each entry's data is
// hashed as it passes, never gathered.
import { createHash, type Hash } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { canonicalJson, parseJsonc } from '../manifest.js'
import { formatCount } from '../format.js'
import { readContainer, type Container } from './container.js'
import { EntryWalker, type Entry, type EntrySink, type WalkProblem } from './entries.js'
import { contentIdentity, sha256Hex, type IdentityEntry } from './identity.js'
import { BlockDamage, BlockReader } from './blocks.js'

/** The Manifest.json that ba-package puts at the archive's root. */
export interface EmbeddedManifest {
  /** Its path in the archive, as written (`Manifest.json`). */
  path: string
  /** Its parsed value (JSON with comments, as the input manifest is read). */
  value: unknown
}

export interface ArchiveReading {
  /** What the file is: `Apple Archive (AA01)`, `compressed Apple Archive (LZFSE)`. */
  kind: string
  /** Bytes of the entry stream (decoded). */
  rawSize: number
  /** Blocks of a compressed archive (0 for a raw one). */
  blocks: number
  /** Entries read; 0 when the contents were not read. */
  entries: number
  /** Undefined when the archive has no Manifest.json entry or its contents were not read. */
  manifest?: EmbeddedManifest
  /** Hex SHA-256 of the content (see identity.ts); undefined when the contents were not read. */
  contentId?: string
  /** Why the contents were not read (a compression with no decoder here), for the log. */
  unread?: string
}

/** A Manifest.json larger than this is not a manifest. */
const MAX_MANIFEST_BYTES = 1024 * 1024
const ROOT_MANIFEST = /^manifest\.json$/i
const EMPTY_DIGEST = sha256Hex('')

class ReadProblem extends Error {}

/** Reads `path` (`size` bytes) whole; a problem is a sentence that follows the path. */
export async function readArchive(
  path: string,
  size: number
): Promise<ArchiveReading | { problem: string }> {
  const fd = openSync(path, 'r')
  try {
    return await readOpen(fd, size)
  } finally {
    closeSync(fd)
  }
}

/** readArchive on the file open as `fd`: the container, then every block through the walk. */
async function readOpen(fd: number, size: number): Promise<ArchiveReading | { problem: string }> {
  const container = readContainer(fd, size)
  if ('problem' in container) return container
  const { kind, blocks, rawSize, unreadable } = container
  const counted = container.raw ? 0 : blocks.length
  if (unreadable) return { kind, rawSize, blocks: counted, entries: 0, unread: unreadable }
  const contents = new Contents()
  const walker = new EntryWalker(rawSize, contents)
  const reader = new BlockReader(fd, blocks)
  try {
    for (const block of blocks) {
      const problem = walker.push(reader.read(block))
      if (problem) return { problem: describe(container, problem) }
      // A turn of the event loop between blocks: a read of gigabytes must not keep a
      // cancellation or a log line waiting.
      await new Promise(setImmediate)
    }
    const ended = walker.finish()
    if (ended) return { problem: describe(container, ended) }
    // The manifest first: its canonical form is its entry's digest in the identity.
    const manifest = contents.manifest()
    const contentId = contentIdentity(contents.entries)
    return { kind, rawSize, blocks: counted, entries: walker.entries, manifest, contentId }
  } catch (error) {
    if (error instanceof ReadProblem) return { problem: error.message }
    if (error instanceof BlockDamage) return { problem: blockProblem(container, error) }
    throw error
  }
}

/** A walk problem as a sentence, naming the block it is in for a compressed archive. */
function describe(container: Container, problem: WalkProblem): string {
  const { kind, blocks, raw } = container
  if (raw) return `is an ${kind} that ${problem.message}.`
  const block = blocks.find((b) => problem.at < b.streamOffset + b.rawSize) ?? blocks.at(-1)!
  return `is a ${kind} whose decoded entry stream ${problem.message} (in block ${block.index + 1} of ${blocks.length}, at byte ${problem.at - block.streamOffset} of its ${block.rawSize} decoded bytes).`
}

function blockProblem(container: Container, damage: BlockDamage): string {
  const { kind, blocks } = container
  const { block } = damage
  return `is a ${kind} whose block ${block.index + 1} of ${blocks.length} (its payload at byte ${formatCount(block.fileOffset)}, ${formatCount(block.storedSize)} bytes for ${formatCount(block.rawSize)} decoded) is damaged: ${damage.problem} (at byte ${formatCount(damage.fileOffset)} of the file).`
}

/** What the walk finds: each entry for the identity, its data hashed, and the manifest's bytes. */
class Contents implements EntrySink {
  readonly entries: IdentityEntry[] = []
  private manifestEntry?: Entry
  private manifestBytes?: Uint8Array
  private manifestLength = 0
  /** The running SHA-256 of the entry whose data is being read. */
  private hash?: Hash

  entry(entry: Entry): void {
    this.entries.push({ type: entry.type, path: entry.path, link: entry.link })
    const root = entry.path !== undefined && ROOT_MANIFEST.test(entry.path)
    if (root && entry.type === 'F' && !this.manifestEntry) {
      if (entry.dataSize > MAX_MANIFEST_BYTES)
        throw new ReadProblem(
          `holds a ${entry.path} of ${formatCount(entry.dataSize)} bytes, more than a manifest can be (at most ${formatCount(MAX_MANIFEST_BYTES)}).`
        )
      this.manifestEntry = entry
      this.manifestBytes = new Uint8Array(entry.dataSize)
    }
  }

  data(entry: Entry, bytes: Uint8Array, start: number, end: number, last: boolean): void {
    if (entry === this.manifestEntry) {
      this.manifestBytes!.set(bytes.subarray(start, end), this.manifestLength)
      this.manifestLength += end - start
      return
    }
    if (last && start === end && !this.hash) {
      this.entries[entry.index].digest = EMPTY_DIGEST
      return
    }
    // One entry's data at a time: the walk hands it on in order.
    this.hash ??= createHash('sha256')
    this.hash.update(bytes.subarray(start, end))
    if (last) {
      this.entries[entry.index].digest = this.hash.digest('hex')
      this.hash = undefined
    }
  }

  manifest(): EmbeddedManifest | undefined {
    if (!this.manifestEntry) return undefined
    const text = new TextDecoder().decode(this.manifestBytes)
    const parsed = parseJsonc(text)
    if ('problems' in parsed)
      throw new ReadProblem(`holds a ${this.manifestEntry.path} that ${parsed.problems[0]}`)
    const entry = this.entries[this.manifestEntry.index]
    entry.digest = sha256Hex(canonicalJson(parsed.value))
    return { path: this.manifestEntry.path!, value: parsed.value }
  }
}
