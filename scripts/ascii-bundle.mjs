// Rewrites every non-ASCII character of dist/index.js as a \u escape. V8 keeps a script's source
// in memory for the whole run, as one byte per character when it is all Latin-1 and two bytes
// otherwise: the action's messages (— → …) would double the 2 MB source. An escape means the same
// character in strings, templates, regular expressions and identifiers alike; a backslash just
// before such a character would change meaning, so the build fails on one instead.
import { readFileSync, writeFileSync } from 'node:fs'

const bundle = new URL('../dist/index.js', import.meta.url)
const source = readFileSync(bundle, 'utf8')
if (/\\[^\x00-\x7f]/u.test(source)) {
  console.error('dist/index.js has a backslash before a non-ASCII character; cannot escape it.')
  process.exit(1)
}
const escaped = source.replace(/[^\x00-\x7f]/gu, (character) =>
  [...character.split('')]
    .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .join('')
)
writeFileSync(bundle, escaped)
