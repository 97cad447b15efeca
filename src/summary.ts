// The job summary: a status line, one table, Apple's messages, the timings, and what produced it.
import * as core from '@actions/core'
import { loadGithubClient } from './bundles/loader.js'
import { Outputs } from './constants.js'
import {
  CancelledError,
  InputError,
  ProcessingFailedError,
  ProcessingTimeoutError
} from './errors.js'
import type { RunReport } from './report.js'
import { formatDecimalSize, formatSize } from './format.js'
import { APP_HOSTING_LIMIT_BYTES, HOSTING_LIMIT_TEXT, MAX_PACKS_PER_APP } from './asset-pack.js'

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

async function provenance(): Promise<string | undefined> {
  const { sha, ref, runId, runAttempt, serverUrl } = (await loadGithubClient()).context
  const repository = process.env.GITHUB_REPOSITORY
  if (!repository || !sha) return undefined
  const run = `${serverUrl}/${repository}/actions/runs/${runId}${runAttempt > 1 ? `/attempts/${runAttempt}` : ''}`
  return `Built from <code>${escape(ref)}</code> at <code>${sha.slice(0, 12)}</code> · <a href="${run}">run ${runId}${runAttempt > 1 ? ` (attempt ${runAttempt})` : ''}</a>`
}

/** The app's Apple-hosted storage against Apple's 200 GB, with this archive counted. */
function hostingText({ hosting }: RunReport): string {
  if (!hosting) return '—'
  const share = Math.round((hosting.withArchiveBytes / APP_HOSTING_LIMIT_BYTES) * 100)
  return `${formatDecimalSize(hosting.withArchiveBytes)} of ${HOSTING_LIMIT_TEXT} (${share} %) with this archive · ${hosting.packs} of ${MAX_PACKS_PER_APP} asset packs`
}

/** What the user does now, for the failures whose remedy is known. */
function nextStep(failure: Error): string | undefined {
  if (failure instanceof InputError)
    return 'Fix the inputs named above and run the workflow again; nothing was sent to App Store Connect.'
  if (failure instanceof ProcessingFailedError)
    return 'A FAILED version is final: fix what App Store Connect reports, rebuild the archive and push a new tag (a re-run of this job makes a new version).'
  if (failure instanceof ProcessingTimeoutError)
    return 'App Store Connect is still processing: re-run this job later; it waits for the same version and uploads nothing.'
  if (failure instanceof CancelledError)
    return 'Re-run the job: it picks up the same version and sends only what is missing.'
  return undefined
}

function statusLine(report: RunReport): string {
  const o = report.outputs
  const pack = report.assetPackIdentifier ?? 'asset pack'
  if (report.failure instanceof CancelledError)
    return `⏹️ ${pack}: cancelled — a re-run picks up where this one stopped`
  if (report.failure)
    return `❌ ${pack}: failed${o[Outputs.State] ? ` (version ${o[Outputs.Version] ?? '?'} ${o[Outputs.State]})` : ''}`
  if (report.dryRun) return `🧪 ${pack}: dry run passed — nothing was written`
  const verb = o[Outputs.Reused] === 'true' ? 'already uploaded as' : 'released as'
  return `✅ ${pack} ${verb} version ${o[Outputs.Version] ?? '?'} — ${o[Outputs.State] ?? 'uploaded'}${o[Outputs.InternalBetaState] ? `, internal testing ${o[Outputs.InternalBetaState]}` : ''}`
}

/** The table's rows: what was released, and how. */
function rows(report: RunReport): [string, string][] {
  const o = report.outputs
  return [
    [
      'Asset pack',
      `${report.assetPackIdentifier ?? '—'}${o[Outputs.AssetPackId] ? ` (<code>${o[Outputs.AssetPackId]}</code>)` : ''}`
    ],
    [
      'Version',
      o[Outputs.Version] ? `${o[Outputs.Version]} (<code>${o[Outputs.VersionId]}</code>)` : '—'
    ],
    ['State', o[Outputs.State] ?? '—'],
    ['Internal beta', o[Outputs.InternalBetaState] || '—'],
    [
      'Archive',
      report.archiveSize !== undefined
        ? `${escape(report.archiveName ?? '')} · ${formatSize(report.archiveSize)} (${report.archiveSize.toLocaleString('en-US')} bytes)`
        : '—'
    ],
    ['App storage', hostingText(report)],
    ['MD5', o[Outputs.ArchiveMd5] ? `<code>${o[Outputs.ArchiveMd5]}</code>` : '—'],
    [
      'Reused',
      o[Outputs.Reused] === 'true'
        ? 'yes — no upload needed'
        : o[Outputs.Reused] === 'false'
          ? 'no'
          : '—'
    ],
    [
      'Retries',
      `${report.retries} (${report.apiRequests} API requests, ${report.tokensIssued} token(s) signed)`
    ],
    ['Total time', seconds(Date.now() - report.startedAt)]
  ]
}

export async function writeSummary(report: RunReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const summary = core.summary.addHeading(escape(statusLine(report)), 3)
  summary.addTable([
    [
      { data: 'Field', header: true },
      { data: 'Value', header: true }
    ],
    ...rows(report)
  ])
  if (report.failure) {
    // Apple's messages get their own list below; the error block keeps the sentence around them.
    const message =
      report.failure instanceof ProcessingFailedError
        ? report.failure.message.split('\n')[0].replace(/:$/, '.')
        : report.failure.message
    summary.addRaw(`<p><strong>Error</strong></p><pre>${escape(message)}</pre>`, true)
    const next = nextStep(report.failure)
    if (next) summary.addRaw(`<p><strong>Next step</strong> · ${escape(next)}</p>`, true)
  }
  if (report.appleMessages.length) {
    summary.addRaw('<p><strong>Messages from App Store Connect</strong></p>', true)
    summary.addList(
      report.appleMessages.map(
        (m) => `${m.level}: <code>${escape(m.code ?? '—')}</code> ${escape(m.description ?? '')}`
      )
    )
  }
  if (report.warnings.length) {
    summary.addRaw('<p><strong>Warnings</strong></p>', true)
    summary.addList(report.warnings.map(escape))
  }
  for (const note of report.notes) summary.addRaw(`<p>${escape(note)}</p>`, true)
  if (report.phases.length) {
    const phases = report.phases.map(
      (p) =>
        `${escape(p.name)} ${seconds(p.ms)}${p.bytes ? ` (${formatSize(p.bytes / Math.max(p.ms / 1000, 0.001))}/s)` : ''}`
    )
    summary.addRaw(`<p><strong>Timings</strong> · ${phases.join(' · ')}</p>`, true)
  }
  const origin = await provenance()
  if (origin) summary.addRaw(`<p>${origin}</p>`, true)
  await summary.write()
}
