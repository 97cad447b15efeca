// `npm run demo`: the whole action against the bundled App Store Connect simulator, no Apple
// account needed. Starts the simulator, writes a sample asset pack, runs dist/index.js as the
// runner would, prints the outputs and the job summary.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../simulator/index.js'
import { renderSummary } from './render-summary.js'
import { runAction, simulatorInputs } from './run-action.js'
import { writeSamplePack } from './sample-pack.js'

const IDENTIFIER = 'forest-level-2'
const dir = await mkdtemp(join(tmpdir(), 'asset-pack-demo-'))
const sim = await startSimulator({ upload: { partSize: 1024 * 1024 } })
try {
  const pack = await writeSamplePack(dir, { identifier: IDENTIFIER, size: 5 * 1024 * 1024 + 12345 })
  console.log(`App Store Connect simulator: ${sim.baseUrl} (app ${sim.appId})`)
  console.log(
    `Sample asset pack: ${pack.archivePath} (${pack.size} bytes) and ${pack.manifestPath}\n`
  )
  const run = await runAction(simulatorInputs(sim, pack, { 'poll-interval': '1s' }))
  console.log('── Action log ──────────────────────────────────────────')
  console.log(
    run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::'))
      .join('\n')
  )
  console.log('── Outputs ─────────────────────────────────────────────')
  for (const [name, value] of Object.entries(run.outputs))
    console.log(`  ${name.padEnd(24)} ${value}`)
  console.log('\n── Job summary ─────────────────────────────────────────')
  console.log(renderSummary(run.summary))
  if (run.exitCode !== 0) {
    console.error(`The action exited with ${run.exitCode}.`)
    process.exitCode = 1
  }
} finally {
  await sim.close()
  await rm(dir, { recursive: true, force: true })
}
