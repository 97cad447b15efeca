// Behind a proxy (self-hosted runners): HTTPS_PROXY/HTTP_PROXY route every API and upload request
// through it, NO_PROXY exempts hosts. End to end through dist/index.js with a CONNECT proxy on
// 127.0.0.1 in front of the simulator.
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { runAction } from '../scripts/run-action.js'
import { inputsFor, setUp } from './helpers/simulator.js'

interface Proxy {
  url: string
  /** The host:port of every tunnel opened. */
  tunnels: string[]
  /** Bytes the client sent through the tunnels. */
  bytesUp: number
  server: Server
}

async function startProxy(): Promise<Proxy> {
  const proxy = { tunnels: [] as string[], bytesUp: 0 }
  const server = createServer((_req, res) => res.writeHead(405).end())
  server.on('connect', (req, client, head) => {
    proxy.tunnels.push(req.url!)
    client.on('data', (chunk: Buffer) => (proxy.bytesUp += chunk.length))
    const [host, port] = req.url!.split(':')
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return Object.assign(proxy, { url, server })
}

let proxy: Proxy
beforeEach(async () => (proxy = await startProxy()))
afterEach(() => {
  proxy.server.closeAllConnections()
  proxy.server.close()
})

test('with HTTP_PROXY set, the API calls and the part uploads go through the proxy', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h), { env: { HTTP_PROXY: proxy.url } })
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  const simulator = new URL(h.sim.baseUrl).host
  expect(run.stdout).toContain(
    `Requests to ${simulator} go through the proxy ${new URL(proxy.url).host} (HTTP_PROXY).`
  )
  // The API client's connections and the uploader's, all to the simulator...
  expect(proxy.tunnels.length).toBeGreaterThanOrEqual(2)
  expect(new Set(proxy.tunnels)).toEqual(new Set([simulator]))
  // ...and every byte of the archive went through them.
  expect(proxy.bytesUp).toBeGreaterThan(h.pack.size)
})

test('NO_PROXY exempts a host: nothing goes through the proxy', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h), {
    env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }
  })
  expect(run.exitCode).toBe(0)
  expect(proxy.tunnels).toEqual([])
})

test('proxy credentials are never printed', async () => {
  const h = await setUp()
  const withCredentials = proxy.url.replace('//', '//build:s3cret-pass@')
  const run = await runAction(inputsFor(h), {
    env: { HTTPS_PROXY: withCredentials, HTTP_PROXY: withCredentials }
  })
  expect(run.exitCode).toBe(0)
  expect(run.stdout + run.stderr).not.toContain('s3cret-pass')
})
