// Where block work runs: on lanes, each a thread that decodes blocks and hashes the entries given
// to it, in order. The main thread is always one lane (it is otherwise idle while the archive is
// read); worker threads (the bundled dist/archive-worker/) add the others, so every core works.
// Buffers move to a lane and back without being copied.
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { BlockWork, type BlockProblem, type Digests, type Pieces } from './block-work.js'
import type { Block } from './container.js'

export type Job =
  | { kind: 'decode'; block: Block; buffer: ArrayBuffer }
  | { kind: 'hash'; buffer: ArrayBuffer; pieces: Pieces }
  | { kind: 'decode-and-hash'; block: Block; entry: number; last: boolean }

export type WorkerRequest = (Job & { id: number }) | { kind: 'close' }

export interface WorkerReply {
  id: number
  /** The buffer the job brought, handed back. */
  buffer?: ArrayBuffer
  problem?: BlockProblem
  digests?: Digests
  /** An exception the work did not expect (a read error): the read fails with it. */
  crash?: string
}

/** Does one job, on whichever thread `work` lives on. */
export function doJob(work: BlockWork, id: number, job: Job): WorkerReply {
  const buffer = 'buffer' in job ? job.buffer : undefined
  try {
    if (job.kind === 'decode') return { id, buffer, problem: work.decode(job.block, job.buffer) }
    if (job.kind === 'hash') return { id, buffer, digests: work.hash(job.buffer, job.pieces) }
    const result = work.decodeAndHash(job.block, job.entry, job.last)
    return Array.isArray(result) ? { id, digests: result } : { id, problem: result }
  } catch (error) {
    return { id, buffer, crash: String((error as Error)?.stack ?? error) }
  }
}

interface Lane {
  run(job: Job): Promise<WorkerReply>
  close(): Promise<void>
}

/**
 * The main thread: one job per turn of the event loop, so the workers' replies (and the walk they
 * let go on) are handled between jobs rather than after a whole queue of them.
 */
class MainThreadLane implements Lane {
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly work: BlockWork) {}

  run(job: Job): Promise<WorkerReply> {
    // Detached as a transfer to a worker detaches it: the read behaves the same on every lane.
    const sent = 'buffer' in job ? { ...job, buffer: handOver(job.buffer) } : job
    const done = this.queue.then(async () => {
      await new Promise(setImmediate)
      const reply = doJob(this.work, 0, sent)
      if (reply.crash) throw new Error(reply.crash)
      return reply
    })
    this.queue = done.catch(() => undefined)
    return done
  }

  async close(): Promise<void> {
    // The pool closes the file this lane shares with it.
  }
}

const handOver = (buffer: ArrayBuffer) => structuredClone(buffer, { transfer: [buffer] })

/** A worker thread running dist/archive-worker/ on the same file. */
class WorkerLane implements Lane {
  private readonly worker: Worker
  private readonly exited: Promise<unknown>
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }
  >()
  private nextId = 1

  constructor(path: string) {
    this.worker = new Worker(WORKER_BUNDLE, {
      workerData: { path },
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 }
    })
    this.worker.on('message', (reply: WorkerReply) => this.settle(reply))
    this.worker.on('error', (error) => this.failAll(error))
    // `once` rejects on 'error': a crashed worker has ended too.
    this.exited = once(this.worker, 'exit').catch(() => undefined)
  }

  run(job: Job): Promise<WorkerReply> {
    const id = this.nextId++
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...job, id }, 'buffer' in job ? [job.buffer] : [])
    })
  }

  /** The worker closes its file itself (descriptors belong to the process) and then ends. */
  async close(): Promise<void> {
    this.worker.postMessage({ kind: 'close' } satisfies WorkerRequest)
    await this.exited
  }

  private settle(reply: WorkerReply): void {
    const waiting = this.pending.get(reply.id)
    if (!waiting) return
    this.pending.delete(reply.id)
    if (reply.crash) waiting.reject(new Error(reply.crash))
    else waiting.resolve(reply)
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error)
    this.pending.clear()
  }
}

/**
 * Worker threads besides the main thread: the cores less one, at most one. The main lane and one
 * worker keep two cores busy; each further worker would be another whole Node.js environment
 * (about 20 MB on Node 24, most of it resident until the process ends).
 */
const MAX_WORKERS = 1
/** A path, not `new URL(…, import.meta.url)`, which the bundler would copy as an asset. */
const WORKER_BUNDLE = join(dirname(fileURLToPath(import.meta.url)), 'archive-worker', 'index.js')
/** Testing hook: the benchmark's single-thread reads (0). */
const WORKERS = process.env.ASSET_PACK_RELEASE_READ_THREADS

export function defaultWorkers(): number {
  if (WORKERS) return Number(WORKERS)
  return existsSync(WORKER_BUNDLE) ? Math.min(MAX_WORKERS, availableParallelism() - 1) : 0
}

/** The lanes of one read, and which job goes where. */
export class BlockPool {
  private readonly busy: number[]

  private constructor(
    private readonly work: BlockWork,
    private readonly laneList: Lane[]
  ) {
    this.busy = laneList.map(() => 0)
  }

  /**
   * The main thread and `workers` worker threads (none when no bundled worker exists: the
   * sources under test); with no workers, `lanes` main-thread lanes, for the tests of the lanes.
   */
  static open(path: string, workers: number, lanes = 1): BlockPool {
    const work = new BlockWork(path)
    if (workers > 0 && existsSync(WORKER_BUNDLE))
      return new BlockPool(work, [
        new MainThreadLane(work),
        ...Array.from({ length: workers }, () => new WorkerLane(path))
      ])
    return new BlockPool(
      work,
      Array.from({ length: lanes }, () => new MainThreadLane(work))
    )
  }

  /** Lanes that hash: an entry's data is hashed on one of them, in order. */
  get lanes(): number {
    return this.laneList.length
  }

  /** Decodes a block into `buffer` on the least busy lane and hands it back. */
  decode(block: Block, buffer: ArrayBuffer): Promise<WorkerReply> {
    return this.run(this.busy.indexOf(Math.min(...this.busy)), { kind: 'decode', block, buffer })
  }

  hash(lane: number, buffer: ArrayBuffer, pieces: Pieces): Promise<WorkerReply> {
    return this.run(lane, { kind: 'hash', buffer, pieces })
  }

  /** Decodes a block that is all data of `entry` and hashes it on that entry's lane. */
  decodeAndHash(lane: number, block: Block, entry: number, last: boolean) {
    return this.run(lane, { kind: 'decode-and-hash', block, entry, last })
  }

  async close(): Promise<void> {
    await Promise.all(this.laneList.map((lane) => lane.close()))
    this.work.close()
  }

  private async run(lane: number, job: Job): Promise<WorkerReply> {
    this.busy[lane]++
    try {
      return await this.laneList[lane].run(job)
    } finally {
      this.busy[lane]--
    }
  }
}
