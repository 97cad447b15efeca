// version-id: an existing version handed over without an upload (a later, protected job promotes
// what an earlier job uploaded). End to end through dist/index.js against the simulator.
import { runAction } from '../../scripts/run-action.js'
import { IDENTIFIER, inputsFor, setUp, writes, type Harness } from '../helpers/simulator.js'

/** Inputs naming a version instead of an archive. */
const promote = (h: Harness, versionId: string, extra: Record<string, string> = {}) =>
  inputsFor(h, { 'archive-path': '', 'manifest-path': '', 'version-id': versionId, ...extra })

async function uploaded(h: Harness) {
  const run = await runAction(inputsFor(h))
  expect(run.outputs.state).toBe('COMPLETE')
  return run
}

test('a COMPLETE version is handed over as it is: nothing uploaded, nothing written', async () => {
  const h = await setUp()
  const first = await uploaded(h)
  const before = writes(h).length
  const run = await runAction(promote(h, first.outputs['version-id']))
  expect(run.exitCode).toBe(0)
  expect({ ...run.outputs, packs: undefined }).toEqual({
    packs: undefined,
    'asset-pack-id': first.outputs['asset-pack-id'],
    'version-id': first.outputs['version-id'],
    version: '1',
    state: 'COMPLETE',
    'internal-beta-state': 'READY_FOR_TESTING',
    'upload-file-id': first.outputs['upload-file-id'],
    'archive-md5': h.pack.md5,
    reused: 'true',
    unchanged: 'false'
  })
  expect(writes(h)).toHaveLength(before)
  expect(run.summary).toContain('Version 1 was given as version-id: handed over as it is')
})

test('a version still PROCESSING is waited for, then handed over', async () => {
  const h = await setUp({ processing: { assetMs: 3000 } })
  const first = await runAction(inputsFor(h, { 'wait-for-processing': 'false' }))
  expect(first.outputs.state).toBe('PROCESSING')
  const run = await runAction(promote(h, first.outputs['version-id']))
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toContain('is PROCESSING: handing it over; nothing is uploaded.')
  expect(run.outputs).toMatchObject({ state: 'COMPLETE', reused: 'true' })
  expect(h.sim.store.versions.size).toBe(1)
})

test('with submit-for-review, the promoted version is submitted; only the review is written', async () => {
  const h = await setUp()
  const first = await uploaded(h)
  const before = writes(h).length
  const run = await runAction(
    promote(h, first.outputs['version-id'], { 'submit-for-review': 'true' })
  )
  expect(run.exitCode).toBe(0)
  expect(run.outputs['review-submission-state']).toBe('WAITING_FOR_REVIEW')
  const written = writes(h)
    .slice(before)
    .map((r) => `${r.method} ${r.path.split('/')[2]}`)
  expect(new Set(written)).toEqual(
    new Set(['POST reviewSubmissions', 'POST reviewSubmissionItems', 'PATCH reviewSubmissions'])
  )
})

test('a version of another pack is refused before any write, naming version-id', async () => {
  const h = await setUp({ packs: [{ identifier: IDENTIFIER }] })
  const other = h.sim.seedPack({ identifier: 'desert-level-1', versions: [{ state: 'COMPLETE' }] })
  const [otherVersion] = h.sim.store.versionsOf(other.id)
  const run = await runAction(promote(h, otherVersion.id))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain(
    `::error::version-id: ${otherVersion.id} is a version of the asset pack 'desert-level-1', not of '${IDENTIFIER}'.`
  )
  expect(writes(h)).toEqual([])
})

test.each([
  [
    'neither archive-path nor version-id',
    { 'archive-path': '', 'version-id': '' },
    'archive-path: or version-id is required'
  ],
  [
    'both archive-path and version-id',
    { 'version-id': 'a1b2c3d4-0000-4000-8000-000000000000' },
    'archive-path: and version-id are both set; give one'
  ],
  [
    'manifest-path with version-id',
    { 'archive-path': '', 'version-id': 'a1b2c3d4-0000-4000-8000-000000000000' },
    'manifest-path: goes with archive-path'
  ]
])('%s is an input error before any request', async (_what, extra, message) => {
  const h = await setUp()
  const run = await runAction(inputsFor(h, extra))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain(`::error title=Invalid input::${message}`)
  expect(h.sim.requests).toEqual([])
})
