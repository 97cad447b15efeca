// Names of the action's inputs and outputs, their defaults and bounds: action.yml is the contract.

export enum Inputs {
  AppId = 'app-id',
  AssetPackIdentifier = 'asset-pack-identifier',
  ArchivePath = 'archive-path',
  ManifestPath = 'manifest-path',
  VersionId = 'version-id',
  Packs = 'packs',
  KeyId = 'key-id',
  IssuerId = 'issuer-id',
  PrivateKey = 'private-key',
  PrivateKeyPath = 'private-key-path',
  CreateAssetPack = 'create-asset-pack',
  ReuseExisting = 'reuse-existing',
  SkipUnchanged = 'skip-unchanged',
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
  Unchanged = 'unchanged',
  ContentId = 'content-id',
  Locale = 'locale',
  ReviewSubmissionId = 'review-submission-id',
  ReviewSubmissionState = 'review-submission-state',
  Packs = 'packs'
}

/**
 * The keys of one object of the `packs` output, in order: the pack's identifier, the single-pack
 * outputs that describe it, and `reused` and `unchanged` (booleans there).
 */
export const PACKS_OUTPUT_KEYS = [
  Inputs.AssetPackIdentifier,
  Outputs.AssetPackId,
  Outputs.VersionId,
  Outputs.Version,
  Outputs.State,
  Outputs.InternalBetaState,
  Outputs.UploadFileId,
  Outputs.ManifestUploadFileId,
  Outputs.ArchiveMd5,
  Outputs.ContentId,
  Outputs.Locale,
  Outputs.Reused,
  Outputs.Unchanged
] as const

/** Defaults as action.yml declares them (the runner passes them; these cover direct runs). */
export const DEFAULTS = {
  [Inputs.CreateAssetPack]: 'false',
  [Inputs.ReuseExisting]: 'true',
  [Inputs.SkipUnchanged]: 'true',
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

/** Apple's limit of asset packs (one version each) in one review submission. */
export const MAX_PACKS_PER_REVIEW = 10
