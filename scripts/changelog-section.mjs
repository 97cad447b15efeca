// Prints CHANGELOG.md's section for a version (`## [1.2.3] …` up to the next `## `): the notes of
// its GitHub release. Fails when the CHANGELOG has no such section.
//   node scripts/changelog-section.mjs 1.2.3
import { readFileSync } from 'node:fs'

const version = process.argv[2] ?? ''
const changelog = readFileSync(new URL('../CHANGELOG.md', import.meta.url), 'utf8')
const sections = changelog.split(/^(?=## )/m)
const section = sections.find((s) => s.startsWith(`## [${version}]`))
if (!version || !section) {
  console.error(`CHANGELOG.md has no section "## [${version}]"`)
  process.exit(1)
}
console.log(section.split('\n').slice(1).join('\n').trim())
