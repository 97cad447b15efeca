// A local App Store Connect: the Background Assets and review API of spec/, its upload storage,
// JWT checks, rate limits, processing, and fault switches. `startSimulator()` wires the parts
// together and serves them on 127.0.0.1; each concern lives in its own module.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateApiKey, type ApiKey } from './auth.js'
import { ContractValidator } from './contract.js'
import { ApiError, serverError } from './errors.js'
import { Faults } from './faults.js'
import { JsonApi } from './jsonapi.js'
import { resolveOptions, type SimulatorOptions, type SimulatorOverrides } from './options.js'
import { Packs } from './packs.js'
import { Processing } from './processing.js'
import { Random } from './random.js'
import { Review, type SeededSubmission } from './review.js'
import { ApiRouter, type LoggedRequest } from './router.js'
import { StorageEndpoint, UrlSigner } from './storage.js'
import { Store, type PackRecord, type ReviewSubmissionRecord } from './store.js'
import { Uploads } from './uploads.js'
import { Versions } from './versions.js'

export * from './options.js'
export type { ApiKey } from './auth.js'
export type { SeededSubmission } from './review.js'
export type { LoggedRequest } from './router.js'

export interface Simulator {
  readonly baseUrl: string
  readonly appId: string
  /** The pre-generated team key; `addKey()` makes more (individual keys too). */
  readonly key: ApiKey
  addKey(kind?: 'team' | 'individual'): ApiKey
  /** Live options: tests may change fault switches between runs. */
  readonly options: SimulatorOptions
  /** Every record: packs, versions, upload files, releases, review submissions and items. */
  readonly store: Store
  readonly requests: LoggedRequest[]
  /** Requests or responses that do not validate against the spec. */
  readonly contractViolations: string[]
  /** Requests to the storage that carried an Authorization header, and the like. */
  readonly securityViolations: string[]
  /** Counts of injected faults by kind. */
  readonly faultsInjected: Record<string, number>
  /** The most storage PUT bodies received at once. */
  readonly maxPutsInFlight: number
  seedPack(seed: SimulatorOptions['packs'][number]): PackRecord
  seedReviewSubmission(seed: SeededSubmission): ReviewSubmissionRecord
  /** The simulator's clock (the machine's plus `clockOffsetMs`). */
  now(): number
  close(): Promise<void>
}

// Long on purpose: wiring only, one line per part in the order they depend on each other.
export async function startSimulator(overrides: SimulatorOverrides = {}): Promise<Simulator> {
  const options = resolveOptions(overrides)
  const now = () => Date.now() + options.clockOffsetMs
  const random = new Random(options.faults.seed)
  const faults = new Faults(options.faults, random)
  const spoolDir = await mkdtemp(join(tmpdir(), 'asc-simulator-'))
  let baseUrl = ''
  const origin = () => baseUrl
  const store = new Store(origin)
  const api = new JsonApi(origin)
  const signer = new UrlSigner(randomBytes(32))
  const sim = { store, options, random, api, now, baseUrl: origin }
  const processing = new Processing(sim, faults)
  const packs = new Packs(sim)
  const versions = new Versions(sim)
  const uploads = new Uploads(sim, signer, processing, spoolDir)
  const review = new Review(sim)

  const keys = new Map<string, ApiKey>()
  const addKey = (kind: 'team' | 'individual' = 'team') => {
    const key = generateApiKey(kind)
    keys.set(key.keyId, key)
    return key
  }
  const key = addKey()
  store.apps.add(options.appId)
  const seedPack = (seed: SimulatorOptions['packs'][number]) =>
    packs.seed(seed, versions, uploads, processing)
  for (const pack of options.packs) seedPack(pack)

  const requests: LoggedRequest[] = []
  const contractViolations: string[] = []
  const securityViolations: string[] = []
  const handlers = {
    ...packs.handlers,
    ...versions.handlers,
    ...uploads.handlers,
    ...review.handlers
  }
  const contract = ContractValidator.load()
  const router = new ApiRouter(options, contract, keys, faults, handlers, contractViolations, now)
  const storage = new StorageEndpoint(store, options, signer, faults, securityViolations, now)

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
    const endpoint = url.pathname.startsWith('/storage/') ? storage : router
    const respond = () =>
      endpoint.handle(req, res, url, log).catch((e: unknown) => {
        log.status = e instanceof ApiError ? e.status : 500
        if (!res.headersSent)
          router.send(res, log.status, (e instanceof ApiError ? e : serverError(500)).toJson())
      })
    if (faults.latencyMs > 0) setTimeout(respond, faults.latencyMs)
    else void respond()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve))
  const { port } = server.address() as AddressInfo
  baseUrl = `http://${options.host}:${port}`

  return {
    baseUrl,
    appId: options.appId,
    key,
    addKey,
    options,
    store,
    requests,
    contractViolations,
    securityViolations,
    faultsInjected: faults.injected,
    get maxPutsInFlight() {
      return storage.maxInFlight
    },
    seedPack,
    seedReviewSubmission: (seed) => review.seed(options.appId, seed),
    now,
    async close() {
      processing.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(spoolDir, { recursive: true, force: true })
    }
  }
}
