// The undici dispatchers every App Store Connect and upload request goes through. Self-hosted
// runners often reach the internet only through a proxy: when HTTPS_PROXY/HTTP_PROXY are set,
// requests are tunnelled through it (NO_PROXY honoured), as the toolkit's own clients do.
import * as core from '@actions/core'
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici'

let proxyAnnounced = false

function proxyFromEnvironment(): string | undefined {
  const env = process.env
  return env.https_proxy || env.HTTPS_PROXY || env.http_proxy || env.HTTP_PROXY || undefined
}

export function createDispatcher(options: Agent.Options): Dispatcher {
  const proxy = proxyFromEnvironment()
  if (!proxy) return new Agent(options)
  if (!proxyAnnounced) {
    proxyAnnounced = true
    // The host only: a proxy URL may carry credentials.
    const host = URL.canParse(proxy) ? new URL(proxy).host : 'the configured proxy'
    core.info(`Requests go through the proxy ${host} (from the environment; NO_PROXY honoured).`)
  }
  return new EnvHttpProxyAgent(options)
}
