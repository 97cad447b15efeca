// `npm run bench`: uploads large archives through the simulator's wide-area profile (32 MiB/s per
// connection, 20 ms per request, 8 MiB parts) by running dist/index.js as the runner would, and
// compares each run with the ideal and with a sequential baseline (the peers' way: the same
// operations PUT one at a time). Writes bench/results/*.json and a throughput chart (SVG).
// A many-packs case releases 4 packs of 256 MiB in one step (`packs`), 20 s of processing each,
// against Σ(ideal upload) + one processing, and against the same packs released one by one.
// The content cases (bench/content.ts) measure the read of the whole archive, a first release with
// it, and a release in which nothing changed.
//   npm run bench [-- --sizes 1,4 --concurrency 1,2,4,8,16
//                     --cases identity,first,nochange,single,many]
import { createHash, randomFillSync } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, WIDE_AREA, type Simulator } from '../simulator/index.js'
import {
  ACTION_NODE,
  DIST,
  packEntry,
  runAction,
  simulatorInputs,
  withPacks
} from '../scripts/run-action.js'
import { execFileSync } from 'node:child_process'
import { hashFile } from '../src/archive/index.js'
import { plainClient } from './clients.js'
import { firstRelease, identityCases, noChangeRelease } from './content.js'
import { fileEntryHeader } from '../scripts/sample-pack.js'

const MiB = 1024 ** 2
const GiB = 1024 ** 3
const LINK = 32 * MiB // bytes per second per connection
const LATENCY_S = 0.02
const PART = 8 * MiB
const RESULTS = new URL('./results/', import.meta.url)

function text(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`)
  return (i >= 0 ? process.argv[i + 1] : fallback).split(',')
}

function arg(name: string, fallback: string): number[] {
  return text(name, fallback).map(Number)
}

/** A real (not sparse) archive: one AA01 file entry whose contents are pseudo-random blocks. */
async function writeArchive(path: string, size: number): Promise<void> {
  const file = await open(path, 'w')
  const block = Buffer.alloc(4 * MiB)
  randomFillSync(block)
  const header = fileEntryHeader('Assets/data.bin', 0)
  fileEntryHeader('Assets/data.bin', size - header.length).copy(block)
  for (let offset = 0; offset < size; offset += block.length) {
    if (offset) block.writeUInt32LE(offset / block.length, 64) // every block differs
    await file.write(block, 0, Math.min(block.length, size - offset), offset)
  }
  // On disk before any case starts: the write-back of gigabytes of dirty pages would otherwise
  // compete with the measured uploads for minutes.
  await file.sync()
  await file.close()
}

/**
 * The ideal: the bytes at concurrency × 32 MiB/s, plus 20 ms for every request that cannot
 * overlap with another (the API calls before and after, and one per wave of parts).
 */
function ideal(
  size: number,
  concurrency: number,
  apiCalls: number
): { upload: number; run: number } {
  const parts = Math.ceil(size / PART)
  const upload =
    size / (concurrency * LINK) + Math.ceil(parts / concurrency) * LATENCY_S + 2 * LATENCY_S // + reserve, commit
  return { upload, run: upload + (apiCalls - 2) * LATENCY_S }
}

interface Case {
  sizeGiB: number
  concurrency: number
  wallS: number
  uploadS: number
  idealUploadS: number
  idealRunS: number
  uploadRatio: number
  runRatio: number
  throughputMiBs: number
  peakRssMB: number
  firstRequestMs: number
  /** Upload seconds of every run of the case: timings are the median run's; memory and start-up the worst run's. */
  uploadSamplesS?: number[]
}

/** Short cases (a few seconds, where a hiccup of the shared machine weighs most) run this often. */
const SHORT_CASE_RUNS = 3

/** Runs a case `runs` times: the median run's timings, the worst peak RSS and start-up. */
async function measureMedian(
  path: string,
  size: number,
  concurrency: number,
  runs: number,
  node = ACTION_NODE
): Promise<Case> {
  const samples: Case[] = []
  for (let i = 0; i < runs; i++) samples.push(await measure(path, size, concurrency, node))
  samples.sort((a, b) => a.uploadS - b.uploadS)
  const median = samples[Math.floor(samples.length / 2)]
  return {
    ...median,
    peakRssMB: Math.max(...samples.map((c) => c.peakRssMB)),
    firstRequestMs: Math.max(...samples.map((c) => c.firstRequestMs)),
    uploadSamplesS: samples.map((c) => c.uploadS)
  }
}

async function measure(
  path: string,
  size: number,
  concurrency: number,
  node = ACTION_NODE
): Promise<Case> {
  const sim = await startSimulator(WIDE_AREA)
  try {
    const started = Date.now()
    const run = await runAction(
      simulatorInputs(
        sim,
        { identifier: 'bench', archivePath: path },
        { 'wait-for-processing': 'false', 'upload-concurrency': String(concurrency) }
      ),
      // As on a runner: the summary names the repository, commit and run.
      {
        timeoutMs: 1_200_000,
        node,
        env: {
          GITHUB_REPOSITORY: 'octo/game',
          GITHUB_SHA: '8f3e2a91c0d47b5e6a1f2c3d4e5f60718293a4b5',
          GITHUB_REF: 'refs/tags/assets-v1',
          GITHUB_RUN_ID: '1',
          GITHUB_RUN_ATTEMPT: '1'
        }
      }
    )
    if (run.exitCode !== 0) throw new Error(`the action failed:\n${run.stdout.slice(-2000)}`)
    const wallS = run.durationMs / 1000
    const uploadS = Number(/Uploading the archive ([\d.]+) s/.exec(run.summary)?.[1])
    const apiCalls = sim.requests.filter((r) => r.path.startsWith('/v1/')).length
    const best = ideal(size, concurrency, apiCalls)
    return {
      sizeGiB: size / GiB,
      concurrency,
      wallS,
      uploadS,
      idealUploadS: best.upload,
      idealRunS: best.run,
      uploadRatio: uploadS / best.upload,
      runRatio: wallS / best.run,
      throughputMiBs: size / MiB / uploadS,
      peakRssMB: (run.peakRssBytes ?? 0) / 1e6,
      firstRequestMs: sim.requests[0].at - started
    }
  } finally {
    await sim.close()
  }
}

const MANY_PACKS = 4
const MANY_PACK_SIZE = 256 * MiB
const PROCESSING_S = 20

interface ManyPacksCase {
  packs: number
  packMiB: number
  processingS: number
  wallS: number
  /** Σ(ideal upload of each pack at the default concurrency) + one processing wait. */
  idealS: number
  ratio: number
  /** The same packs released one after another, one step each. */
  oneByOneS: number
  peakRssMB: number
}

/** Runs the action once with `packs` (or one pack), waiting for the processing. */
async function releasePacks(
  sim: Simulator,
  paths: string[]
): Promise<{ wallS: number; rssMB: number }> {
  const entries = paths.map((archivePath, i) => ({ identifier: `bench-${i + 1}`, archivePath }))
  const single = simulatorInputs(sim, entries[0], { 'poll-interval': '2s' })
  const inputs = entries.length > 1 ? withPacks(single, entries.map(packEntry)) : single
  const run = await runAction(inputs, { timeoutMs: 1_200_000 })
  if (run.exitCode !== 0) throw new Error(`the action failed:\n${run.stdout.slice(-2000)}`)
  return { wallS: run.durationMs / 1000, rssMB: (run.peakRssBytes ?? 0) / 1e6 }
}

async function manyPacks(dir: string): Promise<ManyPacksCase> {
  const paths: string[] = []
  for (let i = 0; i < MANY_PACKS; i++) {
    const path = join(dir, `many-${i + 1}.aar`)
    await writeArchive(path, MANY_PACK_SIZE)
    paths.push(path)
  }
  const profile = { ...WIDE_AREA, processing: { assetMs: PROCESSING_S * 1000 } }
  const together = await startSimulator(profile)
  const many = await releasePacks(together, paths).finally(() => together.close())
  let oneByOneS = 0
  const alone = await startSimulator(profile)
  try {
    for (const path of paths) oneByOneS += (await releasePacks(alone, [path])).wallS
  } finally {
    await alone.close()
  }
  const idealS = MANY_PACKS * ideal(MANY_PACK_SIZE, 8, 0).upload + PROCESSING_S
  return {
    packs: MANY_PACKS,
    packMiB: MANY_PACK_SIZE / MiB,
    processingS: PROCESSING_S,
    wallS: many.wallS,
    idealS,
    ratio: many.wallS / idealS,
    oneByOneS,
    peakRssMB: many.rssMB
  }
}

function chart(points: Case[], baselineMiBs: number): string {
  const w = 640
  const h = 360
  const pad = 50
  const max = Math.max(
    ...points.map((p) => Math.max(p.throughputMiBs, (p.concurrency * LINK) / MiB))
  )
  const x = (i: number) => pad + (i * (w - 2 * pad)) / Math.max(points.length - 1, 1)
  const y = (v: number) => h - pad - (v / max) * (h - 2 * pad)
  const line = (values: number[]) =>
    values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
  const labels = points
    .map(
      (p, i) => `<text x="${x(i)}" y="${h - pad + 18}" text-anchor="middle">${p.concurrency}</text>`
    )
    .join('')
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${pad - 6}" y="${y(f * max) + 4}" text-anchor="end">${Math.round(f * max)}</text><line x1="${pad}" x2="${w - pad}" y1="${y(f * max)}" y2="${y(f * max)}" stroke="#eee"/>`
    )
    .join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>${ticks}
<path d="${line(points.map((p) => (p.concurrency * LINK) / MiB))}" fill="none" stroke="#999" stroke-dasharray="4 3"/>
<path d="${line(points.map((p) => p.throughputMiBs))}" fill="none" stroke="#0969da" stroke-width="2.5"/>
${points.map((p, i) => `<circle cx="${x(i)}" cy="${y(p.throughputMiBs)}" r="4" fill="#0969da"/>`).join('')}
<line x1="${pad}" x2="${w - pad}" y1="${y(baselineMiBs)}" y2="${y(baselineMiBs)}" stroke="#cf222e" stroke-dasharray="2 2"/>
${labels}
<text x="${w / 2}" y="${h - 10}" text-anchor="middle">upload-concurrency</text>
<text x="14" y="${h / 2}" transform="rotate(-90 14 ${h / 2})" text-anchor="middle">upload MiB/s (1 GiB)</text>
<text x="${w - pad}" y="20" text-anchor="end"><tspan fill="#0969da">measured</tspan> · <tspan fill="#999">link limit</tspan> · <tspan fill="#cf222e">sequential baseline</tspan></text>
</svg>
`
}

async function hashing(path: string): Promise<Record<string, number>> {
  const { size } = await stat(path)
  const time = async (fn: () => Promise<unknown>) => {
    const started = process.hrtime.bigint()
    await fn()
    return size / MiB / (Number(process.hrtime.bigint() - started) / 1e9)
  }
  const raw = (algorithm: string) => async () => {
    const hash = createHash(algorithm)
    for await (const chunk of createReadStream(path, { highWaterMark: MiB }))
      hash.update(chunk as Buffer)
    return hash.digest()
  }
  return {
    'node crypto md5 (MiB/s)': await time(raw('md5')),
    'node crypto sha256 (MiB/s)': await time(raw('sha256')),
    'action hashFile md5 (MiB/s)': await time(() => hashFile(path)),
    'action hashFile md5+sha256 (MiB/s)': await time(() => hashFile(path, { sha256: true }))
  }
}

const dir = await mkdtemp(join(tmpdir(), 'asset-pack-bench-'))
try {
  const which = text('cases', 'identity,first,nochange,single,many')
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    profile: { linkMiBs: LINK / MiB, latencyMs: LATENCY_S * 1000, partMiB: PART / MiB }
  }
  if (which.includes('identity')) result.identity = await identity(dir)
  if (which.includes('first')) result.firstRelease = await first(dir)
  if (which.includes('nochange')) result.noChange = await noChange(dir)
  if (which.includes('single')) Object.assign(result, await singlePackCases())
  if (which.includes('many')) {
    process.stderr.write(
      `${MANY_PACKS} packs × ${MANY_PACK_SIZE / MiB} MiB, ${PROCESSING_S} s processing each…\n`
    )
    const many = await manyPacks(dir)
    result.manyPacks = many
    console.log(
      `\nmany packs: ${many.packs} × ${many.packMiB} MiB, ${many.processingS} s processing each: ${many.wallS.toFixed(1)} s in one step; ideal Σ upload + one processing ${many.idealS.toFixed(1)} s (${many.ratio.toFixed(2)}×); one by one ${many.oneByOneS.toFixed(1)} s (${(many.oneByOneS / many.wallS).toFixed(1)}× longer); peak RSS ${many.peakRssMB.toFixed(0)} MB`
    )
  }
  await mkdir(RESULTS, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  await writeFile(new URL(`bench-${stamp}.json`, RESULTS), JSON.stringify(result, null, 2))
  await writeFile(new URL('latest.json', RESULTS), JSON.stringify(result, null, 2))
  console.log(`\nwrote bench/results/latest.json and bench-${stamp}.json`)
} finally {
  await rm(dir, { recursive: true, force: true })
}

/** The identity pass of each pack, and the decoder against Apple's. */
async function identity(dir: string) {
  const { cases, decoder } = await identityCases(dir)
  console.log(
    '\nidentity pass (the whole archive read before any request; dry runs of dist/index.js)'
  )
  console.log('pack   file MB  decoded MiB  check s  decoded MiB/s  peak RSS MB')
  for (const c of cases)
    console.log(
      `${c.pack.padEnd(5)}  ${c.fileMB.toFixed(0).padStart(7)}  ${c.decodedMiB.toFixed(0).padStart(11)}  ${c.checkS.toFixed(2).padStart(7)}  ${c.decodedMiBs.toFixed(0).padStart(13)}  ${c.peakRssMB.toFixed(0).padStart(11)}`
    )
  for (const d of decoder) console.log(`LZFSE decoder alone: ${JSON.stringify(d)}`)
  return { cases, decoder }
}

async function first(dir: string) {
  const r = await firstRelease(dir)
  console.log(
    `\nfirst release, 1 GiB mixed pack (${r.fileMB.toFixed(0)} MB): check ${r.checkS.toFixed(2)} s + upload ${r.uploadS.toFixed(2)} s against the bare client's ${r.bareS.toFixed(2)} s: ${r.passAndUploadOverBare.toFixed(2)}× (wall ${r.wallS.toFixed(2)} s, ${r.wallOverBare.toFixed(2)}×); peak RSS ${r.peakRssMB.toFixed(0)} MB`
  )
  return r
}

async function noChange(dir: string) {
  const r = await noChangeRelease(dir)
  const line = (name: string, c: typeof r.full) =>
    `${name}: ${c.wallS.toFixed(1)} s, ${(c.bytesUploaded / MiB).toFixed(0)} MiB uploaded in ${c.puts} PUTs, ${c.unchanged} unchanged, check ${c.checkS.toFixed(2)} s, peak RSS ${c.peakRssMB.toFixed(0)} MB`
  console.log(`\n${r.packs} packs × ${r.packMiB} MiB`)
  console.log(line('full release', r.full))
  console.log(line('rebuilt, nothing changed', r.noChange))
  return r
}

/** One pack of each size, at each concurrency; the sequential baseline; hashing speed. */
async function singlePackCases(): Promise<Record<string, unknown>> {
  const sizes = arg('sizes', '1,4')
  const concurrencies = arg('concurrency', '1,2,4,8,16')
  const cases: Case[] = []
  const files = new Map<number, string>()
  for (const gib of sizes) {
    const path = join(dir, `pack-${gib}.aar`)
    process.stderr.write(`writing a ${gib} GiB archive…\n`)
    await writeArchive(path, gib * GiB)
    files.set(gib, path)
  }
  const oneGiB = files.get(sizes[0])!
  for (const c of concurrencies) {
    const runs = sizes[0] * GiB <= GiB && c >= 4 ? SHORT_CASE_RUNS : 1
    process.stderr.write(`${sizes[0]} GiB at concurrency ${c} (${runs} run(s))…\n`)
    cases.push(await measureMedian(oneGiB, sizes[0] * GiB, c, runs))
  }
  for (const gib of sizes.slice(1)) {
    process.stderr.write(`${gib} GiB at concurrency 8…\n`)
    cases.push(await measure(files.get(gib)!, gib * GiB, 8))
  }
  // Memory on both runtimes: the action's (ACTION_NODE, Node 24 under with-node24.mjs) measured
  // above, and the Node that runs this script, when it is another.
  const runtimes = [{ node: ACTION_NODE, cases: cases.filter((c) => c.concurrency === 8) }]
  if (process.execPath !== ACTION_NODE) {
    const other: Case[] = []
    for (const gib of sizes) {
      process.stderr.write(`${gib} GiB at concurrency 8 on ${process.version}…\n`)
      other.push(
        await measureMedian(
          files.get(gib)!,
          gib * GiB,
          8,
          gib === 1 ? SHORT_CASE_RUNS : 1,
          process.execPath
        )
      )
    }
    runtimes.push({ node: process.execPath, cases: other })
  }
  process.stderr.write('sequential baseline…\n')
  const baselineSim = await startSimulator(WIDE_AREA)
  const baselineS = await plainClient(baselineSim, oneGiB, sizes[0] * GiB, {
    concurrency: 1,
    md5First: true
  })
  await baselineSim.close()
  const hashes = await hashing(oneGiB)
  const bundleBytes = (await stat(DIST)).size
  const atDefault = cases.find((c) => c.sizeGiB === sizes[0] && c.concurrency === 8)

  console.log(
    '\nsize  conc  wall s  upload s  ideal upload s  ideal run s  upload/ideal  run/ideal  MiB/s   peak RSS MB  upload s of each run'
  )
  for (const c of cases) {
    console.log(
      `${String(c.sizeGiB).padEnd(4)}  ${String(c.concurrency).padStart(4)}  ${c.wallS.toFixed(1).padStart(6)}  ${c.uploadS.toFixed(1).padStart(8)}  ${c.idealUploadS.toFixed(2).padStart(14)}  ${c.idealRunS.toFixed(2).padStart(11)}  ${c.uploadRatio.toFixed(2).padStart(12)}  ${c.runRatio.toFixed(2).padStart(9)}  ${c.throughputMiBs.toFixed(0).padStart(5)}  ${c.peakRssMB.toFixed(0).padStart(11)}  ${(c.uploadSamplesS ?? [c.uploadS]).map((x) => x.toFixed(1)).join(' ')}`
    )
  }
  console.log(
    `\nsequential baseline (1 GiB, parts PUT one at a time): ${baselineS.toFixed(1)} s, ${((sizes[0] * 1024) / baselineS).toFixed(0)} MiB/s`
  )
  if (atDefault)
    console.log(
      `speed-up at the default concurrency (8): ${(baselineS / atDefault.wallS).toFixed(1)}×`
    )
  console.log(
    `process start → first API request: ${Math.max(...cases.map((c) => c.firstRequestMs)).toFixed(0)} ms (worst of ${cases.reduce((n, c) => n + (c.uploadSamplesS?.length ?? 1), 0)} runs)`
  )
  console.log(`bundle: dist/index.js ${(bundleBytes / 1e6).toFixed(2)} MB`)
  const versions = runtimes.map((r) => ({
    node: execFileSync(r.node, ['--version'], { encoding: 'utf8' }).trim(),
    cases: r.cases.map((c) => ({ sizeGiB: c.sizeGiB, peakRssMB: c.peakRssMB, uploadS: c.uploadS }))
  }))
  for (const r of versions)
    console.log(
      `peak RSS on Node ${r.node} at concurrency 8: ${r.cases.map((c) => `${c.sizeGiB} GiB ${c.peakRssMB.toFixed(0)} MB`).join(', ')}`
    )
  for (const [name, value] of Object.entries(hashes)) console.log(`${name}: ${value.toFixed(0)}`)

  const curve = cases.filter((c) => c.sizeGiB === sizes[0])
  await mkdir(RESULTS, { recursive: true })
  await writeFile(new URL('throughput.svg', RESULTS), chart(curve, (sizes[0] * 1024) / baselineS))
  return {
    cases,
    runtimes: versions,
    baseline: { seconds: baselineS },
    hashing: hashes,
    bundleBytes
  }
}
