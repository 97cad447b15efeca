// What a run found and did, gathered as it goes: the outputs, per-phase timings, Apple's messages.
// Published once at the end (outputs, annotations, job summary), whether the run succeeded or not.
import * as core from '@actions/core'
import type { BackgroundAssetVersion } from './asc/client.js'
import type { AppHosting, PackLookup } from './asset-pack.js'
import { Outputs } from './constants.js'
import type { Delivery } from './delivery.js'
import type { DispatchPayload } from './dispatch.js'
import type { ActionInputs } from './inputs.js'
import type { ReviewResult } from './review.js'
import type { VersionChoice } from './version.js'
import { CancelledError, InputError, ProcessingFailedError } from './errors.js'
import type { Ledger } from './ledger.js'

export interface Phase {
  name: string
  ms: number
  /** Bytes moved in the phase, for a throughput figure. */
  bytes?: number
}

export interface AppleMessage {
  level: 'error' | 'warning' | 'info'
  code?: string
  description?: string
}

export class RunReport {
  readonly startedAt = Date.now()
  readonly outputs: Partial<Record<Outputs, string>> = {}
  readonly phases: Phase[] = []
  readonly appleMessages: AppleMessage[] = []
  readonly warnings: string[] = []
  appId?: string
  assetPackIdentifier?: string
  archiveName?: string
  archiveSize?: number
  dryRun = false
  retries = 0
  apiRequests = 0
  tokensIssued = 0
  /** A line for the summary saying what happened beyond the table (reused, dry run, …). */
  notes: string[] = []
  failure?: Error
  /** The app's Apple-hosted storage, now and with this archive. */
  hosting?: AppHosting

  set(output: Outputs, value: string | undefined): void {
    if (value !== undefined) this.outputs[output] = value
  }

  recordPack({ pack, created }: PackLookup): void {
    this.set(Outputs.AssetPackId, pack?.id)
    if (created)
      this.notes.push(`The asset pack '${this.assetPackIdentifier}' did not exist and was created.`)
  }

  /** The version's identity and last seen state, with Apple's non-fatal messages. */
  recordVersion(version: BackgroundAssetVersion | undefined, internalBetaState?: string): void {
    if (!version) return
    this.set(Outputs.VersionId, version.id)
    this.set(Outputs.Version, version.attributes?.version)
    this.set(Outputs.State, version.attributes?.state)
    this.set(
      Outputs.InternalBetaState,
      internalBetaState ?? this.outputs[Outputs.InternalBetaState] ?? ''
    )
    const details = version.attributes?.stateDetails
    if (version.attributes?.state === 'COMPLETE' && details) {
      this.appleMessages.splice(
        0,
        this.appleMessages.length,
        ...(details.warnings ?? []).map((m) => ({ level: 'warning' as const, ...m })),
        ...(details.infos ?? []).map((m) => ({ level: 'info' as const, ...m }))
      )
    }
  }

  /** Runs one pipeline phase in a log group and records its duration. */
  async phase<T>(
    name: string,
    fn: () => Promise<T>,
    bytesMoved?: (result: T) => number
  ): Promise<T> {
    const started = Date.now()
    let result: { value: T } | undefined
    try {
      result = { value: await core.group(name, fn) }
      return result.value
    } finally {
      this.phases.push({
        name,
        ms: Date.now() - started,
        bytes: result && bytesMoved?.(result.value)
      })
    }
  }

  describe(inputs: ActionInputs): void {
    this.appId = inputs.appId
    this.assetPackIdentifier = inputs.assetPackIdentifier
    this.archiveName = inputs.archive?.fileName
    this.archiveSize = inputs.archive?.size
    this.dryRun = inputs.dryRun
  }

  finishDryRun(choice: VersionChoice, md5: string | undefined, review: boolean): void {
    this.set(Outputs.ArchiveMd5, md5)
    this.set(Outputs.Reused, String(choice.kind === 'reuse' || choice.kind === 'existing'))
    const plan =
      choice.kind === 'existing'
        ? `hand over version ${choice.version.attributes?.version} (version-id) without an upload`
        : choice.kind === 'reuse' && choice.madeBy
          ? `reuse version ${choice.version.attributes?.version}, which attempt ${choice.madeBy.attempt} of this run made`
          : {
              reuse: 'reuse the version that already holds this archive',
              resume: 'upload into the version left AWAITING_UPLOAD',
              create: 'create a new version and upload into it'
            }[choice.kind]
    this.notes.push(
      `Dry run: inputs, key, app and asset pack are fine. A real run would ${plan}${review ? ', then submit it for App Store review' : ''}. Nothing was written.`
    )
    core.info(this.notes[this.notes.length - 1])
  }

  /** A version handed over without an upload; `md5` is that of the archive it holds, when known. */
  recordReuse(
    choice: Extract<VersionChoice, { kind: 'reuse' | 'existing' }>,
    md5: string | undefined
  ): void {
    this.set(Outputs.UploadFileId, choice.assetFile?.id)
    this.set(Outputs.ArchiveMd5, md5)
    this.set(Outputs.Reused, 'true')
    const version = choice.version.attributes?.version
    this.notes.push(
      choice.kind === 'existing'
        ? `Version ${version} was given as version-id: handed over as it is, nothing was uploaded.`
        : choice.madeBy
          ? `Version ${version} was made by attempt ${choice.madeBy.attempt} of this run (${choice.madeBy.runId}); reusing it: its archive was built from the same commit. Nothing was uploaded.`
          : `Version ${version} already holds this exact archive (same size and checksum): nothing was uploaded.`
    )
  }

  /** What a repository_dispatch tells the next workflow about this release. */
  dispatchPayload(): DispatchPayload {
    const o = this.outputs
    return {
      appId: this.appId ?? '',
      assetPackIdentifier: this.assetPackIdentifier ?? '',
      versionId: o[Outputs.VersionId] ?? '',
      version: o[Outputs.Version] ?? '',
      state: o[Outputs.State] ?? ''
    }
  }

  recordReview(review: ReviewResult): void {
    this.set(Outputs.ReviewSubmissionId, review.submission.id)
    this.set(Outputs.ReviewSubmissionState, review.submission.attributes?.state)
    this.notes.push(
      review.alreadySubmitted
        ? `The version was already in review submission ${review.submission.id} (${review.submission.attributes?.state}); nothing was changed.`
        : `Submitted for App Store review in ${review.reusedDraft ? "the app's open draft" : 'a new submission'} ${review.submission.id} (${review.submission.attributes?.state}).`
    )
  }

  recordDelivery(delivery: Delivery): void {
    this.set(Outputs.UploadFileId, delivery.uploadFile.id)
    this.set(Outputs.ArchiveMd5, delivery.digests.md5)
    this.set(Outputs.Reused, 'false')
    if (delivery.checksumForm !== 'sourceFileChecksums')
      this.warnings.push(
        'The commit used the deprecated sourceFileChecksum MD5 string: App Store Connect refused the sourceFileChecksums object.'
      )
  }

  /** Cancelled runs say what was left and whether a re-run resumes. */
  recordLedger(ledger: Ledger | undefined): void {
    if (!(this.failure instanceof CancelledError)) return
    const sent = ledger?.current.sentParts.length ?? 0
    this.notes.push(
      ledger?.active
        ? `Cancelled with ${sent} part(s) of the archive accepted by App Store Connect. The resume ledger was saved: a re-run sends only the parts that are left.`
        : `Cancelled with ${sent} part(s) of the archive accepted. Without a cache service there is no resume ledger: a re-run uploads into the same version from the start.`
    )
  }

  fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error))
    core.debug(`${(error as Error)?.stack ?? String(error)}`)
    if (error instanceof ProcessingFailedError) this.appleMessages.push(...error.messages)
  }

  /** Outputs (every one known), then annotations; the step fails when the run did. */
  publish(): void {
    for (const [name, value] of Object.entries(this.outputs)) core.setOutput(name, value)
    const error = this.failure
    if (!error) return
    if (error instanceof InputError) {
      for (const problem of error.problems) core.error(problem, { title: 'Invalid input' })
      core.setFailed(
        `${error.problems.length} input problem(s); nothing was sent to App Store Connect.`
      )
      return
    }
    core.setFailed(error.message)
  }
}
