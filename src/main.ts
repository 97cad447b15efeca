// The pipeline of a run, one step a line in run(); each step's details below it. The only
// top-level try/catch is here.
import * as core from '@actions/core'
import { ArchiveChecksums } from './archive.js'
import { AppStoreConnectClient, type BackgroundAsset } from './asc/client.js'
import { findOrCreateAssetPack } from './asset-pack.js'
import { TokenProvider } from './asc/auth.js'
import { listenForCancellation } from './cancellation.js'
import { Outputs } from './constants.js'
import { deliverFile, preflightManifest } from './delivery.js'
import { sendDispatch } from './dispatch.js'
import { getInputs, type ActionInputs, type ArchiveFile } from './inputs.js'
import { Ledger } from './ledger.js'
import { readVersion, waitForVersion, type ProcessedVersion } from './processing.js'
import { RunReport } from './report.js'
import { reviewPlatformFor, submitForReview } from './review.js'
import { writeSummary } from './summary.js'
import { PartUploader } from './parts/uploader.js'
import { chooseVersion, existingVersion, heldMd5, type VersionChoice } from './version.js'
import { currentRun, reservationFileName } from './workflow-run.js'

/** Testing hook: a shorter token lifetime, to exercise renewal without waiting 20 minutes. */
const TOKEN_LIFETIME = Number(process.env.ASSET_PACK_RELEASE_TOKEN_LIFETIME_SECONDS) || undefined

/** One run's context: its inputs and report, and what it opened (closed at the end whatever happens). */
interface Session {
  report: RunReport
  inputs: ActionInputs
  api: AppStoreConnectClient
  /** The archive's checksums (computed when first needed); none with version-id. */
  checksums?: ArchiveChecksums
  tokens?: TokenProvider
  uploader?: PartUploader
  ledger?: Ledger
}

export async function run(): Promise<void> {
  listenForCancellation()
  const report = new RunReport()
  let opened: Partial<Session> = {}
  try {
    const inputs = await report.phase('Checking inputs', getInputs)
    const session = (opened = authenticate(report, inputs))
    const pack = await report.phase('Finding the asset pack', () => findAssetPack(session))
    const choice = await report.phase('Choosing the version', () => chooseTarget(session, pack))
    if (inputs.dryRun) return await finishDryRun(session, choice)
    if (choice.kind === 'reuse' || choice.kind === 'existing')
      report.recordReuse(choice, await md5Of(session, choice))
    else await uploadArchive(session, inputs.archive!, choice.version!.id)
    const processed = await waitForProcessing(session)
    if (processed) await handOver(session, pack!, processed)
  } catch (error) {
    report.fail(error)
  } finally {
    await publish(report, opened)
  }
}

/** Step 2: tokens signed (and renewed) as requests need them; one client for every API call. */
function authenticate(report: RunReport, inputs: ActionInputs): Session {
  report.describe(inputs)
  const tokens = new TokenProvider(inputs.credentials, Date.now, TOKEN_LIFETIME)
  const api = AppStoreConnectClient.create(inputs.apiBaseUrl, tokens)
  const checksums = inputs.archive && new ArchiveChecksums(inputs.archive.path)
  return { report, inputs, api, tokens, checksums }
}

/** Step 3. */
async function findAssetPack({ api, inputs, report }: Session) {
  const lookup = await findOrCreateAssetPack(api, inputs, (hosting) => (report.hosting = hosting))
  report.recordPack(lookup)
  return lookup.pack
}

/** Step 4: the version version-id names, or the one that receives the archive. */
async function chooseTarget(
  { api, inputs, report, checksums }: Session,
  pack: BackgroundAsset | undefined
): Promise<VersionChoice> {
  const choice = inputs.versionId
    ? await existingVersion(api, pack!, inputs.versionId)
    : await chooseVersion(api, pack?.id, {
        reuseExisting: inputs.reuseExisting,
        dryRun: inputs.dryRun,
        archiveSize: inputs.archive!.size,
        digests: (sha256) => checksums!.get(sha256),
        run: currentRun()
      })
  report.recordVersion(choice.version)
  return choice
}

/** The MD5 of the archive the version will hold: this one, or, reusing an earlier attempt's
 * version (other bytes, same content), the one Apple holds, when its checksum is an MD5. */
async function md5Of({ checksums }: Session, choice: VersionChoice): Promise<string | undefined> {
  if (choice.kind === 'existing') return choice.assetFile && heldMd5(choice.assetFile)
  if (choice.kind === 'reuse' && choice.madeBy) return heldMd5(choice.assetFile)
  return (await checksums!.get()).md5
}

async function finishDryRun(session: Session, choice: VersionChoice): Promise<void> {
  session.report.finishDryRun(choice, await md5Of(session, choice), session.inputs.submitForReview)
}

/** Steps 5–7: manifest preflight, then the archive's parts and commit, resumable from the ledger. */
async function uploadArchive(
  session: Session,
  archive: ArchiveFile,
  versionId: string
): Promise<void> {
  const { api, inputs, report } = session
  const parts = (session.uploader = PartUploader.create(inputs.uploadConcurrency))
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
      const ledger = (session.ledger = await Ledger.restore(inputs, archive, versionId))
      return deliverFile(
        api,
        parts,
        versionId,
        {
          assetType: 'ASSET',
          source: archive.path,
          size: archive.size,
          fileName: reservationFileName(archive.fileName, currentRun())
        },
        {
          stallTimeoutMs: inputs.stallTimeoutMs,
          known: session.checksums?.known,
          ...ledger.hooks()
        }
      )
    },
    (sent) => sent.stats.bytes
  )
  report.recordDelivery(delivery)
  session.ledger?.settled()
}

/** Step 8: wait for COMPLETE or FAILED (or, with wait-for-processing off, read the state once). */
async function waitForProcessing({
  api,
  inputs,
  report
}: Session): Promise<ProcessedVersion | undefined> {
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

/** After a COMPLETE version: tell the next workflow, and submit for review when asked. */
async function handOver(
  { api, inputs, report }: Session,
  pack: BackgroundAsset,
  processed: ProcessedVersion
): Promise<void> {
  const dispatch = inputs.dispatch
  if (dispatch)
    await report.phase('Sending repository_dispatch', () =>
      sendDispatch(dispatch.token, dispatch.eventType, report.dispatchPayload())
    )
  if (inputs.submitForReview) {
    const platform = reviewPlatformFor(processed.version, inputs.reviewPlatform)
    const review = await report.phase('Submitting for App Store review', () =>
      submitForReview(api, inputs.appId, pack.id, processed.version, platform)
    )
    report.recordReview(review)
  }
}

function pollOptions(inputs: ActionInputs) {
  return { timeoutMs: inputs.processingTimeoutMs, pollIntervalMs: inputs.pollIntervalMs }
}

/** Step 9: close what is open, then outputs, annotations and the job summary — also on failure. */
async function publish(
  report: RunReport,
  { api, uploader, tokens, ledger }: Partial<Session>
): Promise<void> {
  report.retries = (api?.retries ?? 0) + (uploader?.retries ?? 0)
  report.apiRequests = api?.requests ?? 0
  report.tokensIssued = tokens?.issued ?? 0
  await ledger?.flush()
  report.recordLedger(ledger)
  await Promise.allSettled([uploader?.close(), api?.close()])
  report.publish()
  await writeSummary(report).catch((e: unknown) =>
    core.warning(`Could not write the job summary: ${String(e)}`)
  )
}
