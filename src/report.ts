// What a run found and did, gathered as it goes: per asset pack its outputs, timings and Apple's
// messages (PackReport), and for the run what is shared (RunReport: the review submission, the
// requests, the failure). Published once at the end (outputs, annotations, job summary), whether
// the run succeeded or not.
import * as core from '@actions/core'
import type { AppStoreReleaseState, BackgroundAssetVersion } from './asc/client.js'
import type { AppHosting, PackLookup } from './asset-pack.js'
import { Inputs, Outputs, PACKS_OUTPUT_KEYS } from './constants.js'
import type { Delivery } from './delivery.js'
import type { DispatchPayload } from './dispatch.js'
import type { RunInputs } from './inputs.js'
import { declaredManifest, type PackEntry } from './pack-entries.js'
import { needsReview, type ReviewCandidate, type ReviewResult } from './review.js'
import { handsOver, versionMadeBy, type VersionChoice } from './version.js'
import { CancelledError, InputError, PacksFailedError, ProcessingFailedError } from './errors.js'
import type { Ledger } from './ledger.js'
import * as log from './log.js'

export interface Phase {
  name: string
  startedAt: number
  ms: number
  /** Bytes moved in the phase, for a throughput figure. */
  bytes?: number
}

export interface AppleMessage {
  level: 'error' | 'warning' | 'info'
  code?: string
  description?: string
}

/** The outputs that describe one asset pack (the others describe the run's review submission). */
type PackOutput = Exclude<
  Outputs,
  Outputs.ReviewSubmissionId | Outputs.ReviewSubmissionState | Outputs.Packs
>

/** Runs `fn` as a named phase (a log group, or a heading line inside one pack's pipeline). */
async function timed<T>(
  phases: Phase[],
  name: string,
  fn: () => Promise<T>,
  bytesMoved?: (result: T) => number
): Promise<T> {
  const startedAt = Date.now()
  let result: { value: T } | undefined
  try {
    result = { value: await log.group(name, fn) }
    return result.value
  } finally {
    phases.push({
      name,
      startedAt,
      ms: Date.now() - startedAt,
      bytes: result && bytesMoved?.(result.value)
    })
  }
}

/** One asset pack of the run: what was found and done for it. */
export class PackReport {
  readonly outputs: Partial<Record<PackOutput, string>> = {}
  readonly phases: Phase[] = []
  readonly appleMessages: AppleMessage[] = []
  /** Lines for the summary saying what happened beyond the table (reused, dry run, …). */
  readonly notes: string[] = []
  readonly warnings: string[] = []
  readonly startedAt = Date.now()
  finishedAt?: number
  failure?: Error

  /** The App Store release state of the version that is the release; undefined: not submitted. */
  appStoreState?: AppStoreReleaseState
  /** Set when the pack's newest version already held this content: that version's number. */
  unchangedSince?: string

  constructor(readonly entry: PackEntry) {
    const archive = entry.archive
    this.set(Outputs.ContentId, archive?.contentId)
    this.set(Outputs.Locale, declaredManifest(entry)?.language)
    this.notes.push(...(archive?.notes ?? []))
    this.warnings.push(...(archive?.warnings ?? []))
  }

  get identifier(): string {
    return this.entry.assetPackIdentifier
  }

  set(output: PackOutput, value: string | undefined): void {
    if (value !== undefined) this.outputs[output] = value
  }

  phase<T>(name: string, fn: () => Promise<T>, bytesMoved?: (result: T) => number): Promise<T> {
    return timed(this.phases, name, fn, bytesMoved)
  }

  recordPack({ pack, created }: PackLookup): void {
    this.set(Outputs.AssetPackId, pack?.id)
    if (created)
      this.notes.push(`The asset pack '${this.identifier}' did not exist and was created.`)
  }

  /** The version chosen (before anything is written), and what the choice says beyond it. */
  recordChoice(choice: VersionChoice): void {
    this.recordVersion(choice.version)
    if (handsOver(choice)) this.appStoreState = choice.appStoreState
    if (choice.kind === 'create' && choice.warning) this.warnings.push(choice.warning)
  }

  /** The version's identity and last seen state, with Apple's non-fatal messages. */
  recordVersion(version: BackgroundAssetVersion | undefined, internalBetaState?: string): void {
    if (!version) return
    this.set(Outputs.VersionId, version.id)
    this.set(Outputs.Version, version.attributes?.version)
    this.set(Outputs.State, version.attributes?.state)
    this.set(Outputs.Locale, version.attributes?.locale)
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

  finishDryRun(choice: VersionChoice, md5: string | undefined, review: boolean): void {
    this.set(Outputs.ArchiveMd5, md5)
    this.set(Outputs.Reused, String(handsOver(choice)))
    this.set(Outputs.Unchanged, String(choice.kind === 'reuse' && !!choice.unchanged))
    if (choice.kind === 'reuse' && choice.unchanged)
      this.unchangedSince = choice.version.attributes?.version
    // A version already in review or live stays out of the submission.
    const settled =
      handsOver(choice) && !needsReview(choice.appStoreState) ? choice.appStoreState : undefined
    const submitted = !review
      ? ''
      : settled
        ? `, and leave it out of the review submission (it is ${settled} on the App Store)`
        : ', then submit it for App Store review'
    const plan =
      choice.kind === 'existing'
        ? `hand over version ${choice.version.attributes?.version} (version-id) without an upload`
        : choice.kind === 'reuse' && choice.unchanged
          ? `keep version ${choice.version.attributes?.version}, which already holds this content`
          : choice.kind === 'reuse' && choice.madeBy
            ? `reuse version ${choice.version.attributes?.version}, which attempt ${choice.madeBy.attempt} of this run made`
            : {
                reuse: 'reuse the version that already holds this archive',
                resume: 'upload into the version left AWAITING_UPLOAD',
                create: 'create a new version and upload into it'
              }[choice.kind]
    this.notes.push(
      `Dry run: inputs, key, app and asset pack are fine. A real run would ${plan}${submitted}. Nothing was written.`
    )
    log.info(this.notes[this.notes.length - 1])
  }

  /** A version handed over without an upload; `md5` is that of the archive it holds, when known. */
  recordReuse(
    choice: Extract<VersionChoice, { kind: 'reuse' | 'existing' }>,
    md5: string | undefined
  ): void {
    this.set(Outputs.UploadFileId, choice.assetFile?.id)
    this.set(Outputs.ArchiveMd5, md5)
    this.set(Outputs.Reused, 'true')
    const unchanged = choice.kind === 'reuse' && choice.unchanged
    this.set(Outputs.Unchanged, String(!!unchanged))
    if (unchanged) this.unchangedSince = choice.version.attributes?.version
    const version = choice.version.attributes?.version
    this.notes.push(
      choice.kind === 'existing'
        ? `Version ${version} was given as version-id: handed over as it is, nothing was uploaded.`
        : choice.madeBy
          ? `Version ${version} was made by attempt ${choice.madeBy.attempt} of this run (${choice.madeBy.runId}); reusing it: its archive was built from the same commit. Nothing was uploaded.`
          : unchanged
            ? `Unchanged since ${versionMadeBy(choice.version, unchanged.since)}: that version holds the same content (files, paths and manifest), so it is the release. Nothing was uploaded.`
            : `Version ${version} already holds this exact archive (same size and checksum): nothing was uploaded.`
    )
  }

  recordDelivery(delivery: Delivery): void {
    this.set(Outputs.UploadFileId, delivery.uploadFile.id)
    this.set(Outputs.ArchiveMd5, delivery.digests.md5)
    this.set(Outputs.Reused, 'false')
    this.set(Outputs.Unchanged, 'false')
    if (delivery.checksumForm !== 'sourceFileChecksums')
      this.warnings.push(
        'The commit used the deprecated sourceFileChecksum MD5 string: App Store Connect refused the sourceFileChecksums object.'
      )
  }

  /** Cancelled uploads say what was left and whether a re-run resumes. */
  recordLedger(ledger: Ledger | undefined, runFailure: Error | undefined): void {
    if (!((this.failure ?? runFailure) instanceof CancelledError) || !ledger) return
    const sent = ledger.current.sentParts.length
    this.notes.push(
      ledger.active
        ? `Cancelled with ${sent} part(s) of the archive accepted by App Store Connect. The resume ledger was saved: a re-run sends only the parts that are left.`
        : `Cancelled with ${sent} part(s) of the archive accepted. Without a cache service there is no resume ledger: a re-run uploads into the same version from the start.`
    )
  }

  fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error))
    core.debug(`${this.identifier}: ${(error as Error)?.stack ?? String(error)}`)
    if (error instanceof ProcessingFailedError) this.appleMessages.push(...error.messages)
  }

  /** This pack's object in the `packs` output: every key, null when not known. */
  packsOutput(): Record<string, string | boolean | null> {
    return Object.fromEntries(
      PACKS_OUTPUT_KEYS.map((key) => [
        key,
        key === Inputs.AssetPackIdentifier
          ? this.identifier
          : key === Outputs.Reused || key === Outputs.Unchanged
            ? this.outputs[key] === 'true'
            : this.outputs[key] || null
      ])
    )
  }
}

export class RunReport {
  readonly startedAt = Date.now()
  readonly outputs: Partial<Record<Outputs, string>> = {}
  readonly phases: Phase[] = []
  readonly warnings: string[] = []
  /** One per entry, in input order. */
  packs: PackReport[] = []
  appId?: string
  dryRun = false
  retries = 0
  apiRequests = 0
  tokensIssued = 0
  /** Lines for the summary about the whole run (the review submission, …). */
  notes: string[] = []
  failure?: Error
  /** The app's Apple-hosted storage, now and with this run's archives. */
  hosting?: AppHosting

  /** A run-level phase, in a log group. */
  phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return timed(this.phases, name, fn)
  }

  describe(inputs: RunInputs): void {
    this.appId = inputs.appId
    this.dryRun = inputs.dryRun
    this.packs = inputs.entries.map((entry) => new PackReport(entry))
  }

  /** The run's one asset pack, when it has exactly one (the single-value outputs describe it). */
  get single(): PackReport | undefined {
    return this.packs.length === 1 ? this.packs[0] : undefined
  }

  /** What a repository_dispatch tells the next workflow about this release. */
  dispatchPayload(): DispatchPayload {
    const packs = this.packs.map((p) => ({
      assetPackIdentifier: p.identifier,
      versionId: p.outputs[Outputs.VersionId] ?? '',
      version: p.outputs[Outputs.Version] ?? '',
      state: p.outputs[Outputs.State] ?? ''
    }))
    return { appId: this.appId ?? '', ...(this.single ? packs[0] : {}), packs }
  }

  recordReview(review: ReviewResult): void {
    const packOf = (c: ReviewCandidate) => this.packs.find((p) => p.identifier === c.identifier)
    for (const c of review.added) packOf(c)!.appStoreState = 'WAITING_FOR_REVIEW'
    if (review.leftOut.length)
      this.notes.push(
        `Left out of the review submission, already in review, accepted or live: ${review.leftOut.map((c) => `${c.identifier} version ${c.version.attributes?.version} (${c.appStoreState})`).join(', ')}.`
      )
    const { submission } = review
    if (!submission) {
      this.notes.push(
        'Nothing was submitted for App Store review: no version needed it, so no submission was made.'
      )
      return
    }
    this.outputs[Outputs.ReviewSubmissionId] = submission.id
    if (submission.attributes?.state)
      this.outputs[Outputs.ReviewSubmissionState] = submission.attributes.state
    const what = this.single ? 'The version was' : `The ${this.packs.length} versions were`
    this.notes.push(
      review.alreadySubmitted
        ? `${what} already in review submission ${submission.id} (${submission.attributes?.state}); nothing was changed.`
        : `Submitted ${review.added.map((c) => c.identifier).join(', ')} for App Store review in ${review.reusedDraft ? "the app's open draft" : 'a new submission'} ${submission.id} (${submission.attributes?.state}).`
    )
  }

  fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error))
    core.debug(`${(error as Error)?.stack ?? String(error)}`)
  }

  /** Outputs (every one known), then annotations; the step fails when the run did. */
  publish(): void {
    const single = this.single
    if (single)
      for (const [name, value] of Object.entries(single.outputs)) core.setOutput(name, value)
    if (this.packs.length)
      core.setOutput(Outputs.Packs, JSON.stringify(this.packs.map((p) => p.packsOutput())))
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
    if (error instanceof PacksFailedError)
      for (const pack of error.failed)
        core.error(`${pack.identifier}: ${pack.failure?.message}`, {
          title: `Asset pack ${pack.identifier} failed`
        })
    core.setFailed(error.message)
  }
}
