// The pipeline of a run, one step a line in run(); each step's details below it. A run releases
// one asset pack or several (the `packs` input): every check and read comes first, for every
// pack, then each pack's writes run at once, sharing one token provider, one API client (one
// rate-limit budget) and one pool of upload-concurrency part slots. The only top-level try/catch
// is here.
import * as core from '@actions/core'
import { ArchiveChecksums } from './archive/index.js'
import {
  AppStoreConnectClient,
  type BackgroundAsset,
  type BackgroundAssetVersion
} from './asc/client.js'
import { createAssetPack, findAssetPacks } from './asset-pack.js'
import { TokenProvider } from './asc/auth.js'
import { listenForCancellation } from './cancellation.js'
import { MAX_PACKS_PER_REVIEW, Outputs } from './constants.js'
import { deliverFile, preflightManifest } from './delivery.js'
import { sendDispatch } from './dispatch.js'
import { CancelledError, PacksFailedError } from './errors.js'
import { getInputs, type ActionInputs, type RunInputs, type SharedInputs } from './inputs.js'
import { declaredManifest, type ArchiveFile } from './pack-entries.js'
import { Ledger } from './ledger.js'
import * as log from './log.js'
import { readVersion, waitForVersion, type ProcessedVersion } from './processing.js'
import { RunReport, type PackReport } from './report.js'
import { needsReview, reviewPlatformFor, submitForReview, type ReviewCandidate } from './review.js'
import { writeSummary } from './summary.js'
import { PartUploader } from './parts/uploader.js'
import {
  chooseVersion,
  createVersion,
  existingVersion,
  handsOver,
  heldMd5,
  type VersionChoice
} from './version.js'
import { currentRun, reservationFileName } from './workflow-run.js'

/** Testing hook: a shorter token lifetime, to exercise renewal without waiting 20 minutes. */
const TOKEN_LIFETIME = Number(process.env.ASSET_PACK_RELEASE_TOKEN_LIFETIME_SECONDS) || undefined

/** One run's context: its inputs and report, and what it opened (closed at the end whatever happens). */
interface Session {
  report: RunReport
  inputs: RunInputs
  api: AppStoreConnectClient
  tokens?: TokenProvider
  /** Made when the first file is uploaded; shared by every pack. */
  uploader?: PartUploader
  releases: PackRelease[]
}

/** One asset pack's release within the run. */
interface PackRelease {
  /** The pack's view of the inputs: its own and the run's. */
  inputs: ActionInputs
  report: PackReport
  /** The archive's checksums (computed when first needed); none with version-id. */
  checksums?: ArchiveChecksums
  /** Undefined until created, when the pack does not exist yet. */
  pack?: BackgroundAsset
  choice?: VersionChoice
  ledger?: Ledger
  processed?: ProcessedVersion
}

export async function run(): Promise<void> {
  listenForCancellation()
  const report = new RunReport()
  let opened: Partial<Session> = {}
  try {
    const inputs = await report.phase('Checking inputs', getInputs)
    const session = (opened = authenticate(report, inputs))
    await report.phase(many(session, 'Finding the asset pack', 'Finding the asset packs'), () =>
      findPacks(session)
    )
    await report.phase(many(session, 'Choosing the version', 'Choosing the versions'), () =>
      eachPack(session, chooseTarget)
    )
    checkReview(session)
    if (inputs.dryRun) return await eachPack(session, finishDryRun)
    await eachPack(session, release)
    await handOver(session)
  } catch (error) {
    report.fail(error)
  } finally {
    await publish(report, opened)
  }
}

/** A phase's name: the singular for one pack, the plural for several. */
function many({ releases }: Session, one: string, several: string): string {
  return releases.length > 1 ? several : one
}

/** Step 2: tokens signed (and renewed) as requests need them; one client for every API call. */
function authenticate(report: RunReport, inputs: RunInputs): Session {
  report.describe(inputs)
  const tokens = new TokenProvider(inputs.credentials, Date.now, TOKEN_LIFETIME)
  const api = AppStoreConnectClient.create(inputs.apiBaseUrl, tokens)
  const releases = inputs.entries.map((entry, i) => ({
    inputs: { ...inputs, ...entry },
    report: report.packs[i],
    checksums: entry.archive && new ArchiveChecksums(entry.archive.path)
  }))
  return { report, inputs, api, tokens, releases }
}

/**
 * Runs one step for every pack at once, each with its log lines prefixed in a run of several.
 * Every pack finishes its step; then a failure of one (or several) ends the run.
 */
async function eachPack(
  session: Session,
  step: (session: Session, release: PackRelease) => Promise<void>
): Promise<void> {
  const label = (r: PackRelease) =>
    session.releases.length > 1 ? r.inputs.assetPackIdentifier : undefined
  await Promise.all(
    session.releases.map((r) =>
      log
        .forPack(label(r), () => step(session, r))
        .catch((error: unknown) => r.report.fail(error))
        .finally(() => (r.report.finishedAt = Date.now()))
    )
  )
  const failed = session.report.packs.filter((p) => p.failure)
  if (!failed.length) return
  if (session.inputs.submitForReview) {
    const nothing = `Nothing was submitted for App Store review: ${failed.length} of ${session.releases.length} asset pack(s) did not reach COMPLETE.`
    session.report.notes.push(nothing)
    log.info(nothing)
  }
  const cancelled = failed.find((p) => p.failure instanceof CancelledError)
  throw session.report.single
    ? failed[0].failure
    : (cancelled?.failure ?? new PacksFailedError(failed))
}

/** Step 3: the app's packs listed once, checked for every entry before anything is written. */
async function findPacks({ api, inputs, report, releases }: Session): Promise<void> {
  const found = await findAssetPacks(api, inputs, (hosting) => (report.hosting = hosting))
  found.forEach((pack, i) => {
    releases[i].pack = pack
    releases[i].report.recordPack({ pack, created: false })
  })
}

/** Step 4 (reads only): the version version-id names, or the one that will receive the archive. */
async function chooseTarget({ api }: Session, r: PackRelease): Promise<void> {
  const { inputs, pack, checksums } = r
  r.choice = inputs.versionId
    ? await existingVersion(api, pack!, inputs.versionId)
    : await chooseVersion(api, pack?.id, {
        reuseExisting: inputs.reuseExisting,
        skipUnchanged: inputs.skipUnchanged,
        dryRun: inputs.dryRun,
        archiveSize: inputs.archive!.size,
        contentId: inputs.archive!.contentId,
        locale: declaredManifest(inputs)?.language,
        digests: (sha256) => checksums!.get(sha256),
        run: currentRun()
      })
  r.report.recordChoice(r.choice)
}

/**
 * Before any write: what goes into the review submission must fit it. A pack with a new upload
 * goes in; a version handed over goes in unless it is already in review, accepted or live.
 */
function checkReview({ inputs, releases }: Session): void {
  if (!inputs.submitForReview) return
  const going = releases.filter((r) => !handsOver(r.choice!) || needsReview(r.report.appStoreState))
  if (going.length > MAX_PACKS_PER_REVIEW)
    throw new Error(
      `submit-for-review: ${going.length} asset packs need App Store review (${going.map((r) => r.inputs.assetPackIdentifier).join(', ')}), and Apple's review submissions hold at most ${MAX_PACKS_PER_REVIEW} asset packs (one version each). Release at most ${MAX_PACKS_PER_REVIEW} changed packs per step, or submit some in App Store Connect first. Nothing was written.`
    )
  const known = going.filter((r) => r.choice?.version?.attributes?.platforms?.length)
  reviewPlatformFor(
    known.map((r) => reviewCandidate(r, r.choice!.version!)),
    inputs.reviewPlatform
  )
}

/** A pack's version as the review submission takes it. */
function reviewCandidate(r: PackRelease, version: BackgroundAssetVersion): ReviewCandidate {
  return {
    packId: r.pack!.id,
    identifier: r.inputs.assetPackIdentifier,
    version,
    appStoreState: r.report.appStoreState
  }
}

/** The MD5 of the archive the version will hold: this one, or, keeping a version of the same
 * content (other bytes), the one Apple holds, when its checksum is an MD5. */
async function md5Of({ checksums, choice }: PackRelease): Promise<string | undefined> {
  if (choice!.kind === 'existing') return choice!.assetFile && heldMd5(choice!.assetFile)
  if (choice!.kind === 'reuse' && (choice!.madeBy || choice!.unchanged))
    return heldMd5(choice!.assetFile)
  return (await checksums!.get()).md5
}

async function finishDryRun(_: Session, r: PackRelease): Promise<void> {
  r.report.finishDryRun(r.choice!, await md5Of(r), r.inputs.submitForReview)
}

/** Steps 5–8 for one pack: its pack and version made if needed, the upload, the wait. */
async function release(session: Session, r: PackRelease): Promise<void> {
  const choice = r.choice!
  if (handsOver(choice)) r.report.recordReuse(choice, await md5Of(r))
  else {
    const versionId =
      choice.kind === 'resume'
        ? choice.version.id
        : await r.report.phase('Creating the version', () => createTarget(session, r, choice))
    await uploadArchive(session, r, versionId)
  }
  r.processed = await waitForProcessing(session, r)
}

/** The pack (created when missing) and a new version to receive the archive. */
async function createTarget(
  { api, inputs, report }: Session,
  r: PackRelease,
  choice: Extract<VersionChoice, { kind: 'create' }>
): Promise<string> {
  if (!r.pack) {
    const lookup = await createAssetPack(api, inputs.appId, r.inputs.assetPackIdentifier)
    r.report.recordPack(lookup)
    if (report.hosting) report.hosting.packs++
    r.pack = lookup.pack
  }
  const version = await createVersion(api, r.pack!.id, choice.newestBefore)
  r.report.recordVersion(version)
  return version.id
}

/** Steps 5–7: manifest preflight, then the archive's parts and commit, resumable from the ledger. */
async function uploadArchive(session: Session, r: PackRelease, versionId: string): Promise<void> {
  const { api } = session
  const { inputs, report } = r
  const archive: ArchiveFile = inputs.archive!
  const parts = (session.uploader ??= PartUploader.create(inputs.uploadConcurrency))
  const poll = pollOptions(inputs)
  const manifest = inputs.manifest
  if (manifest) {
    const preflight = await report.phase('Manifest preflight', () =>
      preflightManifest(api, parts, versionId, manifest, poll, inputs.stallTimeoutMs)
    )
    report.set(Outputs.ManifestUploadFileId, preflight.id)
  }
  const delivery = await report.phase(
    'Uploading the archive',
    async () => {
      const ledger = (r.ledger = await Ledger.restore(inputs, archive, versionId))
      return deliverFile(
        api,
        parts,
        versionId,
        {
          assetType: 'ASSET',
          source: archive.path,
          size: archive.size,
          fileName: reservationFileName(archive.fileName, currentRun(), archive.contentId)
        },
        {
          stallTimeoutMs: inputs.stallTimeoutMs,
          known: r.checksums?.known,
          ...ledger.hooks()
        }
      )
    },
    (sent) => sent.stats.bytes
  )
  report.recordDelivery(delivery)
  r.ledger?.settled()
}

/** Step 8: wait for COMPLETE or FAILED (or, with wait-for-processing off, read the state once). */
async function waitForProcessing(
  { api }: Session,
  { inputs, report }: PackRelease
): Promise<ProcessedVersion | undefined> {
  const versionId = report.outputs[Outputs.VersionId]!
  if (!inputs.waitForProcessing) {
    const now = await readVersion(api, versionId)
    report.recordVersion(now.version, now.internalBetaState)
    return undefined
  }
  return report.phase('Waiting for processing', () =>
    waitForVersion(api, versionId, pollOptions(inputs), (p) =>
      report.recordVersion(p.version, p.internalBetaState)
    )
  )
}

/** After every version is COMPLETE: one event for the next workflow, one review submission. */
async function handOver({ api, inputs, report, releases }: Session): Promise<void> {
  if (releases.some((r) => !r.processed)) return
  const dispatch = inputs.dispatch
  if (dispatch)
    await report.phase('Sending repository_dispatch', () =>
      sendDispatch(dispatch.token, dispatch.eventType, report.dispatchPayload())
    )
  if (inputs.submitForReview) {
    const candidates = releases.map((r) => reviewCandidate(r, r.processed!.version))
    const needed = candidates.filter((c) => needsReview(c.appStoreState))
    const platform = needed.length ? reviewPlatformFor(needed, inputs.reviewPlatform) : undefined
    const review = await report.phase('Submitting for App Store review', () =>
      submitForReview(api, inputs.appId, candidates, platform)
    )
    report.recordReview(review)
  }
}

function pollOptions(inputs: SharedInputs) {
  return { timeoutMs: inputs.processingTimeoutMs, pollIntervalMs: inputs.pollIntervalMs }
}

/** Step 9: close what is open, then outputs, annotations and the job summary — also on failure. */
async function publish(
  report: RunReport,
  { api, uploader, tokens, releases = [] }: Partial<Session>
): Promise<void> {
  report.retries = (api?.retries ?? 0) + (uploader?.retries ?? 0)
  report.apiRequests = api?.requests ?? 0
  report.tokensIssued = tokens?.issued ?? 0
  for (const r of releases) {
    await r.ledger?.flush()
    r.report.recordLedger(r.ledger, report.failure)
  }
  await Promise.allSettled([uploader?.close(), api?.close()])
  report.publish()
  await writeSummary(report).catch((e: unknown) =>
    core.warning(`Could not write the job summary: ${String(e)}`)
  )
}
