// "Re-run failed jobs" with a job that rebuilds its archive (ba-package output is not
// byte-reproducible): every attempt of one workflow run is one release, found from App Store
// Connect itself through the reservation's file name, with no cache service. End to end through
// dist/index.js against the simulator.
import type { ChildProcess } from 'node:child_process'
import { runAction } from '../../scripts/run-action.js'
import { writeSamplePack } from '../../scripts/sample-pack.js'
import {
  assetFiles,
  FAST_RETRIES,
  IDENTIFIER,
  inputsFor,
  setUp,
  type Harness
} from '../helpers/simulator.js'

const RUN = '555000111'
const attempt = (n: number, runId = RUN) => ({
  GITHUB_RUN_ID: runId,
  GITHUB_RUN_ATTEMPT: String(n),
  ...FAST_RETRIES
})
const puts = (h: Harness, since: number) =>
  h.sim.requests.filter((r) => r.method === 'PUT' && r.at >= since)

/** The job's packaging step again: same content, other bytes (another packaging time). */
async function rebuild(h: Harness, n: number): Promise<void> {
  h.pack = await writeSamplePack(h.dir, {
    identifier: IDENTIFIER,
    size: h.pack.size,
    packagedAt: 1_790_000_000 + n
  })
}

/** A build of other content (another seed). */
async function change(h: Harness, seed: number): Promise<void> {
  h.pack = await writeSamplePack(h.dir, { identifier: IDENTIFIER, size: h.pack.size, seed })
}

/** `forest-level-2 (run 555000111 attempt 1, content …).aar`: the run and the content id. */
const reserved = (contentId: string, attempt?: number) =>
  `${IDENTIFIER} (${attempt ? `run ${RUN} attempt ${attempt}, ` : ''}content ${contentId.slice(0, 32)}).aar`

test('attempt 1 times out while PROCESSING; attempt 2 with a rebuilt archive waits for that version', async () => {
  const h = await setUp({ processing: { assetMs: 4000 } })
  const first = await runAction(inputsFor(h, { 'processing-timeout': '1s' }), { env: attempt(1) })
  expect(first.exitCode).toBe(1)
  expect(first.outputs.state).toBe('PROCESSING')
  expect(first.summary).toContain('re-run this job later; it waits for the same version')
  // The reservation names the run and the content: readable in App Store Connect, and how
  // attempt 2 finds it.
  expect(assetFiles(h).map((f) => f.fileName)).toEqual([reserved(first.outputs['content-id'], 1)])

  await rebuild(h, 2)
  const before = Date.now()
  const second = await runAction(inputsFor(h), { env: attempt(2) })
  expect(second.exitCode).toBe(0)
  expect(second.outputs).toMatchObject({
    'version-id': first.outputs['version-id'],
    version: '1',
    state: 'COMPLETE',
    reused: 'true',
    // The rebuild holds the same content: unchanged too.
    unchanged: 'true',
    'content-id': first.outputs['content-id'],
    'upload-file-id': assetFiles(h)[0].id
  })
  expect(h.sim.store.versions.size).toBe(1)
  expect(puts(h, before)).toEqual([])
  const made = `Version 1 was made by attempt 1 of this run (${RUN}); reusing it`
  expect(second.stdout).toContain(made)
  expect(second.summary).toContain(
    `${made}: its archive was built from the same commit. Nothing was uploaded.`
  )
  // archive-md5 is that of the archive the version holds (attempt 1's bytes).
  expect(second.outputs['archive-md5']).toBe(assetFiles(h)[0].committedChecksums?.file?.hash)
})

test('attempt 1 killed mid-upload; attempt 2 with a rebuilt archive completes that version', async () => {
  const h = await setUp(
    { upload: { partSize: 64 * 1024 }, faults: { bandwidthPerConnection: 512 * 1024 } },
    2 * 1024 * 1024
  )
  const kill = (child: ChildProcess) => {
    const timer = setInterval(() => {
      const file = assetFiles(h)[0]
      if (file?.assembly && file.assembly.parts.size >= 8) {
        clearInterval(timer)
        child.kill('SIGKILL')
      }
    }, 10)
    child.on('exit', () => clearInterval(timer))
  }
  const first = await runAction(inputsFor(h, { 'manifest-path': '' }), {
    env: attempt(1),
    onStart: kill
  })
  expect(first.exitCode).not.toBe(0)
  const [version] = h.sim.store.versions.values()
  expect(version.state).toBe('AWAITING_UPLOAD')

  h.sim.options.faults.bandwidthPerConnection = 0
  await rebuild(h, 3)
  const second = await runAction(inputsFor(h, { 'manifest-path': '' }), { env: attempt(2) })
  expect(second.exitCode).toBe(0)
  expect(second.outputs['version-id']).toBe(version.id)
  expect(second.outputs.state).toBe('COMPLETE')
  expect(h.sim.store.versions.size).toBe(1)
  // The version holds the rebuilt archive, whole and verified.
  const committed = assetFiles(h).find((f) => f.id === second.outputs['upload-file-id'])!
  expect(committed.committedChecksums?.file?.hash).toBe(h.pack.md5)
  expect(committed.fileName).toBe(reserved(second.outputs['content-id'], 2))
})

test('attempt 1’s version FAILED: attempt 2 makes a new one, saying why', async () => {
  const h = await setUp({
    processing: { failWith: { errors: [{ code: 'ITMS-91148', description: 'platform dropped' }] } }
  })
  const first = await runAction(inputsFor(h), { env: attempt(1) })
  expect(first.exitCode).toBe(1)
  expect(first.outputs.state).toBe('FAILED')

  h.sim.options.processing.failWith = undefined
  await rebuild(h, 4)
  const second = await runAction(inputsFor(h), { env: attempt(2) })
  expect(second.exitCode).toBe(0)
  expect(second.stdout).toContain(
    `Version 1 was made by attempt 1 of this run (${RUN}) and FAILED, which is final; this attempt makes a new version.`
  )
  expect(second.outputs).toMatchObject({ version: '2', state: 'COMPLETE', reused: 'false' })
  expect(h.sim.store.versions.size).toBe(2)
})

test('another run with changed content is a new release: a new version', async () => {
  const h = await setUp()
  const first = await runAction(inputsFor(h), { env: attempt(1) })
  expect(first.outputs.state).toBe('COMPLETE')
  await change(h, 5)
  const other = await runAction(inputsFor(h), { env: attempt(1, '555000999') })
  expect(other.exitCode).toBe(0)
  expect(other.outputs).toMatchObject({ version: '2', reused: 'false' })
  expect(h.sim.store.versions.size).toBe(2)
})

test('outside GitHub Actions (no GITHUB_RUN_ID): the content in the file name, content decides', async () => {
  const h = await setUp()
  const first = await runAction(inputsFor(h), { env: FAST_RETRIES })
  expect(first.outputs.state).toBe('COMPLETE')
  expect(assetFiles(h)[0].fileName).toBe(reserved(first.outputs['content-id']))
  // The same content, rebuilt, is unchanged...
  await rebuild(h, 6)
  const again = await runAction(inputsFor(h), { env: FAST_RETRIES })
  expect(again.outputs).toMatchObject({ version: '1', reused: 'true', unchanged: 'true' })
  // ...changed content makes a new version.
  await change(h, 6)
  const rebuilt = await runAction(inputsFor(h), { env: FAST_RETRIES })
  expect(rebuilt.outputs).toMatchObject({ version: '2', reused: 'false' })
})
