// Fails the build when ncc produced a bundle that cannot load (it exits 0 with stubs otherwise).
import { readFileSync } from 'node:fs'

const bundle = readFileSync(new URL('../dist/index.js', import.meta.url), 'utf8')
if (bundle.includes('webpackMissingModule')) {
  console.error('dist/index.js contains webpackMissingModule stubs: a dependency failed to bundle.')
  process.exit(1)
}
