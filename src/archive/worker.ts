// A worker thread of the archive read (its own bundle, dist/archive-worker/): decodes blocks and
// hashes entries' data as the main thread asks, handing buffers back without copying them.
import { parentPort, workerData } from 'node:worker_threads'
import { BlockWork } from './block-work.js'
import { decodedAndHashed, type WorkerReply, type WorkerRequest } from './pool.js'

const work = new BlockWork((workerData as { path: string }).path)
const port = parentPort!

function answer(request: Exclude<WorkerRequest, { kind: 'close' }>): WorkerReply {
  const { id } = request
  const buffer = 'buffer' in request ? request.buffer : undefined
  try {
    if (request.kind === 'decode-and-hash') {
      const { block, entry, last } = request
      return decodedAndHashed(id, work.decodeAndHash(block, entry, last))
    }
    return request.kind === 'decode'
      ? { id, buffer, problem: work.decode(request.block, request.buffer) }
      : { id, buffer, digests: work.hash(request.buffer, request.pieces) }
  } catch (error) {
    return { id, buffer, crash: String((error as Error)?.stack ?? error) }
  }
}

port.on('message', (request: WorkerRequest) => {
  if (request.kind === 'close') {
    work.close()
    port.close()
    return
  }
  const reply = answer(request)
  port.postMessage(reply, reply.buffer ? [reply.buffer] : [])
})
