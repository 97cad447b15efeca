// Names of the action's inputs and outputs (action.yml is the contract) and fixed API facts.

export enum Inputs {
  AppId = 'app-id',
  AssetPackIdentifier = 'asset-pack-identifier',
  ArchivePath = 'archive-path',
  ManifestPath = 'manifest-path',
  KeyId = 'key-id',
  IssuerId = 'issuer-id',
  PrivateKey = 'private-key',
  PrivateKeyPath = 'private-key-path',
  CreateAssetPack = 'create-asset-pack',
  ReuseExisting = 'reuse-existing',
  WaitForProcessing = 'wait-for-processing',
  ProcessingTimeout = 'processing-timeout',
  PollInterval = 'poll-interval',
  UploadConcurrency = 'upload-concurrency',
  StallTimeout = 'stall-timeout',
  SubmitForReview = 'submit-for-review',
  DispatchEvent = 'dispatch-event',
  GithubToken = 'github-token',
  ReviewPlatform = 'review-platform',
  DryRun = 'dry-run',
  ApiBaseUrl = 'api-base-url'
}

export enum Outputs {
  AssetPackId = 'asset-pack-id',
  VersionId = 'version-id',
  Version = 'version',
  State = 'state',
  InternalBetaState = 'internal-beta-state',
  UploadFileId = 'upload-file-id',
  ManifestUploadFileId = 'manifest-upload-file-id',
  ArchiveMd5 = 'archive-md5',
  Reused = 'reused',
  ReviewSubmissionId = 'review-submission-id',
  ReviewSubmissionState = 'review-submission-state'
}

/** Defaults as action.yml declares them (the runner passes them; these cover direct runs). */
export const DEFAULTS = {
  [Inputs.CreateAssetPack]: 'false',
  [Inputs.ReuseExisting]: 'true',
  [Inputs.WaitForProcessing]: 'true',
  [Inputs.ProcessingTimeout]: '30m',
  [Inputs.PollInterval]: '15s',
  [Inputs.UploadConcurrency]: '8',
  [Inputs.StallTimeout]: '60s',
  [Inputs.SubmitForReview]: 'false',
  [Inputs.DryRun]: 'false',
  [Inputs.ApiBaseUrl]: 'https://api.appstoreconnect.apple.com'
} as const

export const MAX_UPLOAD_CONCURRENCY = 32
export const JWT_AUDIENCE = 'appstoreconnect-v1'
/** Apple refuses tokens whose exp - iat exceeds 20 minutes. */
export const JWT_MAX_LIFETIME_SECONDS = 1200
/** iat is set this far in the past, so a runner clock slightly ahead of Apple's is tolerated. */
export const JWT_BACKDATE_SECONDS = 60
/** A cached token is replaced when it has less than this left (or a quarter of a shorter lifetime). */
export const JWT_RENEW_MARGIN_SECONDS = 300
/** Page size for list requests (the spec's maximum). */
export const PAGE_LIMIT = 200
/** Log upload progress at most this often. */
export const PROGRESS_INTERVAL_MS = 5000

/** App Store Connect platforms, and the manifest's names for them. */
export const PLATFORMS = {
  IOS: 'iOS',
  MAC_OS: 'macOS',
  TV_OS: 'tvOS',
  VISION_OS: 'visionOS'
} as const
export type Platform = keyof typeof PLATFORMS
