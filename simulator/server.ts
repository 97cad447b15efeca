// The simulator's HTTP server: every request logged, the injected latency waited, then handed to
// the upload storage (/storage/), the control routes (/simulator/) or the API router (the rest).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { ApiError, serverError } from './errors.js'
import type { Faults } from './faults.js'
import type { SimulatorOptions } from './options.js'
import type { ApiRouter, LoggedRequest } from './router.js'

/** Answers a request (and sets the log's status), or throws an ApiError for the server to send. */
export interface Endpoint {
  handle(req: IncomingMessage, res: ServerResponse, url: URL, log: LoggedRequest): Promise<void>
}

export interface Endpoints {
  api: ApiRouter
  storage: Endpoint
  control: Endpoint
}

export interface RunningServer {
  baseUrl: string
  close(): Promise<void>
}

export async function serve(
  options: Pick<SimulatorOptions, 'host' | 'port'>,
  endpoints: Endpoints,
  faults: Faults,
  requests: LoggedRequest[]
): Promise<RunningServer> {
  let baseUrl = ''
  const endpointFor = (path: string): Endpoint =>
    path.startsWith('/storage/')
      ? endpoints.storage
      : path.startsWith('/simulator/')
        ? endpoints.control
        : endpoints.api
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', baseUrl)
    const log: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      status: 0,
      authorization: req.headers.authorization !== undefined,
      at: Date.now()
    }
    requests.push(log)
    const respond = () =>
      endpointFor(url.pathname)
        .handle(req, res, url, log)
        .catch((e: unknown) => {
          const error = e instanceof ApiError ? e : serverError(500)
          log.status = error.status
          if (!res.headersSent) endpoints.api.send(res, error.status, error.toJson())
        })
    if (faults.latencyMs > 0) setTimeout(respond, faults.latencyMs)
    else void respond()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve))
  baseUrl = `http://${options.host}:${(server.address() as AddressInfo).port}`
  return {
    baseUrl,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
