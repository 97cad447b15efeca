// `npm run bundle`: dist/ from src/ with ncc: the action (dist/index.js) and the bundles it loads
// on demand (dist/cache/, dist/github/), built at once into .dist-build/ and
// then put in place of dist/. Each ncc run type-checks the project, so running them side by side
// halves the wait.
import { spawn } from 'node:child_process'
import { rm, rename } from 'node:fs/promises'

const BUILDS = [
  ['src/index.ts', '.dist-build'],
  ['src/bundles/cache-entry.ts', '.dist-build/cache'],
  ['src/bundles/github-entry.ts', '.dist-build/github']
]

function ncc(entry, out) {
  return new Promise((resolve, reject) => {
    const args = ['build', entry, '-o', out, '--license', 'licenses.txt', '--target', 'es2022']
    const child = spawn('npx', ['ncc', ...args], { stdio: 'inherit' })
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ncc ${entry}: exit ${code}`))
    )
  })
}

await rm('.dist-build', { recursive: true, force: true })
await Promise.all(BUILDS.map(([entry, out]) => ncc(entry, out)))
await rm('dist', { recursive: true, force: true })
await rename('.dist-build', 'dist')
