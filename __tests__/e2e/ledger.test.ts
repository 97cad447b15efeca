// The resume ledger with the real @actions/cache client against a fake cache service on
// 127.0.0.1, and the action run as the runner runs it (dist/index.js).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { runAction } from '../../scripts/run-action.js'
import { cacheEnv, startCacheService, type CacheService } from '../helpers/cache-service.js'
import { assetFiles, FAST_RETRIES, inputsFor, setUp, type Harness } from '../helpers/simulator.js'

let service: CacheService | undefined
let runnerTemp: string
beforeEach(async () => {
  runnerTemp = await mkdtemp(join(tmpdir(), 'runner-temp-'))
})
afterEach(async () => {
  await service?.close()
  await rm(runnerTemp, { recursive: true, force: true })
  service = undefined
})

const SIZE = 4 * 1024 * 1024
const PART = 64 * 1024
const putsAccepted = (h: Harness, fileId: string, since = 0) =>
  h.sim.requests.filter(
    (r) => r.method === 'PUT' && r.status === 200 && r.path.includes(fileId) && r.at >= since
  )

/** SIGTERM (what the runner sends on cancel) once the storage holds half the archive's parts. */
function cancelAtHalf(h: Harness, cancelledAt: { ms: number }) {
  return (child: ChildProcess) => {
    const timer = setInterval(() => {
      const file = assetFiles(h)[0]
      if (file?.assembly && file.assembly.parts.size >= file.operations.length / 2) {
        clearInterval(timer)
        cancelledAt.ms = Date.now()
        child.kill('SIGTERM')
      }
    }, 10)
    child.on('exit', () => clearInterval(timer))
  }
}

test.each([
  ['the same runner temp folder', false],
  ['another runner temp folder and workspace (a self-hosted re-run)', true]
])(
  'a run cancelled halfway saves the ledger; the re-run on %s sends only the missing parts and the bytes verify',
  async (_where, elsewhere) => {
    const h = await setUp(
      { upload: { partSize: PART }, faults: { bandwidthPerConnection: 1024 * 1024 } },
      SIZE
    )
    service = await startCacheService()
    const cancelledAt = { ms: 0 }
    const first = await runAction(
      inputsFor(h, { 'upload-concurrency': '4', 'manifest-path': '' }),
      {
        env: cacheEnv(service, runnerTemp, 1),
        onStart: cancelAtHalf(h, cancelledAt)
      }
    )
    const exitedAfterMs = Date.now() - cancelledAt.ms
    expect(first.exitCode).toBe(1)
    expect(exitedAfterMs).toBeLessThan(5000)
    expect(first.stdout).toContain('Received SIGTERM')
    expect(first.summary).toContain('cancelled')
    expect(first.summary).toContain('a re-run sends only the parts that are left')
    expect(first.outputs['version-id']).toBeTruthy()
    expect(service.entries.filter((e) => e.finalized).length).toBeGreaterThan(0)

    const archive = assetFiles(h)[0]
    const total = archive.operations.length
    const held = new Set(archive.assembly!.parts.keys())
    const missing = total - held.size
    expect(held.size).toBeGreaterThanOrEqual(total / 2)
    h.sim.options.faults.bandwidthPerConnection = 0

    const secondStart = Date.now()
    // runAction gives every run its own workspace (cwd); the temp folder moves too when asked.
    const secondTemp = elsewhere ? await mkdtemp(join(tmpdir(), 'other-runner-temp-')) : runnerTemp
    const second = await runAction(
      inputsFor(h, { 'upload-concurrency': '4', 'manifest-path': '' }),
      {
        env: cacheEnv(service, secondTemp, 2)
      }
    )
    if (elsewhere) await rm(secondTemp, { recursive: true, force: true })
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toMatch(/Resume ledger restored from asset-pack-release-ledger-v1-/)
    expect(second.stdout).toMatch(
      /Resuming upload file .*: \d+ of \d+ parts were sent by an earlier run/
    )
    expect(second.outputs['version-id']).toBe(first.outputs['version-id'])
    expect(second.outputs['upload-file-id']).toBe(archive.id)
    const resent = putsAccepted(h, archive.id, secondStart)
    // Only what the storage lacked (at most the parts in flight at the kill are repeated).
    const heldBeforeButSentAgain = resent.filter((r) => held.has(Number(r.path.split('/').pop())))
    expect(resent.length).toBeGreaterThanOrEqual(missing)
    expect(heldBeforeButSentAgain.length).toBeLessThanOrEqual(4)
    expect(archive.committedChecksums?.file?.hash).toBe(h.pack.md5)
    expect(h.sim.store.versions.size).toBe(1)
    console.log(
      `resume (${_where}): ${held.size} of ${total} parts held after the cancel; re-run sent ${resent.length} (${((resent.length * PART * 100) / SIZE).toFixed(0)} % of the archive), ${heldBeforeButSentAgain.length} of them already held`
    )
  },
  60_000
)

test('without a cache service, a cache refusing writes, or cache-mode none: the same result and one line', async () => {
  const h = await setUp()
  const closed = await startCacheService()
  await closed.close()
  service = await startCacheService({ denyWrites: true })
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /Resume ledger off \(no cache service in this environment\)/],
    [
      { ...cacheEnv(closed, runnerTemp), GITHUB_RUN_ID: '1' },
      /Resume ledger off \(the cache service does not answer: ECONNREFUSED/
    ],
    [
      { ...cacheEnv(service, runnerTemp), GITHUB_RUN_ID: '2' },
      /Resume ledger not saved: the cache refused it/
    ],
    [
      { ...cacheEnv(service, runnerTemp), ACTIONS_CACHE_MODE: 'none' },
      /Resume ledger off \(ACTIONS_CACHE_MODE is none\)/
    ],
    [
      { ...cacheEnv(service, runnerTemp), ACTIONS_RUNTIME_TOKEN: '' },
      /Resume ledger off \(no ACTIONS_RUNTIME_TOKEN\)/
    ]
  ]
  for (const [env, line] of cases) {
    h.sim.seedPack({
      identifier:
        `p${Object.keys(env).length}${env.GITHUB_RUN_ID ?? ''}${env.ACTIONS_CACHE_MODE ?? ''}${env.ACTIONS_RUNTIME_TOKEN ?? 'x'}`.replace(
          /[^A-Za-z0-9]/g,
          ''
        )
    })
    const run = await runAction(inputsFor(h, { 'reuse-existing': 'false' }), {
      env: { ...env, ...FAST_RETRIES }
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(line)
    expect(run.stdout.split('\n').filter((l) => l.includes('Resume ledger')).length).toBe(1)
    expect(run.durationMs).toBeLessThan(20_000)
  }
}, 120_000)

test('a ledger naming a version that is no longer AWAITING_UPLOAD is ignored safely', async () => {
  const h = await setUp(
    { upload: { partSize: PART }, faults: { bandwidthPerConnection: 1024 * 1024 } },
    SIZE
  )
  service = await startCacheService()
  const first = await runAction(inputsFor(h, { 'upload-concurrency': '4', 'manifest-path': '' }), {
    env: cacheEnv(service, runnerTemp, 1),
    onStart: cancelAtHalf(h, { ms: 0 })
  })
  expect(first.exitCode).toBe(1)
  // Meanwhile, someone else finished that version (with another archive).
  h.sim.store.versions.get(first.outputs['version-id'])!.state = 'COMPLETE'
  h.sim.options.faults.bandwidthPerConnection = 0
  const second = await runAction(inputsFor(h, { 'manifest-path': '' }), {
    env: cacheEnv(service, runnerTemp, 2)
  })
  expect(second.exitCode).toBe(0)
  expect(second.outputs['version-id']).not.toBe(first.outputs['version-id'])
  expect(second.stdout).toMatch(/The ledger is about version .*; it is not used/)
  expect(assetFiles(h)[0]).toBeDefined()
  expect(
    [...h.sim.store.uploadFiles.values()].find((f) => f.id === second.outputs['upload-file-id'])
      ?.committedChecksums?.file?.hash
  ).toBe(h.pack.md5)
}, 60_000)

test('a re-run that finds no ledger although it is attempt 2 says so', async () => {
  const h = await setUp({}, SIZE)
  service = await startCacheService()
  const run = await runAction(inputsFor(h, { 'manifest-path': '', 'reuse-existing': 'false' }), {
    env: { ...cacheEnv(service, runnerTemp, 2), ...FAST_RETRIES }
  })
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toContain(
    'No resume ledger for this archive although this is attempt 2 of run 4242: the cache evicted it, or the archive has other bytes than before (rebuilt). Parts are sent from the start.'
  )
})
