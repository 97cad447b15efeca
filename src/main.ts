// The pipeline of DESIGN.md, one step a line. The only top-level try/catch is here.
import * as core from '@actions/core'
import { ArchiveChecksums } from './archive.js'
import { AppStoreConnectClient } from './asc-client.js'
import { findOrCreateAssetPack } from './asset-pack.js'
import { TokenProvider } from './auth.js'
import { listenForCancellation } from './cancellation.js'
import { Outputs } from './constants.js'
import { deliverFile, preflightManifest } from './delivery.js'
import { sendDispatch } from './dispatch.js'
import { getInputs } from './inputs.js'
import { Ledger } from './ledger.js'
import { readVersion, waitForVersion } from './processing.js'
import { RunReport } from './report.js'
import { reviewPlatformFor, submitForReview } from './review.js'
import { writeSummary } from './summary.js'
import { PartUploader } from './upload.js'
import { chooseVersion } from './version.js'

/** Testing hook: a shorter token lifetime, to exercise renewal without waiting 20 minutes. */
const TOKEN_LIFETIME = Number(process.env.ASSET_PACK_RELEASE_TOKEN_LIFETIME_SECONDS) || undefined

export async function run(): Promise<void> {
  listenForCancellation()
  const report = new RunReport()
  let client: AppStoreConnectClient | undefined
  let uploader: PartUploader | undefined
  let tokens: TokenProvider | undefined
  let ledger: Ledger | undefined
  try {
    const inputs = await report.phase('Checking inputs', getInputs)
    report.describe(inputs)
    tokens = new TokenProvider(inputs.credentials, Date.now, TOKEN_LIFETIME)
    const api = (client = AppStoreConnectClient.create(inputs.apiBaseUrl, tokens))
    const checksums = new ArchiveChecksums(inputs.archive.path)
    const poll = { timeoutMs: inputs.processingTimeoutMs, pollIntervalMs: inputs.pollIntervalMs }
    const { pack } = await report.phase('Finding the asset pack', () =>
      findOrCreateAssetPack(api, inputs)
    )
    report.set(Outputs.AssetPackId, pack?.id)
    const choice = await report.phase('Choosing the version', () =>
      chooseVersion(api, pack?.id, {
        reuseExisting: inputs.reuseExisting,
        dryRun: inputs.dryRun,
        archiveSize: inputs.archive.size,
        digests: (sha) => checksums.get(sha)
      })
    )
    report.recordVersion(choice.version)
    if (inputs.dryRun)
      return report.finishDryRun(choice.kind, (await checksums.get()).md5, inputs.submitForReview)
    if (choice.kind === 'reuse') {
      report.recordReuse(choice.assetFile.id, (await checksums.get()).md5)
    } else {
      const versionId = choice.version!.id
      const parts = (uploader = PartUploader.create(inputs.uploadConcurrency))
      if (inputs.manifest) {
        const manifest = inputs.manifest
        const preflight = await report.phase('Manifest preflight', () =>
          preflightManifest(api, parts, versionId, manifest, poll, inputs.stallTimeoutMs)
        )
        report.set(Outputs.ManifestUploadFileId, preflight.id)
      }
      const delivery = await report.phase(
        'Uploading the archive',
        async () => {
          const journal = (ledger = await Ledger.restore(inputs, versionId))
          return deliverFile(
            api,
            parts,
            versionId,
            { assetType: 'ASSET', ...inputs.archive },
            { stallTimeoutMs: inputs.stallTimeoutMs, known: checksums.known, ...journal.hooks() }
          )
        },
        (sent) => sent.stats.bytes
      )
      report.recordDelivery(delivery)
      ledger?.settled()
    }
    const versionId = report.outputs[Outputs.VersionId]!
    if (!inputs.waitForProcessing) {
      const now = await readVersion(api, versionId)
      report.recordVersion(now.version, now.internalBetaState)
    } else {
      const processed = await report.phase('Waiting for processing', () =>
        waitForVersion(api, versionId, poll, (p) =>
          report.recordVersion(p.version, p.internalBetaState)
        )
      )
      if (inputs.dispatch)
        await report.phase('Sending repository_dispatch', () =>
          sendDispatch(inputs.dispatch!.token, inputs.dispatch!.eventType, report.dispatchPayload())
        )
      if (inputs.submitForReview) {
        const platform = reviewPlatformFor(processed.version, inputs.reviewPlatform)
        report.recordReview(
          await report.phase('Submitting for App Store review', () =>
            submitForReview(api, inputs.appId, pack!.id, processed.version, platform)
          )
        )
      }
    }
  } catch (error) {
    report.fail(error)
  } finally {
    report.retries = (client?.retries ?? 0) + (uploader?.retries ?? 0)
    report.apiRequests = client?.requests ?? 0
    report.tokensIssued = tokens?.issued ?? 0
    await ledger?.flush()
    report.recordLedger(ledger)
    await Promise.allSettled([uploader?.close(), client?.close()])
    report.publish()
    const usage = process.resourceUsage()
    core.debug(
      `peak RSS ${usage.maxRSS * 1024} bytes, CPU ${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)} ms`
    )
    await writeSummary(report).catch((e: unknown) =>
      core.warning(`Could not write the job summary: ${String(e)}`)
    )
  }
}
