// `npm run screenshots`: renders the job summary of a successful run, a failed run and a run of
// several packs (the next tag, one of three changed; against the simulator) as GitHub shows it, and screenshots them with headless
// Chromium (Debian's `chromium` package) into docs/. Also keeps the logs as the runner shows them.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startSimulator, type Simulator, type SimulatorOverrides } from '../simulator/index.js'
import { packEntry, runAction, simulatorInputs, withPacks, type ActionRun } from './run-action.js'
import { writeTexturePack, type PackOnDisk } from './sample-archive.js'

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url))
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

// Enough of GitHub's summary styling to judge the layout: fonts, table, lists, code.
const PAGE = (title: string, html: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title><style>
body { margin: 0; background: #f6f8fa; font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.box { margin: 24px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
.box > header { padding: 12px 16px; border-bottom: 1px solid #d0d7de; font-weight: 600; }
.box > div { padding: 8px 24px 16px; }
h3 { font-size: 1.25em; margin: 16px 0 12px; }
table { border-collapse: collapse; margin: 0 0 16px; }
th, td { border: 1px solid #d0d7de; padding: 6px 13px; text-align: left; }
tr:nth-child(2n) { background: #f6f8fa; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: rgba(175,184,193,.2); padding: .2em .4em; border-radius: 6px; }
pre { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: 12px; border-radius: 6px; white-space: pre-wrap; }
details summary { cursor: pointer; }
</style></head><body><div class="box"><header>release summary · an illustration: a run against the bundled simulator</header><div>${html}</div></div></body></html>`

/** What the runner provides, so the summary shows the commit and run it came from. */
const runEnv = (runId: string, tag: string) => ({
  GITHUB_REPOSITORY: 'octo/game',
  GITHUB_SHA: '8f3e2a91c0d47b5e6a1f2c3d4e5f60718293a4b5',
  GITHUB_REF: `refs/tags/${tag}`,
  GITHUB_RUN_ID: runId,
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_SERVER_URL: 'https://github.com'
})

/** The inputs of a release of `packs`: the single-pack inputs, or `packs` for several. */
function releaseInputs(
  sim: Simulator,
  packs: PackOnDisk[],
  extra: Record<string, string>
): Record<string, string> {
  const inputs = simulatorInputs(sim, packs[0], { 'poll-interval': '1s', ...extra })
  return packs.length === 1 ? inputs : withPacks(inputs, packs.map(packEntry))
}

/**
 * A release of `identifiers` (one pack, or several with `packs`) against a fresh simulator. With
 * `nextTag`, an earlier tag released the same packs first and App Review approved them; this tag
 * rebuilt them all, with only the packs `nextTag` names changed.
 */
async function scenario(
  name: string,
  overrides: SimulatorOverrides,
  identifiers = ['forest-level-2'],
  extra: Record<string, string> = {},
  nextTag?: { changed: string[] }
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), `screenshot-${name}-`))
  const sim = await startSimulator({ upload: { partSize: 1024 * 1024 }, ...overrides })
  const build = (packagedAt: number, changed: string[] = []) =>
    Promise.all(
      identifiers.map(async (identifier, i) => {
        await mkdir(join(dir, identifier), { recursive: true })
        return writeTexturePack(join(dir, identifier), identifier, {
          bytes: (6 - i) * 1024 * 1024,
          seed: changed.includes(identifier) ? i + 100 : i + 1,
          packagedAt
        })
      })
    )
  try {
    if (nextTag) {
      const earlier = await runAction(releaseInputs(sim, await build(1_780_000_000), extra), {
        env: runEnv('9876500000', 'assets-v1.3.0')
      })
      if (earlier.exitCode !== 0) throw new Error(`the earlier tag failed:\n${earlier.stdout}`)
      for (const submission of sim.store.reviewSubmissions.values())
        sim.approveSubmission(submission.id)
    }
    const packs = await build(1_780_900_000, nextTag?.changed)
    return await runAction(releaseInputs(sim, packs, extra), {
      env: runEnv('9876543210', 'assets-v1.4.0')
    })
  } finally {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function screenshot(html: string, png: string): void {
  const profile = execFileSync('mktemp', ['-d']).toString().trim()
  execFileSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      '--window-size=1100,860',
      `--screenshot=${png}`,
      `file://${html}`
    ],
    { stdio: 'ignore' }
  )
}

/** The log as the runner shows it: no mask or debug commands. */
function runnerLog(run: ActionRun): string {
  return run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::') && !l.startsWith('::debug::'))
    .join('\n')
}

const success = await scenario('success', {})
// Versions 1 and 2 exist (2 declared visionOS); version 3 drops it, and Apple refuses it.
const earlier = { fileSize: 5_000_000, md5: '0'.repeat(32) }
const failure = await scenario('failure', {
  packs: [
    {
      identifier: 'forest-level-2',
      versions: [
        { state: 'COMPLETE', archive: earlier, platforms: ['IOS'] },
        {
          state: 'COMPLETE',
          archive: { ...earlier, md5: '1'.repeat(32) },
          platforms: ['IOS', 'VISION_OS']
        }
      ]
    }
  ],
  processing: {
    failWith: {
      errors: [
        {
          code: 'ITMS-91148',
          description:
            'The asset pack no longer declares visionOS, which version 2 declared; it will stop reaching visionOS devices.'
        }
      ],
      warnings: [{ code: 'ITMS-91139', description: 'tvOS is not a platform of this app record.' }]
    }
  }
})
// The next tag of three packs released and approved before: only desert-level-1 changed.
const many = await scenario(
  'many-packs',
  {},
  ['forest-level-2', 'desert-level-1', 'voices-fr'],
  { 'submit-for-review': 'true' },
  { changed: ['desert-level-1'] }
)
for (const [name, run] of [
  ['success', success],
  ['failure', failure],
  ['many-packs', many]
] as const) {
  const html = join(DOCS, `summary-${name}.html`)
  await writeFile(html, PAGE(`${name} summary`, run.summary))
  screenshot(html, join(DOCS, `summary-${name}.png`))
  console.log(`docs/summary-${name}.png (exit code ${run.exitCode})`)
}
await writeFile(join(DOCS, 'log-success.txt'), runnerLog(success))
await writeFile(join(DOCS, 'log-failure.txt'), runnerLog(failure))
await writeFile(join(DOCS, 'log-many-packs.txt'), runnerLog(many))
console.log('docs/log-success.txt, docs/log-failure.txt, docs/log-many-packs.txt')
