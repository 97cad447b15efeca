// Runs a command with the action itself on Node 24, the runtime action.yml declares
// (`runs.using: node24`), whatever Node runs the tests: fetches Node 24 for this platform from
// the npm registry (node-<platform>-<arch>, not a dependency, so `npm ci` is untouched anywhere)
// into node_modules/.cache, and passes it as ASSET_PACK_RELEASE_ACTION_NODE.
//   node scripts/with-node24.mjs npm run jest -- __tests__/e2e
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const VERSION = '24'
const pkg = `node-${process.platform}-${process.arch}`
const prefix = fileURLToPath(new URL(`../node_modules/.cache/node${VERSION}/`, import.meta.url))
const binary = `${prefix}node_modules/${pkg}/bin/node${process.platform === 'win32' ? '.exe' : ''}`
if (!existsSync(binary)) {
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      `${pkg}@${VERSION}`
    ],
    { stdio: 'inherit' }
  )
}
const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()
if (!version.startsWith(`v${VERSION}.`))
  throw new Error(`${binary} is ${version}, not Node ${VERSION}`)
console.log(`The action runs on Node ${version} (${binary}); the tests on ${process.version}.`)
const [command, ...args] = process.argv.slice(2)
const run = spawnSync(command, args, {
  stdio: 'inherit',
  env: { ...process.env, ASSET_PACK_RELEASE_ACTION_NODE: binary }
})
process.exit(run.status ?? 1)
