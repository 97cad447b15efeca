// The plain clients the action is measured against, both over the same simulator: the peers' way
// (MD5 first, then each operation PUT one after another, each part read whole) and a bare client
// (the same operations PUT `concurrency` at a time, the MD5 read beside them, no checks). Each
// runs in a process of its own, as the action does, not beside the simulator in the benchmark's.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { request } from 'undici'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ApiKey, Simulator } from '../simulator/index.js'
import {
  commitBody,
  createPackBody,
  createVersionBody,
  reserveBody,
  token
} from '../scripts/requests.js'

interface Operation {
  url: string
  offset: number
  length: number
  requestHeaders: { name: string; value: string }[]
}

async function fileMd5(path: string): Promise<string> {
  const hash = createHash('md5')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer)
  return hash.digest('hex')
}

interface PlainClientJob {
  sim: { baseUrl: string; appId: string; key: ApiKey }
  path: string
  size: number
  concurrency: number
  md5First: boolean
}

/** Seconds the client takes, in a process of its own (this module run as a script). */
export async function plainClient(
  sim: Simulator,
  path: string,
  size: number,
  options: { concurrency: number; md5First: boolean }
): Promise<number> {
  const job: PlainClientJob = {
    sim: { baseUrl: sim.baseUrl, appId: sim.appId, key: sim.key },
    path,
    size,
    ...options
  }
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), JSON.stringify(job)],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`the plain client failed (exit ${code})`)
  return Number(out.trim())
}

/** Seconds for a new pack, a version, a reservation, every part and the commit. */
async function run({ sim, path, size, concurrency, md5First }: PlainClientJob): Promise<number> {
  const started = Date.now()
  const now = Math.floor(Date.now() / 1000)
  const bearer = await token(sim.key, { iat: now - 60, exp: now + 1100 })
  const headers = { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }
  const api = async (method: 'POST' | 'PATCH', apiPath: string, body: unknown) =>
    (await (
      await request(`${sim.baseUrl}${apiPath}`, { method, headers, body: JSON.stringify(body) })
    ).body.json()) as { data: { id: string; attributes: { uploadOperations: Operation[] } } }
  const md5 = md5First ? await fileMd5(path) : fileMd5(path)
  const name = `${md5First ? 'baseline' : 'bare'}-${Date.now()}`
  const pack = await api('POST', '/v1/backgroundAssets', createPackBody(sim.appId, name))
  const version = await api('POST', '/v1/backgroundAssetVersions', createVersionBody(pack.data.id))
  const reservation = await api(
    'POST',
    '/v1/backgroundAssetUploadFiles',
    reserveBody(version.data.id, size)
  )
  const operations = reservation.data.attributes.uploadOperations
  const file = await open(path, 'r')
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < operations.length) {
        const op = operations[next++]
        const bytes = Buffer.alloc(op.length)
        await file.read(bytes, 0, op.length, op.offset)
        const partHeaders = Object.fromEntries(op.requestHeaders.map((h) => [h.name, h.value]))
        await (
          await request(op.url, { method: 'PUT', headers: partHeaders, body: bytes })
        ).body.dump()
      }
    })
  )
  await file.close()
  const id = reservation.data.id
  const checksums = { file: { hash: await md5, algorithm: 'MD5' as const } }
  await api(
    'PATCH',
    `/v1/backgroundAssetUploadFiles/${id}`,
    commitBody(id, { uploaded: true, sourceFileChecksums: checksums })
  )
  return (Date.now() - started) / 1000
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  console.log(await run(JSON.parse(process.argv[2]) as PlainClientJob))
