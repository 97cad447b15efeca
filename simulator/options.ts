// Everything a test, the demo or the benchmark can set. The defaults are fast and clean:
// processing finishes within a second, no faults, no latency, a rate budget far above any test.

import type { components } from '../src/asc/generated/asc-api.js'

// The spec's enums, so the simulator cannot drift from them.
export type ChecksumAlgorithm = components['schemas']['ChecksumAlgorithm']
export type Platform = components['schemas']['Platform']
export type VersionState = components['schemas']['BackgroundAssetVersionState']
export type AppStoreReleaseState =
  components['schemas']['BackgroundAssetVersionAppStoreReleaseState']

export interface StateMessage {
  code: string
  description: string
}

/** A request the fault switches aim at: a method and a spec path template (or a concrete path). */
export interface RequestMatcher {
  method: string
  path: string
}

export interface InjectedStatus extends RequestMatcher {
  status: number
  /** How many matching requests get the status; the rest pass. */
  times: number
}

export interface DroppedResponse extends RequestMatcher {
  times: number
}

export interface SeededArchive {
  fileName?: string
  fileSize: number
  md5: string
  sha256?: string
}

export interface SeededVersion {
  state: VersionState
  /** An archive this version already holds (committed), as its checksums. */
  archive?: SeededArchive
  platforms?: Platform[]
  /** The version's language, as a processed manifest's `language` would have set it. */
  locale?: string
  /**
   * An App Store release in this state; READY_FOR_DISTRIBUTION also makes the version its pack's
   * App Store version (the newest such version of the seed wins).
   */
  appStoreState?: AppStoreReleaseState
}

export interface SeededPack {
  identifier: string
  archived?: boolean
  versions?: SeededVersion[]
}

export interface UploadLayout {
  /** Bytes per upload operation. */
  partSize: number
  /** Vary part sizes between half and one and a half of partSize. */
  unevenParts: boolean
  /** Return the operations array in random order. */
  shuffleOperations: boolean
  /** How long upload operations stay valid, in seconds (Apple: about a week). */
  expiresInSeconds: number
  /** A deliberately wrong layout, to test the client's checks. */
  defect?: 'gap' | 'overlap' | 'past-end'
}

export interface ChecksumPolicy {
  /** The file checksum algorithm announced in reservations. */
  fileAlgorithm: ChecksumAlgorithm
  /** Announce (and accept) a composite MD5 as well. */
  announceComposite: boolean
  /** Refuse a commit that carries no checksum. */
  requireChecksum: boolean
  /** Refuse the `sourceFileChecksums` object form with a 409 (exercises the deprecated fallback). */
  refuseChecksumObject: boolean
}

export interface ProcessingPolicy {
  /** Milliseconds from an ASSET commit to PROCESSING ending. */
  assetMs: number
  /** Milliseconds from a MANIFEST commit to its verdict. */
  manifestMs: number
  /** Never leave PROCESSING. */
  neverFinish: boolean
  /** Make every ASSET (or only those of the pack `identifier`) fail processing with these details. */
  failWith?: {
    errors: StateMessage[]
    warnings?: StateMessage[]
    infos?: StateMessage[]
    identifier?: string
  }
}

export interface FaultPolicy {
  /** Seed of every random choice, so a failing run can be replayed. */
  seed: number
  /** Share of storage PUTs answered 500 after their body was read. */
  storageFailureRate: number
  /** Share of storage PUTs whose connection is reset halfway through the body. */
  storageResetRate: number
  /** Share of storage PUTs the storage stops reading and never answers (a stalled transfer). */
  storageStallRate: number
  /** Probability that an API request starts a burst of 429s, and how long the burst lasts. */
  rateLimitBurst: { probability: number; durationMs: number }
  /** Chosen API calls answered with a status (5xx usually) before they run. */
  injectStatus: InjectedStatus[]
  /** Chosen API calls that run (and create) and then lose their connection without an answer. */
  dropResponse: DroppedResponse[]
  /** Added before every answer, API and storage. */
  latencyMs: number
  /** Upload bandwidth caps in bytes per second (0 = none). */
  bandwidthPerConnection: number
  bandwidthTotal: number
  /** Processing of one chosen pack's archives takes this much longer (a slow pack among many). */
  processingDelay?: { identifier: string; ms: number }
}

export interface SimulatorOptions {
  port: number
  host: string
  /** The simulator's clock runs this many milliseconds ahead of the machine (negative: behind). */
  clockOffsetMs: number
  /** The pre-seeded app's numeric Apple ID. */
  appId: string
  /** API requests a key may send per rolling hour. */
  rateLimitPerHour: number
  /** API requests a key may send per rolling minute (0: no per-minute limit, and no minute header). */
  rateLimitPerMinute: number
  /** Requests the key already spent this hour (other jobs share its budget). */
  rateLimitSpent: number
  /** Packs (with versions) that exist before the first request. */
  packs: SeededPack[]
  /** The app has an approved version (before that, packs go to review only with the first app version). */
  appApproved: boolean
  /** Platforms a version gets when no manifest named them. */
  defaultPlatforms: Platform[]
  /** Records every request and response against the spec (on by default; off for the benchmark). */
  validateContract: boolean
  upload: UploadLayout
  checksums: ChecksumPolicy
  processing: ProcessingPolicy
  faults: FaultPolicy
}

export type SimulatorOverrides = Partial<
  Omit<SimulatorOptions, 'upload' | 'checksums' | 'processing' | 'faults'>
> & {
  upload?: Partial<UploadLayout>
  checksums?: Partial<ChecksumPolicy>
  processing?: Partial<ProcessingPolicy>
  faults?: Partial<FaultPolicy>
}

export const DEFAULT_OPTIONS: SimulatorOptions = {
  port: 0,
  host: '127.0.0.1',
  clockOffsetMs: 0,
  appId: '6449876543',
  rateLimitPerHour: 3500,
  rateLimitPerMinute: 0,
  rateLimitSpent: 0,
  packs: [],
  appApproved: true,
  defaultPlatforms: ['IOS'],
  validateContract: true,
  upload: {
    partSize: 8 * 1024 * 1024,
    unevenParts: false,
    shuffleOperations: false,
    expiresInSeconds: 7 * 24 * 3600
  },
  checksums: {
    fileAlgorithm: 'MD5',
    announceComposite: false,
    requireChecksum: false,
    refuseChecksumObject: false
  },
  processing: { assetMs: 300, manifestMs: 100, neverFinish: false },
  faults: {
    seed: 1,
    storageFailureRate: 0,
    storageResetRate: 0,
    storageStallRate: 0,
    rateLimitBurst: { probability: 0, durationMs: 0 },
    injectStatus: [],
    dropResponse: [],
    latencyMs: 0,
    bandwidthPerConnection: 0,
    bandwidthTotal: 0
  }
}

/**
 * The wide-area profile of the benchmark: 32 MiB/s per connection, 20 ms per request, 8 MiB parts.
 */
export const WIDE_AREA: SimulatorOverrides = {
  validateContract: false,
  upload: { partSize: 8 * 1024 * 1024 },
  faults: { latencyMs: 20, bandwidthPerConnection: 32 * 1024 * 1024 }
}

export function resolveOptions(overrides: SimulatorOverrides = {}): SimulatorOptions {
  return {
    ...DEFAULT_OPTIONS,
    ...overrides,
    upload: { ...DEFAULT_OPTIONS.upload, ...overrides.upload },
    checksums: { ...DEFAULT_OPTIONS.checksums, ...overrides.checksums },
    processing: { ...DEFAULT_OPTIONS.processing, ...overrides.processing },
    faults: { ...DEFAULT_OPTIONS.faults, ...overrides.faults }
  }
}
