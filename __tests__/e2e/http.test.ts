// Behind a proxy (self-hosted runners): HTTPS_PROXY/HTTP_PROXY route every API and upload request
// through it, NO_PROXY exempts hosts. End to end through dist/index.js with a CONNECT proxy on
// 127.0.0.1 in front of the simulator.
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { runAction } from '../../scripts/run-action.js'
import { FAST_RETRIES, inputsFor, setUp } from '../helpers/simulator.js'

/** How the test proxy behaves: a working tunnel, a proxy that never answers, or one that wants credentials. */
type ProxyMode = 'tunnel' | 'silent' | 'auth-required'

interface Proxy {
  url: string
  /** The host:port of every tunnel opened. */
  tunnels: string[]
  /** Bytes the client sent through the tunnels. */
  bytesUp: number
  /** When each CONNECT arrived. */
  connects: number[]
  server: Server
}

async function startProxy(mode: ProxyMode = 'tunnel'): Promise<Proxy> {
  const proxy = { tunnels: [] as string[], bytesUp: 0, connects: [] as number[] }
  const server = createServer((_req, res) => res.writeHead(405).end())
  server.on('connect', (req, client, head) => {
    proxy.connects.push(Date.now())
    client.on('error', () => undefined)
    if (mode === 'silent') return
    if (mode === 'auth-required') {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="ci"\r\n\r\n'
      )
      return
    }
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

/** A loopback port nothing listens on: a proxy that is down. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const errorLine = (stdout: string) => stdout.split('\n').find((l) => l.startsWith('::error'))

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

/** The proxy deadline for the test (30 s in a real run; the hook shortens it, not its logic). */
const DEADLINE_MS = 2000

test('a proxy that never answers fails each attempt within its deadline and the run soon after, naming it', async () => {
  const h = await setUp()
  const silent = await startProxy('silent')
  try {
    const host = new URL(silent.url).host
    const run = await runAction(inputsFor(h), {
      env: {
        HTTP_PROXY: silent.url,
        ASSET_PACK_RELEASE_PROXY_DEADLINE_MS: String(DEADLINE_MS),
        ...FAST_RETRIES
      },
      timeoutMs: 120_000
    })
    expect(run.exitCode).toBe(1)
    expect(errorLine(run.stdout)).toMatch(
      new RegExp(
        `failed 5 times: no answer through the proxy ${host} \\(HTTP_PROXY\\) in time .*is the proxy up`
      )
    )
    // Five attempts, each given up by the deadline (not undici's 300 s CONNECT default).
    expect(silent.connects).toHaveLength(5)
    const gaps = silent.connects.slice(1).map((t, i) => t - silent.connects[i])
    for (const gap of gaps) expect(gap).toBeLessThan(DEADLINE_MS + 10_000)
    expect(h.sim.requests).toEqual([])
  } finally {
    silent.server.closeAllConnections()
    silent.server.close()
  }
}, 120_000)

test('a proxy that asks for credentials (407) is named, with the fix', async () => {
  const h = await setUp()
  const auth = await startProxy('auth-required')
  try {
    const host = new URL(auth.url).host
    const run = await runAction(inputsFor(h), {
      env: { HTTPS_PROXY: auth.url, HTTP_PROXY: auth.url }
    })
    expect(run.exitCode).toBe(1)
    expect(errorLine(run.stdout)).toContain(
      `the proxy ${host} (HTTP_PROXY) answered 407 Proxy Authentication Required: put its credentials in HTTP_PROXY, as http://user:password@${host}`
    )
    expect(run.stdout).not.toContain('!== 200 when HTTP Tunneling')
  } finally {
    auth.server.closeAllConnections()
    auth.server.close()
  }
})

test('a proxy that refuses connections is named, with the likely cause', async () => {
  const h = await setUp()
  const url = `http://127.0.0.1:${await closedPort()}`
  const run = await runAction(inputsFor(h), { env: { HTTP_PROXY: url, ...FAST_RETRIES } })
  expect(run.exitCode).toBe(1)
  expect(errorLine(run.stdout)).toContain(
    `failed 5 times: the proxy ${new URL(url).host} (HTTP_PROXY) refused the connection: the proxy is down or the port is wrong`
  )
})

test('a proxy variable without a scheme is an input error, before any request', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h), { env: { HTTPS_PROXY: 'build:s3cret@127.0.0.1:3128' } })
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain(
    "::error title=Invalid input::HTTPS_PROXY: expected a proxy URL with its scheme, such as http://proxy.example.com:3128, got '…@127.0.0.1:3128'. Add http:// in front."
  )
  expect(run.stdout + run.stderr).not.toContain('s3cret')
  expect(h.sim.requests).toEqual([])
})

test('the log says which hosts go through the proxy and which NO_PROXY exempts', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h), {
    env: { HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' }
  })
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toContain(`Requests to ${new URL(h.sim.baseUrl).host} go directly (NO_PROXY).`)
  expect(run.stdout).not.toContain('go through the proxy')
})
