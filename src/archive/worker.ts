// A worker thread of the archive read (its own bundle, dist/archive-worker/): decodes blocks and
// hashes entries' data as the main thread asks, handing buffers back without copying them.
import { parentPort, workerData } from 'node:worker_threads'
import { BlockWork } from './block-work.js'
import { doJob, type WorkerRequest } from './pool.js'

const work = new BlockWork((workerData as { path: string }).path)
const port = parentPort!

port.on('message', (request: WorkerRequest) => {
  if (request.kind === 'close') {
    work.close()
    port.close()
    return
  }
  const { id, ...job } = request
  const reply = doJob(work, id, job)
  port.postMessage(reply, reply.buffer ? [reply.buffer] : [])
})
