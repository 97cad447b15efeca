// The soak: many consecutive runs of dist/index.js against one simulator under faults (storage
// 5xx and resets, 429 bursts, lost create responses, latency). Every run must end COMPLETE with
// the bytes verified, and there must be exactly one version per release. Each release is three
// runs: attempt 1 of a workflow run; attempt 2 of that run with the archive rebuilt (same content,
// other bytes, as ba-package makes), which must reuse attempt 1's version; and another workflow
// run with attempt 1's exact bytes, which must reuse it too.
//   npm run soak [-- --runs 300]      (npm test runs 48)
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startSimulator } from '../simulator/index.js'
import { runAction, simulatorInputs } from './run-action.js'
import { writeSamplePack } from './sample-pack.js'

export interface SoakReport {
  runs: number
  completed: number
  reused: number
  /** Releases (three runs each); `versions` must equal it: no re-run made another version. */
  releases: number
  versions: number
  /** Archives whose MD5 is held by more than one version (must be none). */
  duplicated: number
  failures: string[]
  faults: Record<string, number>
  retries: number
  seconds: number
}

export async function runSoak(options: {
  runs: number
  seed?: number
  size?: number
  log?: (line: string) => void
}): Promise<SoakReport> {
  const started = Date.now()
  const identifier = 'soak-pack'
  const sim = await startSimulator({
    // The soak is about faults; a long one would otherwise spend the key's real hourly budget.
    rateLimitPerHour: 1_000_000,
    upload: { partSize: 16 * 1024 },
    processing: { assetMs: 100, manifestMs: 20 },
    faults: {
      seed: options.seed ?? 11,
      storageFailureRate: 0.1,
      storageResetRate: 0.03,
      rateLimitBurst: { probability: 0.02, durationMs: 30 },
      dropResponse: [
        {
          method: 'POST',
          path: '/v1/backgroundAssetVersions',
          times: Math.max(1, Math.floor(options.runs / 10))
        }
      ],
      latencyMs: 2
    }
  })
  const dir = await mkdtemp(join(tmpdir(), 'soak-'))
  const report: SoakReport = {
    runs: 0,
    completed: 0,
    reused: 0,
    releases: 0,
    versions: 0,
    duplicated: 0,
    failures: [],
    faults: {},
    retries: 0,
    seconds: 0
  }
  try {
    const firstVersionOf = new Map<number, string>()
    const firstMd5Of = new Map<number, string>()
    for (let i = 0; i < options.runs; i++) {
      const k = Math.floor(i / 3)
      const step = i % 3
      const packDir = join(dir, `archive-${k}-${step}`)
      await mkdir(packDir, { recursive: true })
      const pack = await writeSamplePack(packDir, {
        identifier,
        size: (options.size ?? 200_000) + k * 1000,
        // The rebuilt archive of attempt 2 has other bytes; the third run has attempt 1's.
        seed: step === 1 ? 10_000 + k : k + 1
      })
      const workflowRun = {
        GITHUB_RUN_ID: String(900_000 + k * 2 + (step === 2 ? 1 : 0)),
        GITHUB_RUN_ATTEMPT: step === 1 ? '2' : '1'
      }
      const run = await runAction(simulatorInputs(sim, pack, { 'poll-interval': '0.2s' }), {
        env: { ASSET_PACK_RELEASE_BACKOFF_SCALE: '0.01', ...workflowRun }
      })
      report.runs++
      report.retries += Number(/Retries<\/td><td>(\d+)/.exec(run.summary)?.[1] ?? 0)
      const version = run.outputs['version-id']
      const held = [...sim.store.uploadFiles.values()].find(
        (f) => f.id === run.outputs['upload-file-id']
      )?.committedChecksums?.file?.hash
      if (step === 0) firstMd5Of.set(k, pack.md5)
      // Every run of a release hands over the version holding attempt 1's bytes.
      const ok =
        run.exitCode === 0 &&
        run.outputs.state === 'COMPLETE' &&
        held === firstMd5Of.get(k) &&
        run.outputs['archive-md5'] === firstMd5Of.get(k)
      const reuseOk =
        step === 0 || (run.outputs.reused === 'true' && version === firstVersionOf.get(k))
      if (step === 0) firstVersionOf.set(k, version)
      if (ok && reuseOk) report.completed++
      else
        report.failures.push(
          `run ${i + 1}: exit ${run.exitCode}, state ${run.outputs.state}, reused ${run.outputs.reused}\n${run.stdout
            .split('\n')
            .filter((l) => l.startsWith('::error'))
            .join('\n')}`
        )
      if (run.outputs.reused === 'true') report.reused++
      options.log?.(
        `run ${i + 1}/${options.runs}: ${ok && reuseOk ? 'ok' : 'FAILED'} (version ${run.outputs.version}, reused ${run.outputs.reused})`
      )
    }
    report.releases = firstVersionOf.size
    report.versions = sim.store.versions.size
    const holders = new Map<string, number>()
    for (const v of sim.store.versions.values()) {
      const hash = v.assetFileId
        ? sim.store.uploadFiles.get(v.assetFileId)?.committedChecksums?.file?.hash
        : undefined
      if (hash) holders.set(hash, (holders.get(hash) ?? 0) + 1)
    }
    report.duplicated = [...holders.values()].filter((n) => n > 1).length
    report.faults = { ...sim.faultsInjected }
    if (sim.contractViolations.length) report.failures.push(...sim.contractViolations)
    if (sim.securityViolations.length) report.failures.push(...sim.securityViolations)
  } finally {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
    report.seconds = (Date.now() - started) / 1000
  }
  return report
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--runs')
  const runs = i >= 0 ? Number(process.argv[i + 1]) : 300
  const report = await runSoak({
    runs,
    size: 1_000_000,
    log: (line) => process.stderr.write(`${line}\n`)
  })
  console.log(JSON.stringify(report, null, 2))
  process.exitCode =
    report.failures.length || report.versions !== report.releases || report.duplicated ? 1 : 0
}
