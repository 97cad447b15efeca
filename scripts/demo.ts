// `npm run demo`: the whole action against the bundled App Store Connect simulator, no Apple
// account needed. Starts the simulator, writes a sample asset pack as ba-package does (LZFSE
// blocks, a Manifest.json inside), runs dist/index.js as the runner would with the `with:` block
// it prints, shows the outputs and the job summary, then runs the same step again on a rebuild
// (other packaging time, same content), as the next tag would: the version is kept and nothing
// is uploaded. Then several packs in one step (`packs`), submitted for review together and
// approved; last, all three rebuilt with one changed: one new version, one pack reviewed.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startSimulator, type Simulator } from '../simulator/index.js'
import { renderSummary } from './render-summary.js'
import { packEntry, runAction, simulatorInputs, withPacks, type ActionRun } from './run-action.js'
import { writeTexturePack, type PackOnDisk } from './sample-archive.js'

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

const MiB = 1024 * 1024
/** The first build's packaging time, and the next tag's. */
const FIRST_BUILD = 1_780_000_000
const NEXT_BUILD = FIRST_BUILD + 86_400

async function demo(sim: Simulator, dir: string): Promise<number> {
  const build = (packagedAt: number) =>
    writeTexturePack(dir, IDENTIFIER, { bytes: 5 * MiB, seed: 1, packagedAt })
  const pack = await build(FIRST_BUILD)
  console.log(`App Store Connect simulator: ${sim.baseUrl} (app ${sim.appId})`)
  console.log(
    `Sample asset pack: ${pack.archivePath} (${pack.size} bytes, LZFSE as ba-package writes it) and ${pack.manifestPath}\n`
  )
  const inputs = simulatorInputs(sim, pack, { 'poll-interval': '1s' })
  console.log('── The step ────────────────────────────────────────────')
  console.log(`${withBlock(inputs)}\n`)
  const first = await runAction(inputs)
  show(first)
  const puts = () => sim.requests.filter((r) => r.method === 'PUT').length
  const putsBefore = puts()
  console.log(
    '══ The same step on a rebuild (the next tag: other packaging time, same content) ══\n'
  )
  await build(NEXT_BUILD)
  const again = await runAction(inputs)
  show(again)
  console.log(
    `Rebuild: version ${again.outputs.version} kept (unchanged: ${again.outputs.unchanged}), ${puts() - putsBefore} part uploads sent, ${sim.store.versions.size} version in App Store Connect.`
  )
  const together = await severalPacks(sim, dir, pack)
  return (
    first.exitCode || again.exitCode || together || (again.outputs.unchanged === 'true' ? 0 : 1)
  )
}

/** The step of several packs with `packs`, reviewed together. */
function packsStep(sim: Simulator, packs: PackOnDisk[]): Record<string, string> {
  const inputs = simulatorInputs(sim, packs[0], {
    'poll-interval': '1s',
    'submit-for-review': 'true'
  })
  return withPacks(inputs, packs.map(packEntry))
}

/**
 * The first pack (unchanged) and two new ones in one step, with one review submission, which App
 * Review then approves; then all three rebuilt, one of them changed: only that one is uploaded
 * and reviewed.
 */
async function severalPacks(sim: Simulator, dir: string, forest: PackOnDisk): Promise<number> {
  const write = (identifier: string, seed: number, packagedAt: number) =>
    mkdir(join(dir, identifier), { recursive: true }).then(() =>
      writeTexturePack(join(dir, identifier), identifier, { bytes: 3 * MiB, seed, packagedAt })
    )
  const others = [
    await write('desert-level-1', 2, FIRST_BUILD),
    await write('voices-fr', 3, FIRST_BUILD)
  ]
  const packs = [forest, ...others]
  const inputs = packsStep(sim, packs)
  console.log('\n══ Several packs in one step, reviewed together ═════════\n')
  console.log(`${withBlock(inputs)}\n`)
  const run = await runAction(inputs)
  show(run)
  const [submission] = sim.store.reviewSubmissions.values()
  console.log(
    `Several packs: ${packs.length} packs in one step, review submission ${submission?.id} holds ${submission?.itemIds.length} versions (${submission?.state}).`
  )
  if (!submission) return 1
  sim.approveSubmission(submission.id)
  console.log(`App Review approved submission ${submission.id}: the versions are live.\n`)

  // The next tag: every pack rebuilt; only the desert's content changed.
  await writeTexturePack(dirname(forest.archivePath), forest.identifier, {
    bytes: 5 * MiB,
    seed: 1,
    packagedAt: NEXT_BUILD + 1
  })
  await write('desert-level-1', 20, NEXT_BUILD)
  await write('voices-fr', 3, NEXT_BUILD)
  console.log('══ The next tag: all three rebuilt, only desert-level-1 changed ══\n')
  const versionsBefore = sim.store.versions.size
  const next = await runAction(packsStep(sim, packs))
  show(next)
  const latest = [...sim.store.reviewSubmissions.values()].at(-1)!
  console.log(
    `Next tag: ${sim.store.versions.size - versionsBefore} new version, review submission ${latest.id} holds ${latest.itemIds.length} (${latest.state}); the other two kept their live versions.`
  )
  return (
    run.exitCode || next.exitCode || (latest !== submission && latest.itemIds.length === 1 ? 0 : 1)
  )
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
