// `npm run demo`: the whole action against the bundled App Store Connect simulator, no Apple
// account needed. Starts the simulator, writes a sample asset pack, runs dist/index.js as the
// runner would with the `with:` block it prints, shows the outputs and the job summary, then runs
// the same step again, as "Re-run jobs" would: the version is reused and nothing is uploaded;
// last, several packs in one step (`packs`), submitted for review together.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startSimulator, type Simulator } from '../simulator/index.js'
import { renderSummary } from './render-summary.js'
import { runAction, simulatorInputs, type ActionRun } from './run-action.js'
import { stringify } from 'yaml'
import { writeSamplePack, type SamplePack } from './sample-pack.js'

const IDENTIFIER = 'forest-level-2'

/** The `with:` block of a workflow step with these inputs (the key shortened: it is a secret). */
export function withBlock(inputs: Record<string, string>): string {
  const lines = Object.entries(inputs)
    .filter(([, value]) => value !== '')
    .map(([name, value]) =>
      name === 'private-key'
        ? `    private-key: \${{ secrets.ASC_PRIVATE_KEY }}  # the simulator's test key`
        : value.includes('\n')
          ? `    ${name}: |\n${value
              .trimEnd()
              .split('\n')
              .map((line) => `      ${line}`)
              .join('\n')}`
          : `    ${name}: ${JSON.stringify(value)}`
    )
  return ['- uses: asset-pack-release/asset-pack-release@v1', '  with:', ...lines].join('\n')
}

/** The action's log without the runner-only commands, its outputs and its job summary. */
export function show(run: ActionRun): void {
  console.log('── Action log ──────────────────────────────────────────')
  console.log(
    run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::'))
      .join('\n')
  )
  console.log('── Outputs ─────────────────────────────────────────────')
  for (const [name, value] of Object.entries(run.outputs))
    console.log(
      `  ${name.padEnd(24)} ${name === 'packs' ? JSON.stringify(JSON.parse(value), null, 2).replace(/\n/g, '\n  ') : value}`
    )
  console.log('\n── Job summary ─────────────────────────────────────────')
  console.log(renderSummary(run.summary))
}

async function demo(sim: Simulator, dir: string): Promise<number> {
  const pack = await writeSamplePack(dir, { identifier: IDENTIFIER, size: 5 * 1024 * 1024 + 12345 })
  console.log(`App Store Connect simulator: ${sim.baseUrl} (app ${sim.appId})`)
  console.log(
    `Sample asset pack: ${pack.archivePath} (${pack.size} bytes) and ${pack.manifestPath}\n`
  )
  const inputs = simulatorInputs(sim, pack, { 'poll-interval': '1s' })
  console.log('── The step ────────────────────────────────────────────')
  console.log(`${withBlock(inputs)}\n`)
  const first = await runAction(inputs)
  show(first)
  const puts = () => sim.requests.filter((r) => r.method === 'PUT').length
  const putsBefore = puts()
  console.log('══ The same step again (a re-run of the job) ═══════════\n')
  const again = await runAction(inputs)
  show(again)
  console.log(
    `Re-run: version ${again.outputs.version} reused (reused: ${again.outputs.reused}), ${puts() - putsBefore} part uploads sent, ${sim.store.versions.size} version in App Store Connect.`
  )
  const together = await severalPacks(sim, dir, pack)
  return first.exitCode || again.exitCode || together || (again.outputs.reused === 'true' ? 0 : 1)
}

/** The first pack (reused) and two new ones in one step, with one review submission for all. */
async function severalPacks(sim: Simulator, dir: string, forest: SamplePack): Promise<number> {
  const others = await Promise.all(
    ['desert-level-1', 'voices-fr'].map(async (identifier, i) => {
      const packDir = join(dir, identifier)
      await mkdir(packDir)
      return writeSamplePack(packDir, { identifier, size: 3 * 1024 * 1024 + i, seed: i + 2 })
    })
  )
  const entries = [forest, ...others].map((p) => ({
    'asset-pack-identifier': p.identifier,
    'archive-path': p.archivePath,
    'manifest-path': p.manifestPath
  }))
  const inputs = simulatorInputs(sim, forest, {
    'poll-interval': '1s',
    'submit-for-review': 'true'
  })
  delete inputs['asset-pack-identifier']
  delete inputs['archive-path']
  delete inputs['manifest-path']
  inputs.packs = stringify(entries)
  console.log('\n══ Several packs in one step, reviewed together ═════════\n')
  console.log(`${withBlock(inputs)}\n`)
  const run = await runAction(inputs)
  show(run)
  const [submission] = sim.store.reviewSubmissions.values()
  console.log(
    `Several packs: ${entries.length} packs in one step, review submission ${submission?.id} holds ${submission?.itemIds.length} versions (${submission?.state}).`
  )
  return run.exitCode || (submission?.itemIds.length === entries.length ? 0 : 1)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = await mkdtemp(join(tmpdir(), 'asset-pack-demo-'))
  const sim = await startSimulator({ upload: { partSize: 1024 * 1024 } })
  try {
    const code = await demo(sim, dir)
    if (code !== 0) {
      console.error(`The demo failed (exit ${code}).`)
      process.exitCode = 1
    }
  } finally {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  }
}
