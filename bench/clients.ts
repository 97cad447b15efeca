// The plain clients the action is measured against, both over the same simulator: the peers' way
// (MD5 first, then each operation PUT one after another, each part read whole) and a bare client
// (the same operations PUT `concurrency` at a time, the MD5 read beside them, no checks).
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { request } from 'undici'
import type { Simulator } from '../simulator/index.js'
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

/** Seconds for a new pack, a version, a reservation, every part and the commit. */
export async function plainClient(
  sim: Simulator,
  path: string,
  size: number,
  { concurrency, md5First }: { concurrency: number; md5First: boolean }
): Promise<number> {
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
