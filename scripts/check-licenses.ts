// Every package bundled into dist/ must carry a license from the allow list: the production
// dependency tree as npm itself reports it (`npm query .prod`), and any other package the bundler
// pulled in (the names in dist's licenses.txt files: optional peers such as supports-color come
// from the dev install). Licenses are SPDX expressions, evaluated with spdx-satisfies. Run by
// `npm run lint`.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const satisfies = createRequire(import.meta.url)('spdx-satisfies') as (
  expression: string,
  allowed: string[]
) => boolean

/** Permissive licenses that allow bundling into a MIT-licensed action. */
export const ALLOWED_LICENSES = [
  'MIT',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'Unlicense'
]

export interface PackageLicense {
  name: string
  version: string
  license?: unknown
}

/** The packages whose license is missing or not allowed, each with a sentence why. */
export function disallowed(packages: PackageLicense[], allowed = ALLOWED_LICENSES): string[] {
  return packages.flatMap(({ name, version, license }) => {
    if (typeof license !== 'string' || !license)
      return [`${name}@${version}: no SPDX license in its package.json`]
    let ok: boolean
    try {
      ok = satisfies(license, allowed)
    } catch {
      return [`${name}@${version}: '${license}' is not an SPDX license expression`]
    }
    return ok ? [] : [`${name}@${version}: ${license} is not in the allow list`]
  })
}

/** Package names in ncc's licenses.txt: a name line, then the license line, then the text. */
export function bundledNames(licensesText: string): string[] {
  const lines = licensesText.split('\n')
  return lines.filter(
    (line, i) =>
      (i === 0 || lines[i - 1] === '') &&
      /^(@[\w.-]+\/)?[\w.-]+$/.test(line) &&
      /^[\w.()+ -]+$/.test(lines[i + 1] ?? '')
  )
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const production = JSON.parse(
    execFileSync('npm', ['query', '.prod'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  ) as PackageLicense[]
  const known = new Set(production.map((p) => p.name))
  const alsoBundled: PackageLicense[] = []
  const dist = new URL('../dist/', import.meta.url)
  for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('licenses.txt')) continue
    for (const name of bundledNames(readFileSync(new URL(file, dist), 'utf8'))) {
      if (known.has(name)) continue
      known.add(name)
      const manifest = new URL(`../node_modules/${name}/package.json`, import.meta.url)
      alsoBundled.push(JSON.parse(readFileSync(manifest, 'utf8')) as PackageLicense)
    }
  }
  const problems = disallowed([...production, ...alsoBundled])
  for (const p of problems) console.error(`license: ${p}`)
  if (problems.length) process.exit(1)
  console.log(
    `licenses: ${production.length} production packages and ${alsoBundled.length} more in dist/ (${alsoBundled.map((p) => p.name).join(', ') || 'none'}), all allowed`
  )
}
