// Fails the build when ncc produced a bundle that cannot load (it exits 0 with stubs otherwise).
import { readFileSync } from 'node:fs'

for (const bundle of ['../dist/index.js', '../dist/cache/index.js', '../dist/github/index.js']) {
  if (readFileSync(new URL(bundle, import.meta.url), 'utf8').includes('webpackMissingModule')) {
    console.error(
      `${bundle.slice(3)} contains webpackMissingModule stubs: a dependency failed to bundle.`
    )
    process.exit(1)
  }
}
