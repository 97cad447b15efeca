// One read of the whole archive, before any request: every block decoded to exactly its declared
// size, the entry stream walked to its exact end, every entry's data hashed, the Manifest.json
// inside kept, and the content identity computed. Blocks decode on the pool's threads in any
// order; the main thread walks them in order (headers only: cheap) and sends each entry's data
// to the one thread that hashes that entry. A fixed set of buffers circulates, so memory is flat
// whatever the archive's size.
import { closeSync, openSync } from 'node:fs'
import { canonicalJson, parseJsonc } from '../manifest.js'
import { formatCount } from '../format.js'
import { readContainer, type Block, type Container } from './container.js'
import { EntryWalker, type Entry, type EntrySink, type WalkProblem } from './entries.js'
import { contentIdentity, sha256Hex, type IdentityEntry } from './identity.js'
import { NO_ENTRY, type Pieces } from './block-work.js'
import { BlockPool, defaultWorkers, type WorkerReply } from './pool.js'

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

export interface ReadOptions {
  /** Worker threads beside the main thread; 0 reads on the main thread only. */
  threads?: number
  /** With threads: 0, the hashing lanes the main thread keeps apart (for tests of the lanes). */
  lanes?: number
}

/**
 * A worker thread joins the read when there is decoding to share and enough of it: compressed
 * blocks of 16 MiB or more. It halves a compressed archive's read, but a worker is a whole Node.js
 * environment, and about 17 MB of it stay resident after it ends (V8 keeps its pages), so a raw
 * or stored archive — hashing only, which the main thread does at over 1 GiB/s — reads without.
 */
const WORKERS_FROM_BYTES = 16 * 1024 * 1024
/** Block buffers per thread: enough to keep every thread busy while the walk catches up. */
const BUFFERS_PER_THREAD = 2
/** At most this many bytes of block buffers (blocks larger than ba-package's 1 MiB get fewer). */
const BUFFER_BUDGET = 48 * 1024 * 1024
/** A Manifest.json larger than this is not a manifest. */
const MAX_MANIFEST_BYTES = 1024 * 1024
const ROOT_MANIFEST = /^manifest\.json$/i
const EMPTY_DIGEST = sha256Hex('')

class ReadProblem extends Error {}

/** Reads `path` (`size` bytes) whole; a problem is a sentence that follows the path. */
export async function readArchive(
  path: string,
  size: number,
  options: ReadOptions = {}
): Promise<ArchiveReading | { problem: string }> {
  const fd = openSync(path, 'r')
  let container: Container | { problem: string }
  try {
    container = readContainer(fd, size)
  } finally {
    closeSync(fd)
  }
  if ('problem' in container) return container
  const { kind, blocks, rawSize, unreadable } = container
  const counted = container.raw ? 0 : blocks.length
  if (unreadable) return { kind, rawSize, blocks: counted, entries: 0, unread: unreadable }
  const decoding = blocks.some((b) => b.codec !== 'stored')
  const workers =
    options.threads ?? (decoding && rawSize >= WORKERS_FROM_BYTES ? defaultWorkers() : 0)
  const pool = BlockPool.open(path, workers, options.lanes)
  try {
    const contents = new Contents()
    const walker = new EntryWalker(rawSize, contents)
    await readBlocks(container, pool, walker, contents)
    const ended = walker.finish()
    if (ended) throw new ReadProblem(describe(container, ended))
    // The manifest first: its canonical form is its entry's digest in the identity.
    const manifest = contents.manifest()
    const contentId = contentIdentity(contents.entries)
    return { kind, rawSize, blocks: counted, entries: walker.entries, manifest, contentId }
  } catch (error) {
    if (error instanceof ReadProblem) return { problem: error.message }
    throw error
  } finally {
    await pool.close()
  }
}

/** A walk problem as a sentence, naming the block it is in for a compressed archive. */
function describe(container: Container, problem: WalkProblem): string {
  const { kind, blocks, raw } = container
  if (raw) return `is an ${kind} that ${problem.message}.`
  const block = blocks.find((b) => problem.at < b.streamOffset + b.rawSize) ?? blocks.at(-1)!
  return `is a ${kind} whose decoded entry stream ${problem.message} (in block ${block.index + 1} of ${blocks.length}, at byte ${problem.at - block.streamOffset} of its ${block.rawSize} decoded bytes).`
}

function blockProblem(container: Container, block: Block, reply: WorkerReply): string {
  const { kind, blocks } = container
  return `is a ${kind} whose block ${block.index + 1} of ${blocks.length} (its payload at byte ${formatCount(block.fileOffset)}, ${formatCount(block.storedSize)} bytes for ${formatCount(block.rawSize)} decoded) is damaged: ${reply.problem!.problem} (at byte ${formatCount(reply.problem!.fileOffset)} of the file).`
}

/**
 * What the walk finds: each entry for the identity, the manifest's bytes, and, per block, the
 * pieces of data each hashing thread gets (an entry keeps its thread from its first piece on).
 */
class Contents implements EntrySink {
  readonly entries: IdentityEntry[] = []
  /** Pieces of the block being walked, per lane. */
  pieces: Pieces[] = []
  private readonly laneOf = new Map<number, number>()
  /** Bytes sent to each lane and not hashed yet. */
  readonly laneBytes: number[] = []
  manifestEntry?: Entry
  private manifestBytes?: Uint8Array
  private manifestLength = 0

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
    if (last && start === end && !this.laneOf.has(entry.index)) {
      this.entries[entry.index].digest = EMPTY_DIGEST
      return
    }
    const lane = this.laneFor(entry, end - start, last)
    ;(this.pieces[lane] ??= []).push(entry.index, start, end, last ? 1 : 0)
  }

  /** The lane that hashes `entry` (a new entry goes to the one with the least data waiting). */
  laneFor(entry: Entry, bytes: number, last: boolean): number {
    let lane = this.laneOf.get(entry.index)
    if (lane === undefined) {
      lane = this.laneBytes.indexOf(Math.min(...this.laneBytes))
      this.laneOf.set(entry.index, lane)
    }
    if (last) this.laneOf.delete(entry.index)
    this.laneBytes[lane] += bytes
    return lane
  }

  recordDigests(reply: WorkerReply): void {
    for (const [index, digest] of reply.digests ?? []) this.entries[index].digest = digest
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

/**
 * Decodes every block, walks them in order and hashes their data; resolves once every digest is
 * in. A block that the walk already knows to be all data of one entry (a texture's middle) goes
 * straight to that entry's lane, which decodes and hashes it there; the others come back to this
 * thread to be walked (a fixed number of buffers in flight), and their pieces go to the lanes.
 */
function readBlocks(
  container: Container,
  pool: BlockPool,
  walker: EntryWalker,
  contents: Contents
): Promise<void> {
  const { blocks } = container
  const capacity = container.largestBlock
  const count = Math.min(pool.lanes * BUFFERS_PER_THREAD, Math.floor(BUFFER_BUDGET / capacity))
  const free = Array.from({ length: Math.max(2, count) }, () => new ArrayBuffer(capacity))
  contents.laneBytes.push(...new Array<number>(pool.lanes).fill(0))
  const maxWorking = pool.lanes * (BUFFERS_PER_THREAD + 2)
  const decoded = new Map<number, ArrayBuffer>()
  /** Buffers for copies: as many as were ever out at once (a few), reused. */
  const spares: ArrayBuffer[] = []
  let dispatched = 0
  let walked = 0
  let working = 0
  return new Promise<void>((resolve, reject) => {
    // The first problem in the stream's order is the one reported, whichever thread found it
    // first: once one is found, nothing more is sent, and the jobs out are waited for.
    let failure: { block: number; error: unknown } | undefined
    const fail = (error: unknown, block: number) => {
      if (!failure || block < failure.block) failure = { block, error }
      if (!working) reject(failure.error)
    }
    const started = (job: Promise<WorkerReply>, block: Block, done: (r: WorkerReply) => void) => {
      working++
      job.then(
        (reply) => {
          working--
          if (reply.problem)
            return fail(new ReadProblem(blockProblem(container, block, reply)), block.index)
          contents.recordDigests(reply)
          done(reply)
          pump()
        },
        (error: unknown) => {
          working--
          fail(error, block.index)
        }
      )
    }
    const pump = () => {
      if (failure) return fail(failure.error, failure.block)
      try {
        while (decoded.has(walked)) walk(blocks[walked++])
        // Jobs out are bounded too: a gigabyte of one file's blocks is thousands of jobs, each
        // with its promises, that would otherwise all wait at once (and outlive the young heap).
        while (dispatched < blocks.length && working < maxWorking) {
          const block = blocks[dispatched]
          // Where the walk stands is known only once every earlier block is walked.
          if (walked === dispatched && sendWhole(block)) {
            dispatched = ++walked
            continue
          }
          if (!free.length) break
          dispatched++
          started(pool.decode(block, free.pop()!), block, (reply) =>
            decoded.set(block.index, reply.buffer!)
          )
        }
      } catch (error) {
        return fail(error, walked - 1)
      }
      if (walked === blocks.length && !working) resolve()
    }
    /** A block inside one blob goes whole to a thread; the walk passes over it. */
    const sendWhole = (block: Block): boolean => {
      const blob = walker.openBlob
      if (!blob || blob.left < block.rawSize || blob.entry === contents.manifestEntry) return false
      const last = blob.left === block.rawSize
      walker.skip(block.rawSize)
      // Only DAT is hashed; another blob's block (extended attributes) is still decoded, to check it.
      const data = blob.key === 'DAT'
      const lane = data ? contents.laneFor(blob.entry, block.rawSize, last) : 0
      const entry = data ? blob.entry.index : NO_ENTRY
      started(pool.decodeAndHash(lane, block, entry, last), block, () => {
        if (data) contents.laneBytes[lane] -= block.rawSize
      })
      return true
    }
    const walk = (block: Block) => {
      const buffer = decoded.get(block.index)!
      decoded.delete(block.index)
      contents.pieces = []
      const problem = walker.push(new Uint8Array(buffer, 0, block.rawSize))
      if (problem) throw new ReadProblem(describe(container, problem))
      hashPieces(block, buffer)
    }
    // The lane with the most data in this block takes the buffer; others get copies of their bytes,
    // in spare buffers kept for copies (a new megabyte per copy would pile up as garbage).
    const hashPieces = (block: Block, buffer: ArrayBuffer) => {
      const lanes = contents.pieces
        .map((pieces, lane) => ({ lane, pieces, bytes: pieceBytes(pieces) }))
        .filter((l) => l.pieces?.length)
        .sort((a, b) => b.bytes - a.bytes)
      if (!lanes.length) free.push(buffer)
      // Copies first: sending the buffer to its lane hands it over (detaches it here).
      const jobs = lanes.map(({ lane, pieces, bytes }, i) => ({
        lane,
        bytes,
        returnTo: i === 0 ? free : spares,
        ...(i === 0
          ? { buffer, pieces }
          : copyPieces(buffer, pieces, spares.pop() ?? new ArrayBuffer(capacity)))
      }))
      for (const job of jobs)
        started(pool.hash(job.lane, job.buffer, job.pieces), block, (reply) => {
          contents.laneBytes[job.lane] -= job.bytes
          job.returnTo.push(reply.buffer!)
        })
    }
    pump()
  })
}

function pieceBytes(pieces: Pieces | undefined): number {
  let bytes = 0
  for (let i = 0; pieces && i < pieces.length; i += 4) bytes += pieces[i + 2] - pieces[i + 1]
  return bytes
}

/** The bytes `pieces` name, copied into `into`, and the pieces rebased onto it. */
function copyPieces(
  buffer: ArrayBuffer,
  pieces: Pieces,
  into: ArrayBuffer
): { buffer: ArrayBuffer; pieces: Pieces } {
  const copy = new Uint8Array(into)
  const source = new Uint8Array(buffer)
  const rebased: Pieces = []
  for (let i = 0, at = 0; i < pieces.length; i += 4) {
    const [entry, start, end, last] = pieces.slice(i, i + 4)
    copy.set(source.subarray(start, end), at)
    rebased.push(entry, at, at + end - start, last)
    at += end - start
  }
  return { buffer: into, pieces: rebased }
}
