// The benchmark's content cases: archives laid out as ba-package writes them (scripts/
// sample-archive.ts), measured from outside by running dist/index.js against the simulator.
//  - identity: the read of the whole archive before any request ("Checking inputs" in the job
//    summary), as decoded MiB/s and the action's peak RSS, for a raw, a mixed (textures and text)
//    and a text-heavy 1 GiB pack and a 4 GiB mixed one; and the LZFSE decoder alone against
//    Apple's reference decoder over the same blocks, when LZFSE_REFERENCE names its binary.
//  - first release: 1 GiB mixed pack, the pass included, against a bare client measured in the
//    same run (reserve, the same operations PUT 8 at a time with the MD5 read beside them, commit).
//  - no change: 8 packs × 128 MiB released, then rebuilt with new times (same content) and
//    released again: bytes uploaded, wall time and peak RSS of both.
import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readSync } from 'node:fs'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readContainer } from '../src/archive/container.js'
import { decodeLzfse } from '../src/archive/lzfse.js'
import { startSimulator, WIDE_AREA, type Simulator } from '../simulator/index.js'
import {
  packEntry,
  runAction,
  simulatorInputs,
  withPacks,
  type ActionRun
} from '../scripts/run-action.js'
import {
  MiB,
  textPack,
  texturePack,
  writeSampleArchive,
  type ArchiveFileSpec,
  type SampleArchiveOptions
} from '../scripts/sample-archive.js'
import { sampleManifest } from '../scripts/sample-pack.js'
import { plainClient } from './clients.js'

const GiB = 1024 * MiB
const RUNS = 3

type Kind = 'raw' | 'mixed' | 'text'

/** A pack of `kind` and `bytes` of file contents in `dir` (written once per benchmark run). */
export async function contentPack(dir: string, kind: Kind, bytes = GiB, seed = 1) {
  const path = join(dir, `${kind}-${bytes}-${seed}.aar`)
  const files: ArchiveFileSpec[] =
    kind === 'text' ? textPack(bytes, seed) : texturePack(bytes, seed)
  const options: SampleArchiveOptions = {
    manifest: sampleManifest('bench'),
    files,
    container: kind === 'raw' ? 'raw' : 'lzfse'
  }
  try {
    return { path, rawSize: (await stat(path)).size, options }
  } catch {
    process.stderr.write(`writing a ${bytes / MiB} MiB ${kind} pack…\n`)
    const written = await writeSampleArchive(path, options)
    return { path, rawSize: written.rawSize, options }
  }
}

/** Seconds of a phase, from the job summary's timings. */
function phaseS(run: ActionRun, phase: string): number {
  return Number(new RegExp(`${phase} ([\\d.]+) s`).exec(run.summary)?.[1])
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** One dry run: the pass is all the action does before its first request. */
async function checkOnce(path: string) {
  const sim = await startSimulator(WIDE_AREA)
  try {
    const run = await runAction(
      simulatorInputs(sim, { identifier: 'bench', archivePath: path }, { 'dry-run': 'true' }),
      { timeoutMs: 600_000 }
    )
    if (run.exitCode !== 0) throw new Error(`the action failed:\n${run.stdout.slice(-2000)}`)
    return { checkS: phaseS(run, 'Checking inputs'), peakRssMB: (run.peakRssBytes ?? 0) / 1e6 }
  } finally {
    await sim.close()
  }
}

export interface IdentityCase {
  pack: Kind
  fileMB: number
  decodedMiB: number
  checkS: number
  decodedMiBs: number
  peakRssMB: number
}

/** The packs of the identity pass: 1 GiB of each kind, and a 4 GiB mixed one for the memory. */
const IDENTITY_PACKS: { kind: Kind; bytes: number }[] = [
  { kind: 'raw', bytes: GiB },
  { kind: 'mixed', bytes: GiB },
  { kind: 'text', bytes: GiB },
  { kind: 'mixed', bytes: 4 * GiB }
]

export async function identityCases(dir: string): Promise<{
  cases: IdentityCase[]
  decoder: Record<string, unknown>[]
}> {
  const cases: IdentityCase[] = []
  const decoder: Record<string, unknown>[] = []
  for (const { kind, bytes } of IDENTITY_PACKS) {
    const pack = await contentPack(dir, kind, bytes)
    const fileMB = (await stat(pack.path)).size / 1e6
    process.stderr.write(`identity pass: ${bytes / GiB} GiB ${kind} pack…\n`)
    const runs = []
    for (let i = 0; i < RUNS; i++) runs.push(await checkOnce(pack.path))
    const checkS = median(runs.map((r) => r.checkS))
    cases.push({
      pack: kind,
      fileMB,
      decodedMiB: pack.rawSize / MiB,
      checkS,
      decodedMiBs: pack.rawSize / MiB / checkS,
      peakRssMB: Math.max(...runs.map((r) => r.peakRssMB))
    })
    if (kind !== 'raw' && bytes === GiB)
      decoder.push({ pack: kind, ...(await decoderAgainstReference(dir, pack.path)) })
  }
  return { cases, decoder }
}

/**
 * The LZFSE decoder alone on the pack's compressed blocks (one thread, in this process), and
 * Apple's reference `lzfse -decode` over the same blocks as one stream (each block's stream ends
 * in `bvx$`; without it the blocks chain into one stream), when LZFSE_REFERENCE names the binary.
 */
async function decoderAgainstReference(dir: string, path: string) {
  const fd = openSync(path, 'r')
  const blocks: { payload: Buffer; rawSize: number }[] = []
  try {
    const container = readContainer(fd, (await stat(path)).size)
    if ('problem' in container) throw new Error(container.problem)
    for (const block of container.blocks.filter((b) => b.codec === 'lzfse')) {
      const payload = Buffer.alloc(block.storedSize)
      readSync(fd, payload, 0, payload.length, block.fileOffset)
      blocks.push({ payload, rawSize: block.rawSize })
    }
  } finally {
    closeSync(fd)
  }
  const decodedBytes = blocks.reduce((sum, b) => sum + b.rawSize, 0)
  const output = new Uint8Array(Math.max(...blocks.map((b) => b.rawSize)))
  const runs: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint()
    for (const { payload, rawSize } of blocks) decodeLzfse(payload, output.subarray(0, rawSize))
    runs.push(Number(process.hrtime.bigint() - started) / 1e9)
  }
  const oursS = median(runs)
  const payloads = blocks.map((b) => b.payload)
  const result: Record<string, unknown> = {
    blocks: blocks.length,
    decodedMiB: decodedBytes / MiB,
    oursMiBs: decodedBytes / MiB / oursS
  }
  const reference = process.env.LZFSE_REFERENCE
  if (reference) {
    const stream = join(dir, 'blocks.lzfse')
    const end = Buffer.from('bvx$', 'latin1')
    await writeFile(
      stream,
      Buffer.concat([...payloads.map((p) => p.subarray(0, p.length - 4)), end])
    )
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint()
      execFileSync(reference, ['-decode', '-i', stream, '-o', '/dev/null'])
      times.push(Number(process.hrtime.bigint() - t) / 1e9)
    }
    const referenceS = median(times)
    Object.assign(result, {
      referenceMiBs: decodedBytes / MiB / referenceS,
      oursOverReference: oursS / referenceS
    })
  }
  return result
}

const RUN_ENV = {
  GITHUB_REPOSITORY: 'octo/game',
  GITHUB_SHA: '8f3e2a91c0d47b5e6a1f2c3d4e5f60718293a4b5',
  GITHUB_REF: 'refs/tags/assets-v1',
  GITHUB_RUN_ID: '1',
  GITHUB_RUN_ATTEMPT: '1'
}

/** A first release of the 1 GiB mixed pack (the pass included) against the bare client. */
export async function firstRelease(dir: string) {
  const pack = await contentPack(dir, 'mixed')
  const size = (await stat(pack.path)).size
  const runs: {
    checkS: number
    uploadS: number
    wallS: number
    bareS: number
    peakRssMB: number
  }[] = []
  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`first release of the 1 GiB mixed pack, run ${i + 1} of ${RUNS}…\n`)
    const sim = await startSimulator(WIDE_AREA)
    try {
      const run = await runAction(
        simulatorInputs(
          sim,
          { identifier: 'bench', archivePath: pack.path },
          { 'wait-for-processing': 'false' }
        ),
        { timeoutMs: 600_000, env: RUN_ENV }
      )
      if (run.exitCode !== 0) throw new Error(`the action failed:\n${run.stdout.slice(-2000)}`)
      const bareS = await plainClient(sim, pack.path, size, { concurrency: 8, md5First: false })
      runs.push({
        checkS: phaseS(run, 'Checking inputs'),
        uploadS: phaseS(run, 'Uploading the archive'),
        wallS: run.durationMs / 1000,
        bareS,
        peakRssMB: (run.peakRssBytes ?? 0) / 1e6
      })
    } finally {
      await sim.close()
    }
  }
  const m = (key: keyof (typeof runs)[number]) => median(runs.map((r) => r[key]))
  return {
    fileMB: size / 1e6,
    checkS: m('checkS'),
    uploadS: m('uploadS'),
    wallS: m('wallS'),
    bareS: m('bareS'),
    passAndUploadOverBare: median(runs.map((r) => (r.checkS + r.uploadS) / r.bareS)),
    wallOverBare: median(runs.map((r) => r.wallS / r.bareS)),
    peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
    runs
  }
}

const NO_CHANGE_PACKS = 8
const NO_CHANGE_BYTES = 128 * MiB

/** Bytes of every archive App Store Connect has reserved so far. */
const reservedBytes = (sim: Simulator) =>
  [...sim.store.uploadFiles.values()]
    .filter((f) => f.assetType === 'ASSET')
    .reduce((sum, f) => sum + f.fileSize, 0)

/** 8 packs released, then rebuilt with new times (the same content) and released again. */
export async function noChangeRelease(dir: string) {
  const sim = await startSimulator(WIDE_AREA)
  try {
    const release = async (packagedAt: number) => {
      const entries = []
      for (let i = 0; i < NO_CHANGE_PACKS; i++) {
        const identifier = `level-${i + 1}`
        const path = join(dir, `${identifier}.aar`)
        await writeSampleArchive(path, {
          manifest: sampleManifest(identifier),
          files: texturePack(NO_CHANGE_BYTES, i + 1),
          packagedAt
        })
        entries.push(packEntry({ identifier, archivePath: path }))
      }
      const before = reservedBytes(sim)
      const puts = sim.requests.filter((r) => r.method === 'PUT').length
      const inputs = withPacks(simulatorInputs(sim, { identifier: '', archivePath: '' }), entries)
      const run = await runAction(inputs, { timeoutMs: 600_000, env: RUN_ENV })
      if (run.exitCode !== 0) throw new Error(`the action failed:\n${run.stdout.slice(-2000)}`)
      return {
        wallS: run.durationMs / 1000,
        checkS: phaseS(run, 'Checking inputs'),
        bytesUploaded: reservedBytes(sim) - before,
        puts: sim.requests.filter((r) => r.method === 'PUT').length - puts,
        unchanged: (JSON.parse(run.outputs.packs) as { unchanged: boolean }[]).filter(
          (p) => p.unchanged
        ).length,
        peakRssMB: (run.peakRssBytes ?? 0) / 1e6
      }
    }
    process.stderr.write(
      `no-change release: ${NO_CHANGE_PACKS} packs × ${NO_CHANGE_BYTES / MiB} MiB, full release…\n`
    )
    const full = await release(1_780_000_000)
    process.stderr.write('…rebuilt with new times, released again…\n')
    const again = await release(1_790_000_000)
    return { packs: NO_CHANGE_PACKS, packMiB: NO_CHANGE_BYTES / MiB, full, noChange: again }
  } finally {
    await sim.close()
  }
}
