// Helpers of the "release only what changed" end-to-end tests: sample packs of several
// identifiers (each in its folder, with its Manifest.json), rebuilt or changed; the `packs` input;
// what the simulator recorded (writes, reservations, PUTs, submissions); and a summary row.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { packEntry, runAction, withPacks, type ActionRun } from '../../scripts/run-action.js'
import { sampleManifest, writeSamplePack, type SamplePack } from '../../scripts/sample-pack.js'
import { FAST_RETRIES, inputsFor, type Harness } from './simulator.js'

export const SIZE = 150_000

export interface Build {
  /** The content: another seed is changed content. */
  seed?: number
  /** The packaging time: another one is a rebuild (same content, other bytes). */
  packagedAt?: number
  /** The manifest's `language`, written in the manifest beside the archive and inside it. */
  language?: string
  /** A folder of its own under the harness's (default: the identifier). */
  folder?: string
}

/** Builds one pack's archive and manifest (the job's ba-package step). */
export async function build(h: Harness, identifier: string, b: Build = {}): Promise<SamplePack> {
  const dir = join(h.dir, b.folder ?? identifier)
  await mkdir(dir, { recursive: true })
  return writeSamplePack(dir, {
    identifier,
    size: SIZE,
    seed: b.seed,
    packagedAt: b.packagedAt,
    manifest: b.language ? { ...sampleManifest(identifier), language: b.language } : undefined
  })
}

/** Builds every pack: `builds(i)` says how the i-th is built (default: seed i + 2). */
export function buildAll(
  h: Harness,
  ids: string[],
  builds: (i: number) => Build = () => ({})
): Promise<SamplePack[]> {
  return Promise.all(ids.map((id, i) => build(h, id, { seed: i + 2, ...builds(i) })))
}

export const uploadEntry = (p: SamplePack) => packEntry(p)

/** The run's inputs with `packs` instead of the single-pack inputs. */
export const packsInputs = (
  h: Harness,
  entries: Record<string, string>[],
  extra: Record<string, string> = {}
) => withPacks(inputsFor(h, extra), entries)

/** The single-pack inputs for `pack`. */
export const singleInputs = (h: Harness, pack: SamplePack, extra: Record<string, string> = {}) =>
  inputsFor(h, { ...uploadEntry(pack), ...extra })

/** The environment of attempt `attempt` of workflow run `runId`. */
export const inRun = (runId: string, attempt = 1) => ({
  GITHUB_RUN_ID: runId,
  GITHUB_RUN_ATTEMPT: String(attempt),
  ...FAST_RETRIES
})

/** Runs the action in attempt `attempt` of workflow run `runId`. */
export const runIn = (inputs: Record<string, string>, runId: string, attempt = 1) =>
  runAction(inputs, { env: inRun(runId, attempt) })

export type PackOutput = Record<string, string | boolean | null>

export const packsOf = (run: ActionRun) => JSON.parse(run.outputs.packs) as PackOutput[]

/** `forest-level-2 (run 555000111 attempt 1, content …).aar`: the name a reservation gets. */
export const reservedName = (
  identifier: string,
  contentId: string,
  run?: { runId: string; attempt: number }
) =>
  `${identifier} (${run ? `run ${run.runId} attempt ${run.attempt}, ` : ''}content ${contentId.slice(0, 32)}).aar`

// ---- what the simulator recorded ------------------------------------------------------------

/** Requests that could have written something (POST, PATCH, PUT, DELETE) since `since`. */
export const writesSince = (h: Harness, since: number) =>
  h.sim.requests.filter((r) => r.method !== 'GET' && r.at >= since)

export const postsTo = (h: Harness, path: string, since: number) =>
  h.sim.requests.filter((r) => r.method === 'POST' && r.path === path && r.at >= since)

export const putsSince = (h: Harness, since: number) =>
  h.sim.requests.filter((r) => r.method === 'PUT' && r.at >= since)

export const packRecord = (h: Harness, identifier: string) =>
  [...h.sim.store.packs.values()].find((p) => p.identifier === identifier)!

export const versionsOf = (h: Harness, identifier: string) =>
  h.sim.store.versionsOf(packRecord(h, identifier).id).sort((a, b) => a.number - b.number)

export const uploadFilesOfPack = (h: Harness, identifier: string) =>
  versionsOf(h, identifier).flatMap((v) => h.sim.store.uploadFilesOf(v.id))

export const submissions = (h: Harness) => [...h.sim.store.reviewSubmissions.values()]

/** The version ids a review submission holds. */
export const itemVersions = (h: Harness, id: string) =>
  h.sim.store
    .reviewSubmission(id)
    .itemIds.map((i) => h.sim.store.reviewItems.get(i)!.backgroundAssetVersionId)

/** A version's App Store release state, or undefined without a release. */
export const appStoreState = (h: Harness, versionId: string) => {
  const version = h.sim.store.version(versionId)
  return h.sim.store.appStoreReleaseOf(version)?.state
}

// ---- the job summary ------------------------------------------------------------------------

/** The cells of the summary table's row of a pack (a run of several). */
export function summaryRow(summary: string, identifier: string): string[] {
  const row = summary
    .split('<tr>')
    .find(
      (r) => r.startsWith(`<td>${identifier} (<code>`) || r.startsWith(`<td>${identifier}</td>`)
    )
  if (!row) throw new Error(`no summary row for ${identifier} in:\n${summary}`)
  return [...row.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1])
}

/** The summary table's column headings (a run of several). */
export const summaryHeadings = (summary: string) =>
  [...(/<tr>((?:<th>.*?<\/th>)+)<\/tr>/.exec(summary)?.[1] ?? '').matchAll(/<th>(.*?)<\/th>/g)].map(
    (m) => m[1]
  )

/** A pack's row as an object keyed by the headings. */
export function summaryCells(summary: string, identifier: string): Record<string, string> {
  const headings = summaryHeadings(summary)
  const cells = summaryRow(summary, identifier)
  return Object.fromEntries(headings.map((heading, i) => [heading, cells[i]]))
}

/** The value of a field of a single pack's summary table. */
export function summaryField(summary: string, field: string): string | undefined {
  return new RegExp(`<tr><td>${field}</td><td>(.*?)</td></tr>`).exec(summary)?.[1]
}
