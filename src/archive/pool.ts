// Where block work runs: worker threads (the bundled dist/archive-worker/), so every core decodes
// and hashes, or the main thread when the archive is small or no bundled worker exists (the
// sources under test). Buffers move to a thread and back without being copied.
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { BlockWork, type BlockProblem, type Digests, type Pieces } from './block-work.js'

import type { Block } from './container.js'

export type WorkerRequest =
  | { kind: 'decode'; id: number; block: Block; buffer: ArrayBuffer }
  | { kind: 'hash'; id: number; buffer: ArrayBuffer; pieces: Pieces }
  | { kind: 'decode-and-hash'; id: number; block: Block; entry: number; last: boolean }
  | { kind: 'close' }

export interface WorkerReply {
  id: number
  /** The buffer the request brought, handed back. */
  buffer?: ArrayBuffer
  problem?: BlockProblem
  digests?: Digests
  /** An exception the work did not expect (a read error): the read fails with it. */
  crash?: string
}

export interface BlockPool {
  /** Threads that hash: an entry's data is hashed on one of them, in order. */
  readonly lanes: number
  /** Decodes a block into `buffer` on the least busy thread and hands it back. */
  decode(block: Block, buffer: ArrayBuffer): Promise<WorkerReply>
  hash(lane: number, buffer: ArrayBuffer, pieces: Pieces): Promise<WorkerReply>
  /** Decodes a block that is all data of `entry` and hashes it on that entry's lane. */
  decodeAndHash(lane: number, block: Block, entry: number, last: boolean): Promise<WorkerReply>
  close(): Promise<void>
}

/** The reply to a decode-and-hash: a problem, or the digests of the entry it ended. */
export function decodedAndHashed(id: number, result: BlockProblem | Digests): WorkerReply {
  return Array.isArray(result) ? { id, digests: result } : { id, problem: result }
}

/** At most this many threads: GitHub's larger runners have more cores than a read can use. */
const MAX_THREADS = 4
/** A path, not `new URL(…, import.meta.url)`, which the bundler would copy as an asset. */
const WORKER_BUNDLE = join(dirname(fileURLToPath(import.meta.url)), 'archive-worker', 'index.js')

export function defaultThreads(): number {
  return existsSync(WORKER_BUNDLE) ? Math.min(MAX_THREADS, availableParallelism()) : 0
}

/**
 * `threads` workers, or with 0 the main thread (yielding between jobs), where `lanes` is how
 * many hashing lanes it pretends to have: the unit tests walk the lanes' paths without workers.
 */
export function openPool(path: string, threads: number, lanes = 1): BlockPool {
  return threads > 0 && existsSync(WORKER_BUNDLE)
    ? new ThreadPool(path, threads)
    : new MainThreadPool(path, lanes)
}

/** Detaches `buffer` as a transfer to a worker does, so the main thread's reads behave the same. */
const handOver = (buffer: ArrayBuffer) => structuredClone(buffer, { transfer: [buffer] })

class MainThreadPool implements BlockPool {
  private readonly work: BlockWork

  constructor(
    path: string,
    readonly lanes: number
  ) {
    this.work = new BlockWork(path)
  }

  async decode(block: Block, sent: ArrayBuffer): Promise<WorkerReply> {
    const buffer = handOver(sent)
    await new Promise(setImmediate)
    return { id: 0, buffer, problem: this.work.decode(block, buffer) }
  }

  async hash(_lane: number, sent: ArrayBuffer, pieces: Pieces): Promise<WorkerReply> {
    const buffer = handOver(sent)
    await new Promise(setImmediate)
    return { id: 0, buffer, digests: this.work.hash(buffer, pieces) }
  }

  async decodeAndHash(_lane: number, block: Block, entry: number, last: boolean) {
    await new Promise(setImmediate)
    return decodedAndHashed(0, this.work.decodeAndHash(block, entry, last))
  }

  async close(): Promise<void> {
    this.work.close()
  }
}

class ThreadPool implements BlockPool {
  readonly lanes: number
  private readonly workers: Worker[]
  private readonly exits: Promise<unknown>[]
  private readonly busy: number[]
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: Error) => void; worker: number }
  >()
  private nextId = 1

  constructor(path: string, threads: number) {
    this.lanes = threads
    this.busy = new Array<number>(threads).fill(0)
    this.workers = Array.from({ length: threads }, (_, i) => {
      const worker = new Worker(WORKER_BUNDLE, { workerData: { path } })
      worker.on('message', (reply: WorkerReply) => this.settle(reply))
      worker.on('error', (error) => this.failAll(i, error))
      return worker
    })
    // `once` rejects on 'error': a crashed worker has ended too.
    this.exits = this.workers.map((worker) => once(worker, 'exit').catch(() => undefined))
  }

  decode(block: Block, buffer: ArrayBuffer): Promise<WorkerReply> {
    // The least busy thread decodes: decoding has no order to keep.
    const worker = this.busy.indexOf(Math.min(...this.busy))
    return this.send(worker, { kind: 'decode', id: this.nextId++, block, buffer })
  }

  hash(lane: number, buffer: ArrayBuffer, pieces: Pieces): Promise<WorkerReply> {
    return this.send(lane, { kind: 'hash', id: this.nextId++, buffer, pieces })
  }

  decodeAndHash(lane: number, block: Block, entry: number, last: boolean) {
    return this.send(lane, { kind: 'decode-and-hash', id: this.nextId++, block, entry, last })
  }

  /** Each worker closes its file itself (descriptors belong to the process) and then ends. */
  async close(): Promise<void> {
    for (const worker of this.workers) worker.postMessage({ kind: 'close' } satisfies WorkerRequest)
    await Promise.all(this.exits)
  }

  private send(worker: number, request: Exclude<WorkerRequest, { kind: 'close' }>) {
    this.busy[worker]++
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject, worker })
      this.workers[worker].postMessage(request, 'buffer' in request ? [request.buffer] : [])
    })
  }

  private settle(reply: WorkerReply): void {
    const waiting = this.pending.get(reply.id)
    if (!waiting) return
    this.pending.delete(reply.id)
    this.busy[waiting.worker]--
    if (reply.crash) waiting.reject(new Error(reply.crash))
    else waiting.resolve(reply)
  }

  private failAll(worker: number, error: Error): void {
    for (const [id, waiting] of this.pending)
      if (waiting.worker === worker) {
        this.pending.delete(id)
        waiting.reject(error)
      }
  }
}
