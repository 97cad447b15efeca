// `npm run try -- --archive X.aar [--manifest Manifest.json] [--identifier ID] [--with k=v ...]`:
// your own files through dist/index.js against a fresh simulator, with the inputs a workflow
// would give, to see what the action says about them (the log, outputs and job summary).
import { readFileSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { parse } from 'jsonc-parser'
import { startSimulator } from '../simulator/index.js'
import { show, withBlock } from './demo.js'
import { runAction, simulatorInputs } from './run-action.js'

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

/** `--with name=value`, as often as needed: any other input of the step. */
function extraInputs(): Record<string, string> {
  const extra: Record<string, string> = {}
  process.argv.forEach((arg, i) => {
    if (arg !== '--with') return
    const [name, ...value] = (process.argv[i + 1] ?? '').split('=')
    extra[name] = value.join('=')
  })
  return extra
}

const archive = option('archive')
if (!archive) {
  console.error(
    'usage: npm run try -- --archive path/to/pack.aar [--manifest path/to/Manifest.json] [--identifier ID] [--with input=value ...]'
  )
  process.exit(2)
}
const manifest = option('manifest')
// The identifier the manifest names (it must match), else the archive's name.
const identifier =
  option('identifier') ??
  (manifest &&
    (parse(readFileSync(manifest, 'utf8').replace(/^\uFEFF/, '')) as { assetPackID?: string })
      ?.assetPackID) ??
  basename(archive).replace(/\.aar$/i, '')
const sim = await startSimulator({ upload: { partSize: 1024 * 1024 } })
try {
  const inputs = simulatorInputs(
    sim,
    { identifier, archivePath: resolve(archive), manifestPath: manifest && resolve(manifest) },
    { 'poll-interval': '1s', ...extraInputs() }
  )
  console.log(`${withBlock(inputs)}\n`)
  const run = await runAction(inputs, { timeoutMs: 3_600_000 })
  show(run)
  process.exitCode = run.exitCode
} finally {
  await sim.close()
}
