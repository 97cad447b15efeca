// Release only what changed, end to end (dist/index.js against the simulator): a pack whose
// newest version already holds the archive's content (same files, paths and manifest; other
// bytes after a rebuild) keeps that version — no version, preflight, reservation or PUT — and
// only the versions that need review go into the one review submission, Apple's 10 counted on
// those. Content identity is read back from the reservation's file name.
import {
  appStoreState,
  build,
  buildAll,
  itemVersions,
  packRecord,
  packsInputs,
  packsOf,
  postsTo,
  putsSince,
  reservedName,
  runIn,
  SIZE,
  singleInputs,
  submissions,
  summaryCells,
  summaryField,
  uploadEntry,
  uploadFilesOfPack,
  versionsOf,
  writesSince,
  type PackOutput
} from '../helpers/release-packs.js'
import { setUp } from '../helpers/simulator.js'

const SIX = ['forest-1', 'forest-2', 'desert-1', 'desert-2', 'ocean-1', 'ocean-2']
const REVIEW = { 'submit-for-review': 'true' }
const RUN_1 = '444000111'
const RUN_2 = '444000222'
const byId = (out: PackOutput[]) => new Map(out.map((p) => [p['asset-pack-identifier'], p]))

test('six packs live, all rebuilt and two changed: two new versions, only they are uploaded and reviewed; the same step again writes nothing', async () => {
  const h = await setUp()
  const packs = await buildAll(h, SIX)
  const first = await runIn(packsInputs(h, packs.map(uploadEntry), REVIEW), RUN_1)
  expect(first.exitCode).toBe(0)
  const released = byId(packsOf(first))
  // The reservation's name carries the run and the content identity.
  for (const id of SIX) {
    const contentId = released.get(id)!['content-id'] as string
    expect(contentId).toMatch(/^[0-9a-f]{64}$/)
    const [archive] = uploadFilesOfPack(h, id).filter((f) => f.assetType === 'ASSET')
    expect(archive.fileName).toBe(reservedName(id, contentId, { runId: RUN_1, attempt: 1 }))
  }
  const [approved] = submissions(h)
  expect(itemVersions(h, approved.id)).toHaveLength(6)
  h.sim.approveSubmission(approved.id)
  const live = new Map(SIX.map((id) => [id, packRecord(h, id).appStoreVersionId!]))
  for (const id of SIX) expect(live.get(id)).toBe(released.get(id)!['version-id'])

  // The next release: every pack rebuilt (other bytes), desert-1 and ocean-2 with changed content.
  const changed = ['desert-1', 'ocean-2']
  const rebuilt = await buildAll(h, SIX, (i) => ({
    packagedAt: 1_790_000_000,
    seed: changed.includes(SIX[i]) ? 100 + i : i + 2
  }))
  const filesBefore = new Map(SIX.map((id) => [id, uploadFilesOfPack(h, id).length]))
  const since = Date.now()
  const second = await runIn(packsInputs(h, rebuilt.map(uploadEntry), REVIEW), RUN_2)
  expect(second.exitCode).toBe(0)
  const out = byId(packsOf(second))

  // Exactly two new versions, each with its manifest preflight and archive.
  expect(postsTo(h, '/v1/backgroundAssetVersions', since)).toHaveLength(2)
  expect(postsTo(h, '/v1/backgroundAssetUploadFiles', since)).toHaveLength(4)
  const fresh = changed.map((id) => versionsOf(h, id)[1])
  expect(fresh.map((v) => v.number)).toEqual([2, 2])
  const freshFiles = fresh.flatMap((v) => h.sim.store.uploadFilesOf(v.id).map((f) => f.id))
  expect(freshFiles).toHaveLength(4)
  const puts = putsSince(h, since)
  expect(puts.length).toBeGreaterThan(0)
  expect(puts.every((r) => freshFiles.some((id) => r.path.includes(id)))).toBe(true)
  for (const id of SIX.filter((i) => !changed.includes(i))) {
    // Nothing created, reserved, preflighted or PUT for the four unchanged packs.
    expect(versionsOf(h, id)).toHaveLength(1)
    expect(uploadFilesOfPack(h, id)).toHaveLength(filesBefore.get(id)!)
    expect(out.get(id)).toMatchObject({
      'version-id': live.get(id),
      version: '1',
      state: 'COMPLETE',
      reused: true,
      unchanged: true,
      'content-id': released.get(id)!['content-id'],
      // The archive the version holds: the first run's bytes.
      'upload-file-id': released.get(id)!['upload-file-id'],
      'archive-md5': released.get(id)!['archive-md5']
    })
    expect(second.stdout).toContain(
      `[${id}] Unchanged since version 1 (made by run ${RUN_1}), which is COMPLETE: it is the release; nothing is uploaded.`
    )
    expect(second.summary).toContain(
      `${id}: Unchanged since version 1 (made by run ${RUN_1}): that version holds the same content`
    )
    expect(summaryCells(second.summary, id)).toMatchObject({
      Version: `1 (<code>${live.get(id)}</code>)`,
      'App Store': 'READY_FOR_DISTRIBUTION',
      Content: expect.stringMatching(/^unchanged since version 1 · <code>[0-9a-f]{12}<\/code>$/),
      Reused: 'yes'
    })
  }
  for (const [i, id] of changed.entries()) {
    expect(out.get(id)).toMatchObject({
      'version-id': fresh[i].id,
      version: '2',
      state: 'COMPLETE',
      reused: false,
      unchanged: false
    })
    expect(out.get(id)!['content-id']).not.toBe(released.get(id)!['content-id'])
    expect(summaryCells(second.summary, id)).toMatchObject({
      'App Store': 'WAITING_FOR_REVIEW',
      Content: expect.stringMatching(/^new · <code>[0-9a-f]{12}<\/code>$/),
      Reused: 'no'
    })
  }
  // One new submission, holding exactly the two new versions; the live four left out.
  const made = submissions(h).filter((s) => s.id !== approved.id)
  expect(made).toHaveLength(1)
  expect(made[0].state).toBe('WAITING_FOR_REVIEW')
  expect(itemVersions(h, made[0].id).sort()).toEqual(fresh.map((v) => v.id).sort())
  expect(second.outputs['review-submission-id']).toBe(made[0].id)
  for (const id of SIX.filter((i) => !changed.includes(i)))
    expect(appStoreState(h, live.get(id)!)).toBe('READY_FOR_DISTRIBUTION')
  expect(second.summary).toContain('Left out of the review submission')
  expect(second.summary).toContain('forest-1 version 1 (READY_FOR_DISTRIBUTION)')

  // The same step again (a re-run): nothing written at all, the submission reported as it is.
  const again = Date.now()
  const third = await runIn(packsInputs(h, rebuilt.map(uploadEntry), REVIEW), RUN_2, 2)
  expect(third.exitCode).toBe(0)
  expect(writesSince(h, again)).toEqual([])
  expect(submissions(h)).toHaveLength(2)
  expect(third.outputs['review-submission-id']).toBe(made[0].id)
  expect(third.outputs['review-submission-state']).toBe('WAITING_FOR_REVIEW')
  const thirdOut = byId(packsOf(third))
  for (const id of SIX) {
    expect(thirdOut.get(id)).toMatchObject({
      reused: true,
      'version-id': out.get(id)!['version-id']
    })
  }
  expect(third.summary).toContain(`already in review submission ${made[0].id}`)
}, 60_000)

const TWELVE = Array.from({ length: 12 }, (_, i) => `level-${i + 1}`)

test('twelve packs live: two changed go to review in one submission of two; eleven changed are refused before any write, quoting Apple’s 10', async () => {
  const h = await setUp()
  const packs = await buildAll(h, TWELVE)
  // The content identities of the local archives, from a dry run (it writes nothing).
  const dry = await runIn(packsInputs(h, packs.map(uploadEntry), { 'dry-run': 'true' }), RUN_1)
  expect(dry.exitCode).toBe(0)
  const contentIds = packsOf(dry).map((p) => p['content-id'] as string)
  // Live on the App Store: each pack's one version holds that content (built by an earlier run).
  for (const [i, identifier] of TWELVE.entries())
    h.sim.seedPack({
      identifier,
      versions: [
        {
          state: 'COMPLETE',
          appStoreState: 'READY_FOR_DISTRIBUTION',
          archive: {
            fileName: reservedName(identifier, contentIds[i], { runId: '333000111', attempt: 1 }),
            fileSize: SIZE,
            md5: 'c'.repeat(32)
          }
        }
      ]
    })
  const liveIds = TWELVE.map((id) => versionsOf(h, id)[0].id)

  // Nothing changed (a rebuild): nothing goes to review, no submission, nothing written.
  const rebuilt = await buildAll(h, TWELVE, () => ({ packagedAt: 1_790_000_000 }))
  let since = Date.now()
  const unchanged = await runIn(packsInputs(h, rebuilt.map(uploadEntry), REVIEW), RUN_1)
  expect(unchanged.exitCode).toBe(0)
  expect(writesSince(h, since)).toEqual([])
  expect(submissions(h)).toEqual([])
  expect(packsOf(unchanged).map((p) => p['version-id'])).toEqual(liveIds)
  expect(packsOf(unchanged).every((p) => p.unchanged === true)).toBe(true)
  expect(unchanged.stdout).toContain(
    'Nothing to submit for App Store review: every version is already in review, accepted or live.'
  )
  expect(unchanged.summary).toContain(
    'Nothing was submitted for App Store review: no version needed it, so no submission was made.'
  )
  expect(unchanged.outputs['review-submission-id'] ?? '').toBe('')

  // Two changed: two new versions in one submission of two.
  const two = await buildAll(h, TWELVE, (i) => ({
    packagedAt: 1_790_000_001,
    seed: i < 2 ? 200 + i : i + 2
  }))
  since = Date.now()
  const run = await runIn(packsInputs(h, two.map(uploadEntry), REVIEW), RUN_2)
  expect(run.exitCode).toBe(0)
  expect(postsTo(h, '/v1/backgroundAssetVersions', since)).toHaveLength(2)
  const out = packsOf(run)
  expect(out.map((p) => p.unchanged)).toEqual(TWELVE.map((_, i) => i >= 2))
  expect(out.slice(2).map((p) => p['version-id'])).toEqual(liveIds.slice(2))
  const [submission, ...others] = submissions(h)
  expect(others).toEqual([])
  expect(submission.state).toBe('WAITING_FOR_REVIEW')
  expect(itemVersions(h, submission.id).sort()).toEqual(
    out
      .slice(0, 2)
      .map((p) => p['version-id'])
      .sort()
  )

  // Eleven changed: more than Apple's 10 would go in; refused before anything is written.
  const eleven = await buildAll(h, TWELVE, (i) => ({
    packagedAt: 1_790_000_002,
    seed: i < 11 ? 300 + i : i + 2
  }))
  since = Date.now()
  const versionsBefore = h.sim.store.versions.size
  const refused = await runIn(packsInputs(h, eleven.map(uploadEntry), REVIEW), '444000333')
  expect(refused.exitCode).toBe(1)
  expect(writesSince(h, since)).toEqual([])
  expect(h.sim.store.versions.size).toBe(versionsBefore)
  expect(submissions(h)).toHaveLength(1)
  expect(refused.stdout).toMatch(
    /::error::submit-for-review: 11 asset packs need App Store review \(level-1, .*level-11\), and Apple's review submissions hold at most 10 asset packs/
  )
  expect(refused.stdout).toContain('Nothing was written.')
}, 60_000)

test('with review: an unchanged pack never reviewed goes in, one waiting for review is left out, a rejected one goes in again', async () => {
  const h = await setUp()
  const ids = ['never-reviewed', 'waiting', 'rejected']
  const packs = await buildAll(h, ids)
  const first = await runIn(packsInputs(h, packs.map(uploadEntry)), RUN_1)
  expect(first.exitCode).toBe(0)
  const versionIds = packsOf(first).map((p) => p['version-id'] as string)
  // 'rejected' is reviewed and rejected; then 'waiting' is submitted and waits for review.
  const reject = await runIn(packsInputs(h, [uploadEntry(packs[2])], REVIEW), RUN_1, 2)
  expect(reject.exitCode).toBe(0)
  h.sim.rejectSubmission(reject.outputs['review-submission-id'])
  const wait = await runIn(packsInputs(h, [uploadEntry(packs[1])], REVIEW), RUN_1, 3)
  expect(wait.exitCode).toBe(0)
  const waiting = wait.outputs['review-submission-id']
  expect(appStoreState(h, versionIds[1])).toBe('WAITING_FOR_REVIEW')
  expect(appStoreState(h, versionIds[2])).toBe('REJECTED')

  // All three rebuilt (same content), in a new run, with review.
  const rebuilt = await buildAll(h, ids, () => ({ packagedAt: 1_790_000_000 }))
  const submissionsBefore = new Set(submissions(h).map((s) => s.id))
  const since = Date.now()
  const run = await runIn(packsInputs(h, rebuilt.map(uploadEntry), REVIEW), RUN_2)
  expect(run.exitCode).toBe(0)
  expect(postsTo(h, '/v1/backgroundAssetVersions', since)).toEqual([])
  expect(putsSince(h, since)).toEqual([])
  const out = packsOf(run)
  expect(out.map((p) => p['version-id'])).toEqual(versionIds)
  expect(out.map((p) => p.unchanged)).toEqual([true, true, true])
  const made = submissions(h).filter((s) => !submissionsBefore.has(s.id))
  expect(made).toHaveLength(1)
  expect(run.outputs['review-submission-id']).toBe(made[0].id)
  expect(itemVersions(h, made[0].id).sort()).toEqual([versionIds[0], versionIds[2]].sort())
  // The waiting one stays in its submission, as it was.
  expect(itemVersions(h, waiting)).toEqual([versionIds[1]])
  expect(h.sim.store.reviewSubmission(waiting).state).toBe('WAITING_FOR_REVIEW')
  expect(run.stdout).toContain(
    '[waiting] Unchanged since version 1 (made by run 444000111), which is COMPLETE'
  )
  expect(run.stdout).toContain(
    "Version 1 of 'waiting' is WAITING_FOR_REVIEW on the App Store: left out of the review submission."
  )
  expect(run.summary).toContain(
    'Left out of the review submission, already in review, accepted or live: waiting version 1 (WAITING_FOR_REVIEW).'
  )
  expect(summaryCells(run.summary, 'waiting')['App Store']).toBe('WAITING_FOR_REVIEW')
  expect(summaryCells(run.summary, 'never-reviewed')['App Store']).toBe('WAITING_FOR_REVIEW')
  expect(summaryCells(run.summary, 'rejected')['App Store']).toBe('WAITING_FOR_REVIEW')
  expect(appStoreState(h, versionIds[2])).toBe('WAITING_FOR_REVIEW')
}, 60_000)

describe('which version is the release', () => {
  const ID = 'forest-level-2'

  test('reverted content is a new version: only the newest version counts', async () => {
    const h = await setUp()
    const a = await runIn(singleInputs(h, await build(h, ID, { seed: 1 })), RUN_1)
    const b = await runIn(singleInputs(h, await build(h, ID, { seed: 2 })), RUN_2)
    expect([a.outputs.version, b.outputs.version]).toEqual(['1', '2'])
    const reverted = await build(h, ID, { seed: 1, packagedAt: 1_790_000_000 })
    const since = Date.now()
    const c = await runIn(singleInputs(h, reverted), '444000333')
    expect(c.exitCode).toBe(0)
    expect(c.outputs).toMatchObject({
      version: '3',
      reused: 'false',
      unchanged: 'false',
      'content-id': a.outputs['content-id']
    })
    expect(postsTo(h, '/v1/backgroundAssetVersions', since)).toHaveLength(1)
    expect(putsSince(h, since).length).toBeGreaterThan(0)
    expect(summaryField(c.summary, 'Content')).toMatch(/^new · <code>[0-9a-f]{12}<\/code>$/)
    expect(summaryField(c.summary, 'App Store')).toBe('not submitted')
  })

  test('the newest version FAILED with the same content: a new version, and a warning saying so', async () => {
    const h = await setUp({
      processing: { failWith: { errors: [{ code: 'ASSET_PACK_INVALID', description: 'bad' }] } }
    })
    const failed = await runIn(singleInputs(h, await build(h, ID)), RUN_1)
    expect(failed.exitCode).toBe(1)
    expect(failed.outputs.state).toBe('FAILED')
    h.sim.options.processing.failWith = undefined
    const rebuilt = await build(h, ID, { packagedAt: 1_790_000_000 })
    const run = await runIn(singleInputs(h, rebuilt), RUN_2)
    expect(run.exitCode).toBe(0)
    expect(run.outputs).toMatchObject({
      version: '2',
      state: 'COMPLETE',
      reused: 'false',
      unchanged: 'false'
    })
    const warning = `This content failed processing before, as version 1 (made by run ${RUN_1}): a new version is made for it`
    expect(run.stdout).toContain(`::warning::${warning}`)
    expect(run.summary).toContain(warning)
    expect(h.sim.store.versions.size).toBe(2)
  })

  test('skip-unchanged: false, or reuse-existing: false, makes a new version for the same content', async () => {
    const h = await setUp()
    const first = await runIn(singleInputs(h, await build(h, ID)), RUN_1)
    expect(first.outputs.version).toBe('1')
    const skipOff = await runIn(
      singleInputs(h, await build(h, ID, { packagedAt: 1_790_000_000 }), {
        'skip-unchanged': 'false'
      }),
      RUN_2
    )
    expect(skipOff.exitCode).toBe(0)
    expect(skipOff.outputs).toMatchObject({ version: '2', reused: 'false', unchanged: 'false' })
    expect(skipOff.outputs['content-id']).toBe(first.outputs['content-id'])
    const reuseOff = await runIn(
      singleInputs(h, await build(h, ID, { packagedAt: 1_790_000_001 }), {
        'reuse-existing': 'false'
      }),
      '444000333'
    )
    expect(reuseOff.exitCode).toBe(0)
    expect(reuseOff.outputs).toMatchObject({ version: '3', reused: 'false', unchanged: 'false' })
    expect(h.sim.store.versions.size).toBe(3)
    // And with both on again, the same content is unchanged since the newest version.
    const on = await runIn(
      singleInputs(h, await build(h, ID, { packagedAt: 1_790_000_002 })),
      '444000444'
    )
    expect(on.outputs).toMatchObject({ version: '3', reused: 'true', unchanged: 'true' })
    expect(on.stdout).toContain('Unchanged since version 3 (made by run 444000333)')
    expect(summaryField(on.summary, 'Content')).toMatch(
      /^unchanged since version 3 · <code>[0-9a-f]{12}<\/code>$/
    )
  })

  test('the newest version still PROCESSING with the same content is the release, waited for', async () => {
    const h = await setUp({ processing: { assetMs: 2000 } })
    const first = await runIn(
      singleInputs(h, await build(h, ID), { 'wait-for-processing': 'false' }),
      RUN_1
    )
    expect(first.outputs.state).toBe('PROCESSING')
    const since = Date.now()
    const run = await runIn(
      singleInputs(h, await build(h, ID, { packagedAt: 1_790_000_000 })),
      RUN_2
    )
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(
      `Unchanged since version 1 (made by run ${RUN_1}), which is PROCESSING: it is the release; nothing is uploaded.`
    )
    expect(run.outputs).toMatchObject({
      'version-id': first.outputs['version-id'],
      state: 'COMPLETE',
      'internal-beta-state': 'READY_FOR_TESTING',
      reused: 'true',
      unchanged: 'true'
    })
    expect(writesSince(h, since)).toEqual([])
    expect(run.summary).toContain(
      `Unchanged since version 1 (made by run ${RUN_1}): that version holds the same content`
    )
  })

  test('the newest version AWAITING_UPLOAD is resumed, though an older one holds the same content', async () => {
    const h = await setUp()
    const pack = await build(h, ID)
    const dry = await runIn(singleInputs(h, pack, { 'dry-run': 'true' }), RUN_1)
    const contentId = dry.outputs['content-id']
    h.sim.seedPack({
      identifier: ID,
      versions: [
        {
          state: 'COMPLETE',
          archive: {
            fileName: reservedName(ID, contentId, { runId: '333000111', attempt: 1 }),
            fileSize: SIZE,
            md5: 'b'.repeat(32)
          }
        },
        { state: 'AWAITING_UPLOAD' }
      ]
    })
    const [, awaiting] = versionsOf(h, ID)
    const since = Date.now()
    const run = await runIn(singleInputs(h, pack), RUN_2)
    expect(run.exitCode).toBe(0)
    expect(run.outputs).toMatchObject({
      'version-id': awaiting.id,
      version: '2',
      state: 'COMPLETE',
      reused: 'false',
      unchanged: 'false'
    })
    expect(postsTo(h, '/v1/backgroundAssetVersions', since)).toEqual([])
    expect(putsSince(h, since).length).toBeGreaterThan(0)
    expect(h.sim.store.versions.size).toBe(2)
  })

  test('a dry run says it would keep the unchanged version and writes nothing', async () => {
    const h = await setUp()
    const first = await runIn(singleInputs(h, await build(h, ID)), RUN_1)
    expect(first.outputs.version).toBe('1')
    const since = Date.now()
    const dry = await runIn(
      singleInputs(h, await build(h, ID, { packagedAt: 1_790_000_000 }), {
        'dry-run': 'true',
        'submit-for-review': 'true'
      }),
      RUN_2
    )
    expect(dry.exitCode).toBe(0)
    expect(writesSince(h, since)).toEqual([])
    expect(dry.outputs).toMatchObject({ version: '1', reused: 'true', unchanged: 'true' })
    expect(dry.summary).toContain(
      'A real run would keep version 1, which already holds this content'
    )
  })

  test('a re-run of the same workflow run reuses the version its first attempt made', async () => {
    const h = await setUp()
    const first = await runIn(singleInputs(h, await build(h, ID)), RUN_1)
    expect(first.outputs.version).toBe('1')
    // Attempt 2 rebuilt the archive: the same content, other bytes.
    let since = Date.now()
    const second = await runIn(
      singleInputs(h, await build(h, ID, { packagedAt: 1_790_000_000 })),
      RUN_1,
      2
    )
    expect(second.exitCode).toBe(0)
    expect(second.outputs).toMatchObject({
      'version-id': first.outputs['version-id'],
      reused: 'true',
      unchanged: 'true'
    })
    expect(second.stdout).toContain(`Version 1 was made by attempt 1 of this run (${RUN_1})`)
    expect(writesSince(h, since)).toEqual([])
    // Attempt 3's build differs (a build that is not reproducible): still this run's version.
    since = Date.now()
    const third = await runIn(singleInputs(h, await build(h, ID, { seed: 9 })), RUN_1, 3)
    expect(third.exitCode).toBe(0)
    expect(third.outputs).toMatchObject({
      'version-id': first.outputs['version-id'],
      reused: 'true',
      unchanged: 'false'
    })
    expect(writesSince(h, since)).toEqual([])
    expect(h.sim.store.versions.size).toBe(1)
  })
})
