// Seeded fuzzing of every target in fuzzTargets() (__tests__/helpers/fuzz.ts): mutated inputs must
// parse or be refused with the target's own error, quickly and without a memory blow-up.
//   npm run fuzz -- [--iterations N (cases per target, default 100000)] [--seed S] [--time-budget SECONDS]
// Exits non-zero on the first failing case, which it saves for reproduction.
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { FuzzFailure, fuzzTargets, runFuzz } from '../__tests__/helpers/fuzz.js'

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    'time-budget': { type: 'string' }
  }
})

function count(name: string, text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number, not ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}

const iterations = count('iterations', values.iterations)
const seed =
  values.seed === undefined ? Math.floor(Math.random() * 0x1_0000_0000) : count('seed', values.seed)
const budget = values['time-budget']
const timeBudgetMs = budget === undefined ? undefined : count('time-budget', budget) * 1000

console.log(
  `fuzzing with seed ${seed} (--seed ${seed} repeats this run), ${iterations} cases per target`
)
const started = performance.now()
try {
  const report = runFuzz({ targets: fuzzTargets(), iterations, seed, timeBudgetMs })
  const width = Math.max(...Object.keys(report.targets).map((name) => name.length), 'total'.length)
  const line = (name: string, c: { cases: number; accepted: number; refused: number }) =>
    `${name.padEnd(width)}  ${c.cases} cases: ${c.accepted} decoded, ${c.refused} refused cleanly`
  for (const [name, counts] of Object.entries(report.targets)) console.log(line(name, counts))
  console.log(line('total', report.total))
  console.log(`no failures in ${((performance.now() - started) / 1000).toFixed(1)} s`)
} catch (error) {
  if (!(error instanceof FuzzFailure)) throw error
  const file = join(
    tmpdir(),
    `fuzz-${error.target.replace(/\W+/g, '-')}-${seed}-${error.caseIndex}.bin`
  )
  writeFileSync(file, error.input)
  console.error(`FAILED: ${error.message}`)
  console.error(`the input is saved as ${file}`)
  process.exitCode = 1
}
