// submit-for-review, end to end: dist/index.js against the simulator's review submissions.
import { runAction } from '../../scripts/run-action.js'
import { writeSamplePack } from '../../scripts/sample-pack.js'
import { writes, IDENTIFIER, inputsFor, setUp, type Harness } from '../helpers/simulator.js'

const submissions = (h: Harness) => [...h.sim.store.reviewSubmissions.values()]
const itemsOf = (h: Harness, id: string) =>
  h.sim.store.reviewSubmissions.get(id)!.itemIds.map((i) => h.sim.store.reviewItems.get(i)!)
/** Another asset pack of the app with a processed version, for drafts that hold other items. */
const otherPackVersion = (h: Harness, identifier = 'desert-level') => {
  const pack = h.sim.seedPack({
    identifier,
    versions: [{ state: 'COMPLETE', archive: { fileSize: 10, md5: 'a'.repeat(32) } }]
  })
  return [...h.sim.store.versions.values()].find((v) => v.packId === pack.id)!.id
}

test('a new submission: created, the version added, submitted', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(0)
  const [submission] = submissions(h)
  expect(run.outputs['review-submission-id']).toBe(submission.id)
  expect(run.outputs['review-submission-state']).toBe('WAITING_FOR_REVIEW')
  expect(submission).toMatchObject({ platform: 'IOS', state: 'WAITING_FOR_REVIEW' })
  expect(itemsOf(h, submission.id).map((i) => i.backgroundAssetVersionId)).toEqual([
    run.outputs['version-id']
  ])
  expect(run.summary).toContain(`Submitted ${IDENTIFIER} for App Store review in a new submission`)
})

test("the app's open draft for the platform is reused; other platforms' drafts and submitted ones are untouched", async () => {
  const h = await setUp()
  const other = otherPackVersion(h)
  const draft = h.sim.seedReviewSubmission({ platform: 'IOS', backgroundAssetVersionIds: [other] })
  const tvDraft = h.sim.seedReviewSubmission({ platform: 'TV_OS' })
  const waiting = h.sim.seedReviewSubmission({ platform: 'IOS', state: 'WAITING_FOR_REVIEW' })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(0)
  expect(run.outputs['review-submission-id']).toBe(draft.id)
  expect(draft.state).toBe('WAITING_FOR_REVIEW')
  expect(itemsOf(h, draft.id).map((i) => i.backgroundAssetVersionId)).toEqual([
    other,
    run.outputs['version-id']
  ])
  expect(tvDraft).toMatchObject({ state: 'READY_FOR_REVIEW', itemIds: [] })
  expect(waiting).toMatchObject({ state: 'WAITING_FOR_REVIEW', itemIds: [] })
  expect(submissions(h)).toHaveLength(3)
})

test('before the first approved app version: the item is refused, the submission this run created is canceled, the error says what to do', async () => {
  const h = await setUp({ appApproved: false })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(1)
  const [submission] = submissions(h)
  expect(submission.state).toBe('CANCELING')
  expect(run.stdout).toMatch(
    /409 ENTITY_ERROR\.RELATIONSHIP\.INVALID: Asset packs must be submitted with the first app version/
  )
  expect(run.stdout).toMatch(/only together with the app's first version/)
  expect(run.outputs.state).toBe('COMPLETE')
})

test('when adding the item fails, a reused draft is left alone', async () => {
  const h = await setUp({ appApproved: false })
  const draft = h.sim.seedReviewSubmission({
    platform: 'IOS',
    backgroundAssetVersionIds: [otherPackVersion(h)]
  })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(1)
  expect(draft.state).toBe('READY_FOR_REVIEW')
  expect(itemsOf(h, draft.id)).toHaveLength(1)
  expect(
    h.sim.requests.filter((r) => r.operationId === 'reviewSubmissions_updateInstance')
  ).toEqual([])
})

test("a draft already holding another version of the same pack: fail with Apple's one-version rule, draft untouched", async () => {
  const h = await setUp({
    packs: [
      {
        identifier: IDENTIFIER,
        versions: [{ state: 'COMPLETE', archive: { fileSize: 10, md5: 'b'.repeat(32) } }]
      }
    ]
  })
  const older = [...h.sim.store.versions.values()][0].id
  const draft = h.sim.seedReviewSubmission({ platform: 'IOS', backgroundAssetVersionIds: [older] })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(
    /already holds version 1 of 'forest-level-2', and Apple takes one version per pack/
  )
  expect(draft).toMatchObject({ state: 'READY_FOR_REVIEW' })
  expect(itemsOf(h, draft.id)).toHaveLength(1)
})

test('a FAILED version is never submitted', async () => {
  const h = await setUp({
    processing: { failWith: { errors: [{ code: 'X', description: 'bad' }] } }
  })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(1)
  expect(submissions(h)).toEqual([])
  expect(h.sim.requests.filter((r) => r.path.includes('reviewSubmission'))).toEqual([])
})

test('a re-run finds the version in its open submission and succeeds without changing anything', async () => {
  const h = await setUp()
  const first = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(first.exitCode).toBe(0)
  const writesBefore = writes(h).length
  const second = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(second.exitCode).toBe(0)
  expect(second.outputs.reused).toBe('true')
  expect(second.outputs['review-submission-id']).toBe(first.outputs['review-submission-id'])
  expect(second.outputs['review-submission-state']).toBe('WAITING_FOR_REVIEW')
  expect(writes(h).length).toBe(writesBefore)
  expect(second.summary).toContain('was already in review submission')
})

test('dry-run with submit-for-review writes nothing and says what would happen', async () => {
  const h = await setUp({ packs: [{ identifier: IDENTIFIER }] })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true', 'dry-run': 'true' }))
  expect(run.exitCode).toBe(0)
  expect(writes(h)).toEqual([])
  expect(run.summary).toContain('then submit it for App Store review')
})

test.each([
  [
    { 'review-platform': 'ANDROID' },
    /review-platform: expected one of IOS, MAC_OS, TV_OS, VISION_OS, got 'ANDROID'/
  ],
  [{ 'wait-for-processing': 'false' }, /submit-for-review: needs wait-for-processing: true/],
  [{ 'review-platform': 'TV_OS' }, /review-platform: is TV_OS, but the manifest declares only IOS/]
])('refused before any request: %o', async (extra, message) => {
  const h = await setUp()
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true', ...extra }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(message)
  expect(h.sim.requests).toEqual([])
})

test('a manifest with several platforms needs review-platform, asked before any request', async () => {
  const h = await setUp()
  h.pack = await writeSamplePack(h.dir, {
    identifier: IDENTIFIER,
    size: 300_000,
    manifest: {
      assetPackID: IDENTIFIER,
      downloadPolicy: { onDemand: {} },
      fileSelectors: [{ file: 'a' }],
      platforms: ['iOS', 'visionOS']
    }
  })
  const run = await runAction(inputsFor(h, { 'submit-for-review': 'true' }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(/review-platform: is needed: the manifest declares IOS, VISION_OS/)
  expect(h.sim.requests).toEqual([])
  const chosen = await runAction(
    inputsFor(h, { 'submit-for-review': 'true', 'review-platform': 'VISION_OS' })
  )
  expect(chosen.exitCode).toBe(0)
  expect(submissions(h)[0].platform).toBe('VISION_OS')
})
