// A small fake of the GitHub Actions cache service v2, for the real @actions/cache client: the
// three Twirp/JSON RPCs and a blob store answering the Azure SDK's Put Blob / Put Block(List) and
// a plain GET: the minimum the toolkit client needs to save and restore for real.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Entry {
  key: string
  version: string
  id: number
  bytes?: Buffer
  blocks: Map<string, Buffer>
  finalized: boolean
}

export interface CacheService {
  url: string
  entries: Entry[]
  calls: string[]
  close(): Promise<void>
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function startCacheService(
  options: { denyWrites?: boolean } = {}
): Promise<CacheService> {
  const entries: Entry[] = []
  const calls: string[] = []
  let url = ''
  const server = createServer(async (req, res) => {
    const reqUrl = new URL(req.url ?? '/', url)
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value))
    const rpc = /\.CacheService\/(\w+)$/.exec(reqUrl.pathname)?.[1]
    if (rpc) {
      calls.push(rpc)
      const request = JSON.parse((await body(req)).toString() || '{}') as {
        key: string
        version: string
        restore_keys?: string[]
        size_bytes?: string
      }
      if (rpc === 'CreateCacheEntry') {
        if (options.denyWrites)
          return json(403, {
            code: 'permission_denied',
            msg: 'cache write denied: token has no writable scopes'
          })
        if (entries.some((e) => e.key === request.key && e.version === request.version))
          return json(409, { code: 'already_exists', msg: 'cache entry already exists' })
        const entry: Entry = {
          key: request.key,
          version: request.version,
          id: entries.length + 1,
          blocks: new Map(),
          finalized: false
        }
        entries.push(entry)
        return json(200, {
          ok: true,
          signed_upload_url: `${url}/devstoreaccount1/cache/${entry.id}`
        })
      }
      if (rpc === 'FinalizeCacheEntryUpload') {
        const entry = entries.find((e) => e.key === request.key && e.version === request.version)
        if (!entry) return json(404, { code: 'not_found', msg: 'no such entry' })
        entry.finalized = true
        return json(200, { ok: true, entry_id: String(entry.id) })
      }
      if (rpc === 'GetCacheEntryDownloadURL') {
        const candidates = entries
          .filter((e) => e.finalized && e.version === request.version)
          .reverse() // newest first
        for (const wanted of [request.key, ...(request.restore_keys ?? [])]) {
          const hit =
            candidates.find((e) => e.key === wanted) ??
            candidates.find((e) => e.key.startsWith(wanted))
          if (hit)
            return json(200, {
              ok: true,
              signed_download_url: `${url}/devstoreaccount1/cache/${hit.id}`,
              matched_key: hit.key
            })
        }
        return json(200, { ok: false })
      }
      return json(404, { code: 'bad_route', msg: rpc })
    }
    const id = Number(/\/devstoreaccount1\/cache\/(\d+)/.exec(reqUrl.pathname)?.[1])
    const entry = entries.find((e) => e.id === id)
    if (!entry) return res.writeHead(404).end()
    const headers = {
      'x-ms-request-id': String(Date.now()),
      'x-ms-version': '2026-02-06',
      etag: `"${id}"`,
      'last-modified': new Date().toUTCString()
    }
    if (req.method === 'PUT') {
      const bytes = await body(req)
      const comp = reqUrl.searchParams.get('comp')
      if (comp === 'block') entry.blocks.set(reqUrl.searchParams.get('blockid')!, bytes)
      else if (comp === 'blocklist') {
        const ids = [...bytes.toString().matchAll(/<Latest>([^<]+)<\/Latest>/g)].map((m) => m[1])
        entry.bytes = Buffer.concat(ids.map((b) => entry.blocks.get(b)!))
      } else entry.bytes = bytes
      return res.writeHead(201, headers).end()
    }
    if (req.method === 'GET' && entry.bytes)
      return res
        .writeHead(200, {
          ...headers,
          'Content-Length': entry.bytes.length,
          'Content-Type': 'application/octet-stream'
        })
        .end(entry.bytes)
    return res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    entries,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** The variables the runner gives a JavaScript action for the cache service. */
export function cacheEnv(
  service: { url: string },
  runnerTemp: string,
  attempt = 1
): Record<string, string> {
  return {
    ACTIONS_CACHE_SERVICE_V2: 'true',
    ACTIONS_RESULTS_URL: `${service.url}/`,
    ACTIONS_RUNTIME_TOKEN: 'fake-runtime-token',
    RUNNER_TEMP: runnerTemp,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: String(attempt)
  }
}
