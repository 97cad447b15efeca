// The job summary: a status line, one table (the pack's fields, or a row per pack of several),
// Apple's messages, the timings, and what produced it.
import * as core from '@actions/core'
import { CONTENT_ID_SHOWN } from './pack-entries.js'
import { currentRun } from './workflow-run.js'
import { Outputs } from './constants.js'
import {
  CancelledError,
  InputError,
  PacksFailedError,
  ProcessingFailedError,
  ProcessingTimeoutError
} from './errors.js'
import { PackReport, type AppleMessage, type Phase, type RunReport } from './report.js'
import { formatCount, formatDecimalSize, formatSize } from './format.js'
import { APP_HOSTING_LIMIT_BYTES, HOSTING_LIMIT_TEXT, MAX_PACKS_PER_APP } from './asset-pack.js'

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * The tag, commit and run, from the variables the runner sets. Read directly rather than through
 * @actions/github's context: that module brings Octokit, whose loading at the end of the run
 * would be the run's memory peak (about 7 MB more on Node 24).
 */
function provenance(): string | undefined {
  const { GITHUB_REPOSITORY: repository, GITHUB_SHA: sha, GITHUB_REF: ref = '' } = process.env
  const run = currentRun()
  if (!repository || !sha || !run) return undefined
  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com'
  const again = run.attempt > 1
  const url = `${server}/${repository}/actions/runs/${run.runId}${again ? `/attempts/${run.attempt}` : ''}`
  return `Built from <code>${escape(ref)}</code> at <code>${sha.slice(0, 12)}</code> · <a href="${url}">run ${run.runId}${again ? ` (attempt ${run.attempt})` : ''}</a>`
}

/** The app's Apple-hosted storage against Apple's 200 GB, with this run's archives counted. */
function hostingText({ hosting, packs }: RunReport): string {
  if (!hosting) return '—'
  const share = Math.round((hosting.withArchiveBytes / APP_HOSTING_LIMIT_BYTES) * 100)
  return `${formatDecimalSize(hosting.withArchiveBytes)} of ${HOSTING_LIMIT_TEXT} (${share} %) with ${packs.length === 1 ? 'this archive' : 'these archives'} · ${hosting.packs} of ${MAX_PACKS_PER_APP} asset packs`
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
  if (failure instanceof PacksFailedError)
    return 'The other asset packs were released and are listed above: fix the failed ones and run again; a re-run reuses the versions that are COMPLETE and uploads nothing for them.'
  return undefined
}

function statusLine(report: RunReport, single: PackReport | undefined): string {
  if (!single) return statusLineOfMany(report)
  const o = single.outputs
  const pack = single.identifier || 'asset pack'
  if (report.failure instanceof CancelledError)
    return `⏹️ ${pack}: cancelled — a re-run picks up where this one stopped`
  if (report.failure)
    return `❌ ${pack}: failed${o[Outputs.State] ? ` (version ${o[Outputs.Version] ?? '?'} ${o[Outputs.State]})` : ''}`
  if (report.dryRun) return `🧪 ${pack}: dry run passed — nothing was written`
  const verb =
    o[Outputs.Unchanged] === 'true'
      ? 'unchanged: still'
      : o[Outputs.Reused] === 'true'
        ? 'already uploaded as'
        : 'released as'
  return `✅ ${pack} ${verb} version ${o[Outputs.Version] ?? '?'} — ${o[Outputs.State] ?? 'uploaded'}${o[Outputs.InternalBetaState] ? `, internal testing ${o[Outputs.InternalBetaState]}` : ''}`
}

function statusLineOfMany(report: RunReport): string {
  const n = report.packs.length
  const failed = report.packs.filter((p) => p.failure)
  if (report.failure instanceof CancelledError)
    return `⏹️ ${n} asset packs: cancelled — a re-run picks up where this one stopped`
  if (failed.length)
    return `❌ ${failed.length} of ${n} asset packs failed: ${failed.map((p) => p.identifier).join(', ')}`
  if (report.failure) return `❌ ${n} asset packs: failed`
  if (report.dryRun) return `🧪 ${n} asset packs: dry run passed — nothing was written`
  const review = report.outputs[Outputs.ReviewSubmissionState]
  return `✅ ${n} asset packs released — ${report.packs.map((p) => `${p.identifier} ${p.outputs[Outputs.Version] ?? '?'}`).join(', ')}${review ? `; review ${review}` : ''}`
}

/** The single pack's table rows: what was released, and how. */
function rows(report: RunReport, pack: PackReport): [string, string][] {
  const o = pack.outputs
  const archive = pack.entry.archive
  return [
    [
      'Asset pack',
      `${pack.identifier || '—'}${o[Outputs.AssetPackId] ? ` (<code>${o[Outputs.AssetPackId]}</code>)` : ''}`
    ],
    [
      'Version',
      o[Outputs.Version] ? `${o[Outputs.Version]} (<code>${o[Outputs.VersionId]}</code>)` : '—'
    ],
    ['State', o[Outputs.State] ?? '—'],
    ['Internal beta', o[Outputs.InternalBetaState] || '—'],
    ['App Store', appStoreText(pack)],
    [
      'Archive',
      archive
        ? `${escape(archive.fileName)} · ${formatSize(archive.size)} (${formatCount(archive.size)} bytes)`
        : '—'
    ],
    ['App storage', hostingText(report)],
    ...(o[Outputs.Locale] ? [['Locale', escape(o[Outputs.Locale])] as [string, string]] : []),
    ['MD5', o[Outputs.ArchiveMd5] ? `<code>${o[Outputs.ArchiveMd5]}</code>` : '—'],
    ['Content', contentText(pack)],
    [
      'Reused',
      o[Outputs.Reused] === 'true'
        ? 'yes — no upload needed'
        : o[Outputs.Reused] === 'false'
          ? 'no'
          : '—'
    ],
    ...runRows(report)
  ]
}

function runRows(report: RunReport): [string, string][] {
  return [
    [
      'Retries',
      `${report.retries} (${report.apiRequests} API requests, ${report.tokensIssued} token(s) signed)`
    ],
    ['Total time', seconds(Date.now() - report.startedAt)]
  ]
}

/**
 * The content: new, or unchanged since a version, with the identity's first characters (the
 * `content-id` output has all of them).
 */
function contentText(pack: PackReport): string {
  const id = pack.outputs[Outputs.ContentId]
  if (!id) return pack.entry.archive ? 'not read' : '—'
  const since = pack.unchangedSince
  const reused = pack.outputs[Outputs.Reused]
  const what = since ? `unchanged since version ${since}` : reused === 'false' ? 'new' : ''
  return `${what ? `${what} · ` : ''}<code>${id.slice(0, CONTENT_ID_SHOWN)}</code>`
}

/** The App Store release's state of the version that is the release. */
function appStoreText(pack: PackReport): string {
  return pack.appStoreState ?? (pack.outputs[Outputs.VersionId] ? 'not submitted' : '—')
}

/** One row per pack of a run of several; a locale column when a pack has one. */
function packRows(report: RunReport, locales: boolean): string[][] {
  return report.packs.map((p) => {
    const o = p.outputs
    const state = p.failure && !o[Outputs.State] ? 'failed' : (o[Outputs.State] ?? '—')
    return [
      // The resource IDs are in the packs output; the version's is what a reader looks up.
      escape(p.identifier),
      ...(locales ? [escape(o[Outputs.Locale] ?? '—')] : []),
      o[Outputs.Version] ? `${o[Outputs.Version]} (<code>${o[Outputs.VersionId]}</code>)` : '—',
      `${p.failure ? '❌ ' : ''}${state}`,
      o[Outputs.InternalBetaState] || '—',
      appStoreText(p),
      p.entry.archive ? formatSize(p.entry.archive.size) : '—',
      contentText(p),
      o[Outputs.Reused] === 'true' ? 'yes' : o[Outputs.Reused] === 'false' ? 'no' : '—',
      p.finishedAt ? seconds(p.finishedAt - p.startedAt) : '—'
    ]
  })
}

function addMessages(
  summary: typeof core.summary,
  messages: AppleMessage[],
  heading: string
): void {
  if (!messages.length) return
  summary.addRaw(`<p><strong>${escape(heading)}</strong></p>`, true)
  summary.addList(
    messages.map(
      (m) => `${m.level}: <code>${escape(m.code ?? '—')}</code> ${escape(m.description ?? '')}`
    )
  )
}

function addError(summary: typeof core.summary, failure: Error, heading = 'Error'): void {
  // Apple's messages get their own list below; the error block keeps the sentence around them.
  const message =
    failure instanceof ProcessingFailedError
      ? failure.message.split('\n')[0].replace(/:$/, '.')
      : failure.message
  summary.addRaw(`<p><strong>${escape(heading)}</strong></p><pre>${escape(message)}</pre>`, true)
}

function addTimings(summary: typeof core.summary, phases: Phase[]): void {
  if (!phases.length) return
  const text = [...phases]
    .sort((a, b) => a.startedAt - b.startedAt)
    .map(
      (p) =>
        `${escape(p.name)} ${seconds(p.ms)}${p.bytes ? ` (${formatSize(p.bytes / Math.max(p.ms / 1000, 0.001))}/s)` : ''}`
    )
  summary.addRaw(`<p><strong>Timings</strong> · ${text.join(' · ')}</p>`, true)
}

function addList(summary: typeof core.summary, heading: string, items: string[]): void {
  if (!items.length) return
  summary.addRaw(`<p><strong>${heading}</strong></p>`, true)
  summary.addList(items.map(escape))
}

/** A run of one pack: its table of fields, its messages and notes, the timings. */
function writeSinglePack(summary: typeof core.summary, report: RunReport, pack: PackReport): void {
  summary.addTable([
    [
      { data: 'Field', header: true },
      { data: 'Value', header: true }
    ],
    ...rows(report, pack)
  ])
  const failure = pack.failure ?? report.failure
  if (failure) {
    addError(summary, failure)
    const next = nextStep(failure)
    if (next) summary.addRaw(`<p><strong>Next step</strong> · ${escape(next)}</p>`, true)
  }
  addMessages(summary, pack.appleMessages, 'Messages from App Store Connect')
  addList(summary, 'Warnings', [...report.warnings, ...pack.warnings])
  for (const note of [...pack.notes, ...report.notes])
    summary.addRaw(`<p>${escape(note)}</p>`, true)
  addTimings(summary, [...report.phases, ...pack.phases])
}

/** A run of several packs: a row per pack, the review submission, then each pack's details. */
function writeManyPacks(summary: typeof core.summary, report: RunReport): void {
  const locales = report.packs.some((p) => p.outputs[Outputs.Locale])
  const headings = ['Asset pack', ...(locales ? ['Locale'] : []), 'Version', 'State']
  headings.push('Internal beta', 'App Store', 'Size', 'Content', 'Reused', 'Time')
  summary.addTable([headings.map((data) => ({ data, header: true })), ...packRows(report, locales)])
  const review = report.outputs[Outputs.ReviewSubmissionId]
  summary.addRaw(
    `<p><strong>Review submission</strong> · ${review ? `<code>${review}</code> ${report.outputs[Outputs.ReviewSubmissionState] ?? ''}` : '—'}</p>`,
    true
  )
  if (report.failure && !(report.failure instanceof PacksFailedError))
    addError(summary, report.failure)
  for (const pack of report.packs) {
    if (pack.failure && !(pack.failure instanceof CancelledError))
      addError(summary, pack.failure, `${pack.identifier}: error`)
    addMessages(summary, pack.appleMessages, `${pack.identifier}: messages from App Store Connect`)
    addList(summary, `${escape(pack.identifier)}: warnings`, pack.warnings)
    for (const note of pack.notes)
      summary.addRaw(`<p>${escape(`${pack.identifier}: ${note}`)}</p>`, true)
  }
  const next = report.failure && nextStep(report.failure)
  if (next) summary.addRaw(`<p><strong>Next step</strong> · ${escape(next)}</p>`, true)
  addList(summary, 'Warnings', report.warnings)
  for (const note of report.notes) summary.addRaw(`<p>${escape(note)}</p>`, true)
  summary.addRaw(
    `<p><strong>App storage</strong> · ${hostingText(report)} · ${runRows(report)
      .map(([k, v]) => `<strong>${k}</strong> ${v}`)
      .join(' · ')}</p>`,
    true
  )
  addTimings(summary, report.phases)
}

export async function writeSummary(report: RunReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  // Before the inputs are read (an input error) there is no pack yet: the table is empty then.
  const single =
    report.single ?? (report.packs.length ? undefined : new PackReport({ assetPackIdentifier: '' }))
  const summary = core.summary.addHeading(escape(statusLine(report, single)), 3)
  if (single) writeSinglePack(summary, report, single)
  else writeManyPacks(summary, report)
  const origin = provenance()
  if (origin) summary.addRaw(`<p>${origin}</p>`, true)
  await summary.write()
}
