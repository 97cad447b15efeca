// A local App Store Connect: the Background Assets and review API of spec/, its upload storage,
// JWT checks, rate limits, processing, and fault switches. `startSimulator()` wires the parts
// together and serves them on 127.0.0.1; each concern lives in its own module.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AppStoreReleases } from './app-store-releases.js'
import { generateApiKey, type ApiKey } from './auth.js'
import { ContractValidator } from './contract.js'
import { Faults } from './faults.js'
import { JsonApi } from './jsonapi.js'
import { resolveOptions, type SimulatorOptions, type SimulatorOverrides } from './options.js'
import { Packs } from './packs.js'
import { Processing } from './processing.js'
import { Random } from './random.js'
import { Review, type SeededSubmission } from './review.js'
import { ApiRouter, type LoggedRequest } from './router.js'
import { serve } from './server.js'
import { StorageEndpoint, UrlSigner } from './storage.js'
import { Store, type PackRecord, type ReviewSubmissionRecord } from './store.js'
import { Uploads } from './uploads.js'
import { Verdicts } from './verdicts.js'
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
  /**
   * Apple's verdicts on a submitted review submission (WAITING_FOR_REVIEW or IN_REVIEW); also at
   * `POST /simulator/review-submissions/{id}/approve`, `/reject` and `/start-review`.
   * Approved: its versions' App Store releases READY_FOR_DISTRIBUTION and their packs' App Store
   * versions (the previous ones SUPERSEDED), items APPROVED, the submission COMPLETE.
   */
  approveSubmission(id: string): ReviewSubmissionRecord
  /** Rejected: releases and items REJECTED, the submission UNRESOLVED_ISSUES. */
  rejectSubmission(id: string): ReviewSubmissionRecord
  /** Review begins (from WAITING_FOR_REVIEW): the submission and its releases IN_REVIEW. */
  startReview(id: string): ReviewSubmissionRecord
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
  const releases = new AppStoreReleases(sim)
  const review = new Review(sim, releases)
  const verdicts = new Verdicts(sim, releases)

  const keys = new Map<string, ApiKey>()
  const addKey = (kind: 'team' | 'individual' = 'team') => {
    const key = generateApiKey(kind)
    keys.set(key.keyId, key)
    return key
  }
  const key = addKey()
  store.apps.add(options.appId)
  const seedPack = (seed: SimulatorOptions['packs'][number]) =>
    packs.seed(seed, { versions, uploads, processing, releases })
  for (const pack of options.packs) seedPack(pack)

  const requests: LoggedRequest[] = []
  const contractViolations: string[] = []
  const securityViolations: string[] = []
  const handlers = {
    ...packs.handlers,
    ...versions.handlers,
    ...releases.handlers,
    ...uploads.handlers,
    ...review.handlers
  }
  const contract = ContractValidator.load()
  const router = new ApiRouter(options, contract, keys, faults, handlers, contractViolations, now)
  const storage = new StorageEndpoint(store, options, signer, faults, securityViolations, now)

  const server = await serve(options, { api: router, storage, control: verdicts }, faults, requests)
  baseUrl = server.baseUrl

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
    approveSubmission: (id) => verdicts.approve(id),
    rejectSubmission: (id) => verdicts.reject(id),
    startReview: (id) => verdicts.startReview(id),
    now,
    async close() {
      await processing.close()
      await server.close()
      // Parts received before the close may still be folding into the spool: they end first.
      await Promise.all([...store.uploadFiles.values()].map((f) => f.assembly?.discard()))
      await rm(spoolDir, { recursive: true, force: true })
    }
  }
}
