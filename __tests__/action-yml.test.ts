// action.yml is the contract: every input src reads and every output it sets is declared there
// (and the reverse), runs on node24 from dist, and the README's tables say the same.
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { parse } from 'yaml'
import { Inputs, Outputs, DEFAULTS } from '../src/constants.js'

const root = new URL('../', import.meta.url)
const action = parse(readFileSync(new URL('action.yml', root), 'utf8')) as {
  name: string
  description: string
  runs: { using: string; main: string }
  branding: { icon: string; color: string }
  inputs: Record<string, { description: string; required?: boolean; default?: string }>
  outputs: Record<string, { description: string }>
}
// Every source module, in every folder of src/ (the generated API types aside).
const sources = readdirSync(new URL('src/', root), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && !f.includes('generated'))
  .map((f) => readFileSync(new URL(`src/${f}`, root), 'utf8'))
  .join('\n')
const readme = readFileSync(new URL('README.md', root), 'utf8')
const featherIcons = JSON.parse(
  readFileSync(new URL('node_modules/feather-icons/dist/icons.json', root), 'utf8')
) as Record<string, string>

function table(heading: string): Map<string, string[]> {
  const section = readme.split(new RegExp(`^## ${heading}$`, 'm'))[1].split('\n## ')[0]
  const rows = section.split('\n').filter((l) => /^\| `[a-z0-9-]+`/.test(l))
  return new Map(
    rows
      .map((l) =>
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim())
      )
      .map(([name, ...rest]) => [name.replace(/`/g, ''), rest])
  )
}

test('runs on node24 from dist/index.js', () => {
  expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  expect(existsSync(new URL(action.runs.main, root))).toBe(true)
})

/** The Marketplace's rules for a listing (GitHub Docs, "Publishing actions in GitHub Marketplace"). */
const MARKETPLACE_COLORS = [
  'white',
  'black',
  'yellow',
  'blue',
  'green',
  'orange',
  'red',
  'purple',
  'gray-dark'
]

test('the Marketplace would accept the listing: description, branding, name', () => {
  // "The description must be less than 125 characters."
  expect(action.description.length).toBeLessThan(125)
  // The icon is one of Feather's (the set the Marketplace draws), the colour one of its nine.
  expect(Object.keys(featherIcons)).toContain(action.branding.icon)
  expect(MARKETPLACE_COLORS).toContain(action.branding.color)
  // A name of its own: short, and not a bare word a GitHub feature or category already uses.
  expect(action.name.length).toBeLessThanOrEqual(40)
  expect(action.name.split(' ').length).toBeGreaterThan(1)
})

test('inputs: declared = read by src; each described; defaults quoted and equal to the code’s', () => {
  expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Inputs).sort())
  for (const name of Object.values(Inputs)) {
    const member = Object.entries(Inputs).find(([, v]) => v === name)![0]
    expect(sources).toMatch(new RegExp(`Inputs\\.${member}\\b`))
  }
  // Inputs are read only through the enum, never by a string literal.
  expect(sources).not.toMatch(/getInput\(\s*['"`]/)
  const text = readFileSync(new URL('action.yml', root), 'utf8')
  for (const [name, spec] of Object.entries(action.inputs)) {
    expect(spec.description.length).toBeGreaterThan(10)
    const fallback = (DEFAULTS as Record<string, string>)[name]
    if (spec.default !== undefined && !spec.default.startsWith('${{')) {
      expect(text).toMatch(
        new RegExp(
          `${name}:[\\s\\S]*?default: '${spec.default.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`
        )
      )
      expect(fallback).toBe(spec.default)
    }
  }
})

test('outputs: declared = set by src, each described', () => {
  expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Outputs).sort())
  for (const [member] of Object.entries(Outputs))
    expect(sources).toMatch(new RegExp(`Outputs\\.${member}\\b`))
  for (const spec of Object.values(action.outputs))
    expect(spec.description.length).toBeGreaterThan(10)
})

test("the README's inputs and outputs tables list exactly action.yml's, with its defaults", () => {
  const inputs = table('Inputs')
  expect([...inputs.keys()].sort()).toEqual(Object.keys(action.inputs).sort())
  for (const [name, spec] of Object.entries(action.inputs)) {
    const [documentedDefault] = inputs.get(name)!
    const expected = spec.required
      ? 'required'
      : spec.default === undefined
        ? '—'
        : `\`${spec.default}\``
    expect(`${name}: ${documentedDefault}`).toBe(`${name}: ${expected}`)
  }
  expect([...table('Outputs').keys()].sort()).toEqual(Object.keys(action.outputs).sort())
})
