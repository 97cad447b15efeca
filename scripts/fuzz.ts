// Seeded fuzzing of every target in fuzzTargets() (__tests__/helpers/fuzz.ts), the LZFSE decoder
// and the whole archive read: mutated inputs must parse or be refused with the target's own error
// (or, for an archive, a `{ problem }`), quickly and without a memory blow-up.
//   npm run fuzz -- [--iterations N] [--seed S] [--time-budget SECONDS]
// N is cases per target (default 100000); without --seed the seed is random (and printed). Each
// target's counts and time are printed as it ends, then the total.
// Exits non-zero on the first failing case, which it saves for reproduction. A case that never
// returns can't be timed from this thread: a watchdog thread names it and kills the process; an
// archive read whose promise never settles is failed (and saved) by the harness before that.
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import {
  FuzzFailure,
  fuzzTargets,
  runFuzzAsync,
  type FuzzCounts
} from '../__tests__/helpers/fuzz.js'

const HANG_MS = 10_000

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

/** Starts the watchdog; returns what to call before each case. */
function startWatchdog(names: string[], seed: number): (target: string, caseIndex: number) => void {
  // [target index, case index, when the case started in ms after `epoch`]
  const beat = new Int32Array(new SharedArrayBuffer(12))
  const epoch = Date.now()
  const watchdog = new Worker(
    `const { workerData: { beat, names, epoch, seed, hangMs } } = require('node:worker_threads')
    setInterval(() => {
      const running = Date.now() - epoch - Atomics.load(beat, 2)
      if (running < hangMs) return
      // Written directly: console output from a worker goes through the stuck main thread.
      require('node:fs').writeSync(2, 'FAILED: fuzz target ' + names[Atomics.load(beat, 0)] +
        ', case ' + Atomics.load(beat, 1) + ' (seed ' + seed + ') has run for ' + running +
        ' ms: it hangs\\n')
      process.kill(process.pid, 'SIGKILL')
    }, 500)`,
    { eval: true, workerData: { beat, names, epoch, seed, hangMs: HANG_MS } }
  )
  watchdog.unref()
  return (target, caseIndex) => {
    Atomics.store(beat, 0, names.indexOf(target))
    Atomics.store(beat, 1, caseIndex)
    Atomics.store(beat, 2, Date.now() - epoch)
  }
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
const targets = await fuzzTargets()
const beforeCase = startWatchdog(
  targets.map((target) => target.name),
  seed
)
const width = Math.max(...targets.map((target) => target.name.length), 'total'.length)
const line = (name: string, c: FuzzCounts, milliseconds: number) =>
  `${name.padEnd(width)}  ${String(c.cases).padStart(7)} cases: ${c.accepted} read or decoded, ${c.refused} refused cleanly (${(milliseconds / 1000).toFixed(1)} s)`
try {
  // A case whose promise never settles is named (and saved) before the watchdog would end the run.
  const hangLimitMs = HANG_MS / 2
  const report = await runFuzzAsync({
    targets,
    iterations,
    seed,
    timeBudgetMs,
    beforeCase,
    hangLimitMs,
    afterTarget: (name, counts, milliseconds) => console.log(line(name, counts, milliseconds))
  })
  console.log(line('total', report.total, performance.now() - started))
  console.log(`no failures (seed ${seed})`)
} catch (error) {
  if (!(error instanceof FuzzFailure)) throw error
  const name = `fuzz-${error.target.replace(/\W+/g, '-')}-${seed}-${error.caseIndex}.bin`
  const file = join(tmpdir(), name)
  writeFileSync(file, error.input)
  console.error(`FAILED: ${error.message}`)
  console.error(`the input is saved as ${file}`)
  process.exitCode = 1
}
