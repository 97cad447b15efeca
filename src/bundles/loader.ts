// Heavy clients live in bundles of their own beside dist/index.js and load on first use, so start-up
// (and the memory of every run) does not pay for them. From the sources, the modules themselves load.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

function lazyBundle<T>(dir: string, fromSource: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined
  return () => {
    // A path, not `new URL(…, import.meta.url)`, which the bundler would copy as an asset.
    const bundled = join(dirname(fileURLToPath(import.meta.url)), dir, 'index.js')
    loaded ??= existsSync(bundled)
      ? (import(/* webpackIgnore: true */ pathToFileURL(bundled).href) as Promise<T>)
      : fromSource()
    return loaded
  }
}

/** @actions/cache with the Azure SDK: dist/cache/, from cache-entry.ts. */
export const loadCacheClient = lazyBundle<typeof import('./cache-entry.js')>(
  'cache',
  () => import(/* webpackIgnore: true */ './cache-entry.js')
)

/** @actions/github with Octokit: dist/github/, from github-entry.ts. */
export const loadGithubClient = lazyBundle<typeof import('./github-entry.js')>(
  'github',
  () => import(/* webpackIgnore: true */ './github-entry.js')
)
