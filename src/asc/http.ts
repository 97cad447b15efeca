// The undici dispatchers every App Store Connect and upload request goes through. Self-hosted
// runners often reach the internet only through a proxy: HTTPS_PROXY/HTTP_PROXY route requests
// through it, NO_PROXY exempts hosts (undici's EnvHttpProxyAgent rules). Routing, the log line and
// error messages all ask `proxyFor()`, so what the log says is what happens.
import * as log from '../log.js'
import { Agent, Dispatcher, Pool, ProxyAgent } from 'undici'
import { describeCause } from '../errors.js'

/**
 * Longest wait for a proxy to accept a tunnel (TCP connect and the answer to CONNECT). undici
 * applies no request timeout to the CONNECT step (its default is 300 s), so a proxy that accepts
 * connections and never answers would hang every attempt for minutes.
 */
export const PROXY_CONNECT_DEADLINE_MS =
  Number(process.env.ASSET_PACK_RELEASE_PROXY_DEADLINE_MS) || 30_000 // testing hook: a shorter one

export interface ProxySetting {
  /** The environment variable it came from. */
  variable: string
  url: URL
}

/** Plain http is allowed only to these (the simulator, a local test server). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname)
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 }

function proxyVariable(protocol: string): string | undefined {
  const names =
    protocol === 'https:'
      ? ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY']
      : ['http_proxy', 'HTTP_PROXY']
  return names.find((name) => process.env[name])
}

function bypassed(url: URL): boolean {
  const noProxy = process.env.no_proxy ?? process.env.NO_PROXY ?? ''
  if (noProxy.trim() === '*') return true
  const hostname = url.host.replace(/:\d*$/, '').toLowerCase()
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0
  return noProxy
    .split(/[,\s]/)
    .filter(Boolean)
    .some((entry) => {
      const [, host = entry, entryPort] = /^(.+):(\d+)$/.exec(entry) ?? []
      const name = host.replace(/^\*?\./, '').toLowerCase()
      return (
        (!entryPort || Number(entryPort) === port) &&
        (hostname === name || hostname.endsWith(`.${name}`))
      )
    })
}

/** The proxy a request to `url` goes through, or undefined when it goes directly. */
export function proxyFor(url: URL): ProxySetting | undefined {
  const variable = proxyVariable(url.protocol)
  if (!variable || bypassed(url)) return undefined
  return { variable, url: new URL(process.env[variable]!) }
}

/** Proxy variables that cannot work, as `NAME: sentence` problems (checked before any request). */
export function proxyProblems(): string[] {
  const problems: string[] = []
  for (const name of ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY']) {
    const value = process.env[name]
    if (!value) continue
    const url = URL.canParse(value) ? new URL(value) : undefined
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      // The host only, never the whole value: it may carry credentials.
      const shown = value.includes('@') ? `…@${value.slice(value.lastIndexOf('@') + 1)}` : value
      problems.push(
        `${name}: expected a proxy URL with its scheme, such as http://proxy.example.com:3128, got '${shown}'. Add http:// in front.`
      )
    }
  }
  return problems
}

function hostOf(proxy: ProxySetting): string {
  return `${proxy.url.host} (${proxy.variable})`
}

/** What went wrong on a request to `url`, naming the proxy and the likely fix when there is one. */
export function explainFailure(error: unknown, url: URL): string {
  const proxy = proxyFor(url)
  const cause = describeCause(error)
  if (!proxy) return cause
  const code = codeOf(error)
  const status = /Proxy response \((\d+)\)/.exec(cause)?.[1]
  if (status === '407')
    return `the proxy ${hostOf(proxy)} answered 407 Proxy Authentication Required: put its credentials in ${proxy.variable}, as http://user:password@${proxy.url.host}`
  if (status)
    return `the proxy ${hostOf(proxy)} refused to open a tunnel to ${url.host} (${status}): allow that host in the proxy, or add it to NO_PROXY if the runner reaches it directly`
  if (code === 'ECONNREFUSED')
    return `the proxy ${hostOf(proxy)} refused the connection: the proxy is down or the port is wrong`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `the proxy host ${hostOf(proxy)} was not found: check ${proxy.variable}`
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
    return `no answer through the proxy ${hostOf(proxy)} in time (${cause}): is the proxy up, and does it let the runner reach ${url.host}?`
  return `${cause} (through the proxy ${hostOf(proxy)})`
}

function codeOf(error: unknown): string | undefined {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code) return e.code
  return undefined
}

/** Sends each request directly or through its proxy; says once per host which it is. */
class ProxyRouter extends Dispatcher {
  private readonly direct: Agent
  private readonly viaProxy = new Map<string, ProxyAgent>()

  constructor(private readonly options: Agent.Options) {
    super()
    this.direct = new Agent(options)
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    const url = new URL(String(options.origin))
    const proxy = proxyFor(url)
    announce(url, proxy)
    return (proxy ? this.agentFor(proxy) : this.direct).dispatch(options, handler)
  }

  override async close(): Promise<void> {
    await Promise.all([this.direct, ...this.viaProxy.values()].map((d) => d.close()))
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.direct, ...this.viaProxy.values()].map((d) => d.destroy()))
  }

  private agentFor(proxy: ProxySetting): ProxyAgent {
    let agent = this.viaProxy.get(proxy.url.href)
    if (!agent) {
      agent = new ProxyAgent({
        ...this.options,
        uri: proxy.url.href,
        // The connection to the proxy: its answer to CONNECT gets a deadline too.
        clientFactory: (origin, options) =>
          new Pool(origin, {
            ...options,
            connectTimeout: PROXY_CONNECT_DEADLINE_MS,
            headersTimeout: PROXY_CONNECT_DEADLINE_MS
          })
      })
      this.viaProxy.set(proxy.url.href, agent)
    }
    return agent
  }
}

const announced = new Set<string>()

function announce(url: URL, proxy: ProxySetting | undefined): void {
  if (!proxyVariable(url.protocol) || announced.has(url.host)) return
  announced.add(url.host)
  // The proxy's host only: its URL may carry credentials.
  log.info(
    proxy
      ? `Requests to ${url.host} go through the proxy ${hostOf(proxy)}.`
      : `Requests to ${url.host} go directly (NO_PROXY).`
  )
}

export function createDispatcher(options: Agent.Options): Dispatcher {
  return new ProxyRouter(options)
}
