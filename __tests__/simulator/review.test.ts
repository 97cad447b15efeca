// The simulator's review submissions: Apple's rules for asset pack items, errors as 409s with a detail.
import type { Simulator } from '../../simulator/index.js'
import { call, testSimulator } from '../helpers/simulator.js'

let sim: Simulator
afterEach(() => expect(sim.contractViolations).toEqual([]))

const submissionBody = (appId: string, platform = 'IOS') => ({
  data: {
    type: 'reviewSubmissions',
    attributes: { platform },
    relationships: { app: { data: { type: 'apps', id: appId } } }
  }
})
const itemBody = (submissionId: string, versionId: string) => ({
  data: {
    type: 'reviewSubmissionItems',
    relationships: {
      reviewSubmission: { data: { type: 'reviewSubmissions', id: submissionId } },
      backgroundAssetVersion: { data: { type: 'backgroundAssetVersions', id: versionId } }
    }
  }
})
const addItem = (submissionId: string, versionId: string) =>
  call(sim, 'POST', '/v1/reviewSubmissionItems', itemBody(submissionId, versionId))
const update = (id: string, attributes: { submitted?: boolean; canceled?: boolean }) =>
  call(sim, 'PATCH', `/v1/reviewSubmissions/${id}`, {
    data: { type: 'reviewSubmissions', id, attributes }
  })
/** The control route for a verdict: no token, as a person's curl sends it. */
const verdict = (id: string, action: string, method = 'POST') =>
  call(sim, method, `/simulator/review-submissions/${id}/${action}`, undefined, null)
/** A version's App Store release, read as a client would: the version with include=appStoreRelease. */
async function releaseOf(versionId: string) {
  const answer = await call(
    sim,
    'GET',
    `/v1/backgroundAssetVersions/${versionId}?include=appStoreRelease`
  )
  const linkage = answer.body.data.relationships.appStoreRelease.data
  expect(answer.body.included?.[0]?.id).toBe(linkage?.id)
  return answer.body.included?.[0]
}
/** `count` packs with one COMPLETE version each (and, for the first, a second one). */
function packsWithVersions(count: number): string[][] {
  return Array.from({ length: count }, (_, i) => {
    const pack = sim.seedPack({
      identifier: `pack-${i}`,
      versions: [
        { state: 'COMPLETE' },
        ...(i === 0 ? [{ state: 'COMPLETE' as const }, { state: 'PROCESSING' as const }] : [])
      ]
    })
    return [...sim.store.versions.values()].filter((v) => v.packId === pack.id).map((v) => v.id)
  })
}

test('one draft per platform; only COMPLETE versions; one version per pack; at most 10 packs; submit and cancel', async () => {
  sim = await testSimulator()
  const versions = packsWithVersions(11)
  const draft = (await call(sim, 'POST', '/v1/reviewSubmissions', submissionBody(sim.appId))).body
    .data
  expect(draft.attributes).toEqual({ platform: 'IOS', state: 'READY_FOR_REVIEW' })
  expect((await call(sim, 'POST', '/v1/reviewSubmissions', submissionBody(sim.appId))).status).toBe(
    409
  )
  expect(
    (await call(sim, 'POST', '/v1/reviewSubmissions', submissionBody(sim.appId, 'TV_OS'))).status
  ).toBe(201)

  const processing = await call(
    sim,
    'POST',
    '/v1/reviewSubmissionItems',
    itemBody(draft.id, versions[0][2])
  )
  expect(processing.body.errors[0]).toMatchObject({
    status: '409',
    detail: expect.stringContaining('only a processed (COMPLETE) version')
  })
  for (let i = 0; i < 10; i++)
    expect(
      (await call(sim, 'POST', '/v1/reviewSubmissionItems', itemBody(draft.id, versions[i][0])))
        .status
    ).toBe(201)
  const samePack = await call(
    sim,
    'POST',
    '/v1/reviewSubmissionItems',
    itemBody(draft.id, versions[0][1])
  )
  expect(samePack.body.errors[0].detail).toMatch(/only one version of each asset pack/)
  const eleventh = await call(
    sim,
    'POST',
    '/v1/reviewSubmissionItems',
    itemBody(draft.id, versions[10][0])
  )
  expect(eleventh.body.errors[0].detail).toMatch(/up to 10 asset packs/)

  const listed = await call(
    sim,
    'GET',
    `/v1/reviewSubmissions?filter[app]=${sim.appId}&filter[platform]=IOS&filter[state]=READY_FOR_REVIEW&include=items`
  )
  expect(listed.body.data.map((s: { id: string }) => s.id)).toEqual([draft.id])
  expect(listed.body.included).toHaveLength(10)
  const items = await call(
    sim,
    'GET',
    `/v1/reviewSubmissions/${draft.id}/items?include=backgroundAssetVersion`
  )
  expect(items.body.included.map((v: { type: string }) => v.type)).toEqual(
    Array(10).fill('backgroundAssetVersions')
  )

  const submitted = await call(sim, 'PATCH', `/v1/reviewSubmissions/${draft.id}`, {
    data: { type: 'reviewSubmissions', id: draft.id, attributes: { submitted: true } }
  })
  expect(submitted.body.data.attributes).toMatchObject({
    state: 'WAITING_FOR_REVIEW',
    submittedDate: expect.any(String)
  })
  const again = await call(
    sim,
    'POST',
    '/v1/reviewSubmissionItems',
    itemBody(draft.id, versions[10][0])
  )
  expect(again.status).toBe(409)
  const canceled = await call(sim, 'PATCH', `/v1/reviewSubmissions/${draft.id}`, {
    data: { type: 'reviewSubmissions', id: draft.id, attributes: { canceled: true } }
  })
  expect(canceled.body.data.attributes.state).toBe('CANCELING')
  expect((await call(sim, 'GET', '/v1/reviewSubmissions')).status).toBe(400) // filter[app] is required
  sim.contractViolations.splice(0) // that last request was the deliberately invalid one
})

test('a version already in an open submission cannot join another; before the first approved app version, packs are refused', async () => {
  sim = await testSimulator({ appApproved: false })
  const [[version]] = packsWithVersions(1)
  const ios = sim.seedReviewSubmission({ platform: 'IOS', appStoreVersionId: 'app-version-1' })
  const tv = sim.seedReviewSubmission({ platform: 'TV_OS' })
  expect(
    (await call(sim, 'POST', '/v1/reviewSubmissionItems', itemBody(ios.id, version))).status
  ).toBe(201)
  const twice = await call(sim, 'POST', '/v1/reviewSubmissionItems', itemBody(tv.id, version))
  expect(twice.body.errors[0].detail).toMatch(/already in review submission/)
  const [[other]] = [[packsWithVersions(2)[1][0]]]
  const firstVersionRule = await call(
    sim,
    'POST',
    '/v1/reviewSubmissionItems',
    itemBody(tv.id, other)
  )
  expect(firstVersionRule.body.errors[0]).toMatchObject({
    status: '409',
    title: 'Asset packs must be submitted with the first app version'
  })
})

test('GET /v1/reviewSubmissions pages with links.next like every other list', async () => {
  sim = await testSimulator()
  for (const platform of ['IOS', 'MAC_OS', 'TV_OS'] as const) sim.seedReviewSubmission({ platform })
  const first = await call(sim, 'GET', `/v1/reviewSubmissions?filter[app]=${sim.appId}&limit=2`)
  expect(first.body.data).toHaveLength(2)
  expect(first.body.meta.paging).toMatchObject({ total: 3, limit: 2 })
  const next = new URL(first.body.links.next)
  const second = await call(sim, 'GET', `${next.pathname}${next.search}`)
  expect(second.body.data).toHaveLength(1)
  expect(second.body.links.next).toBeUndefined()
  const ids = [...first.body.data, ...second.body.data].map((s: any) => s.id)
  expect(new Set(ids)).toEqual(new Set(sim.store.reviewSubmissions.keys()))
  expect(sim.contractViolations).toEqual([])
})

describe('App Store releases', () => {
  test('READY_FOR_REVIEW when added, WAITING_FOR_REVIEW when submitted, PREPARE_FOR_SUBMISSION when canceled; a re-add moves the same release back', async () => {
    sim = await testSimulator()
    const [[version]] = packsWithVersions(1)
    expect(await releaseOf(version)).toBeUndefined()
    const draft = sim.seedReviewSubmission({ platform: 'IOS' })
    expect((await addItem(draft.id, version)).status).toBe(201)
    const release = await releaseOf(version)
    expect(release).toMatchObject({
      type: 'backgroundAssetVersionAppStoreReleases',
      attributes: { state: 'READY_FOR_REVIEW' },
      relationships: { backgroundAssetVersion: { data: { id: version } } }
    })
    await update(draft.id, { submitted: true })
    expect((await releaseOf(version)).attributes.state).toBe('WAITING_FOR_REVIEW')
    await update(draft.id, { canceled: true })
    expect((await releaseOf(version)).attributes.state).toBe('PREPARE_FOR_SUBMISSION')
    const next = sim.seedReviewSubmission({ platform: 'IOS' })
    expect((await addItem(next.id, version)).status).toBe(201)
    expect(await releaseOf(version)).toMatchObject({
      id: release.id,
      attributes: { state: 'READY_FOR_REVIEW' }
    })
    expect(sim.store.appStoreReleases.size).toBe(1)
  })

  test("approve over the control route: READY_FOR_DISTRIBUTION, the packs' appStoreVersion, the previous one SUPERSEDED, items APPROVED, the submission COMPLETE", async () => {
    sim = await testSimulator()
    const forest = sim.seedPack({
      identifier: 'forest',
      versions: [
        { state: 'COMPLETE', appStoreState: 'READY_FOR_DISTRIBUTION' },
        { state: 'COMPLETE' }
      ]
    })
    const [v1, v2] = sim.store.versionsOf(forest.id).map((v) => v.id)
    const [[desert]] = packsWithVersions(1)
    const draft = sim.seedReviewSubmission({ platform: 'IOS' })
    for (const v of [v2, desert]) await addItem(draft.id, v)
    const early = await verdict(draft.id, 'approve')
    expect(early.status).toBe(409)
    expect(early.body.errors[0].detail).toMatch(
      /READY_FOR_REVIEW; only one that is WAITING_FOR_REVIEW or IN_REVIEW/
    )
    await update(draft.id, { submitted: true })
    const started = await verdict(draft.id, 'start-review')
    expect(started.body).toMatchObject({ id: draft.id, state: 'IN_REVIEW' })
    expect((await releaseOf(desert)).attributes.state).toBe('IN_REVIEW')

    const approved = await verdict(draft.id, 'approve')
    expect(approved.status).toBe(200)
    expect(approved.body).toEqual({
      id: draft.id,
      state: 'COMPLETE',
      appStoreReleases: [v2, desert].map((v) => ({
        id: expect.any(String),
        backgroundAssetVersion: v,
        state: 'READY_FOR_DISTRIBUTION'
      }))
    })
    const submission = await call(sim, 'GET', `/v1/reviewSubmissions/${draft.id}?include=items`)
    expect(submission.body.data.attributes.state).toBe('COMPLETE')
    expect(submission.body.included.map((i: any) => i.attributes.state)).toEqual([
      'APPROVED',
      'APPROVED'
    ])
    const packs = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets?include=appStoreVersion`
    )
    expect(
      Object.fromEntries(
        packs.body.data.map((p: any) => [
          p.attributes.assetPackIdentifier,
          p.relationships.appStoreVersion.data.id
        ])
      )
    ).toEqual({ forest: v2, 'pack-0': desert })
    expect(packs.body.included.map((v: any) => v.id).sort()).toEqual([v2, desert].sort())
    const one = await call(
      sim,
      'GET',
      `/v1/backgroundAssets/${forest.id}?include=appStoreVersion&fields[backgroundAssets]=appStoreVersion`
    )
    expect(one.body.data.relationships).toEqual({
      appStoreVersion: { data: { type: 'backgroundAssetVersions', id: v2 } }
    })
    expect(one.body.included.map((v: any) => v.id)).toEqual([v2])
    const superseded = await call(
      sim,
      'GET',
      `/v1/backgroundAssets/${forest.id}/versions?filter[appStoreRelease.state]=SUPERSEDED,REJECTED&include=appStoreRelease&fields[backgroundAssetVersionAppStoreReleases]=state`
    )
    expect(superseded.body.data.map((v: any) => v.id)).toEqual([v1])
    expect(superseded.body.included).toEqual([
      expect.objectContaining({ attributes: { state: 'SUPERSEDED' } })
    ])
    expect(superseded.body.included[0].relationships).toBeUndefined()

    const again = await addItem(sim.seedReviewSubmission({ platform: 'IOS' }).id, v2)
    expect(again.body.errors[0].detail).toMatch(/App Store release is READY_FOR_DISTRIBUTION/)
    expect((await verdict('none', 'approve')).status).toBe(404)
    expect((await verdict(draft.id, 'approve', 'GET')).status).toBe(404)
    expect((await verdict(draft.id, 'publish')).status).toBe(404)
  })

  test('reject: releases and items REJECTED, the submission UNRESOLVED_ISSUES; the version can be submitted again', async () => {
    sim = await testSimulator()
    const [[version]] = packsWithVersions(1)
    const waiting = sim.seedReviewSubmission({
      platform: 'IOS',
      state: 'WAITING_FOR_REVIEW',
      backgroundAssetVersionIds: [version]
    })
    const release = await releaseOf(version)
    expect(release.attributes.state).toBe('WAITING_FOR_REVIEW')
    expect(sim.rejectSubmission(waiting.id).state).toBe('UNRESOLVED_ISSUES')
    expect(sim.store.itemsOf(waiting).map((i) => i.state)).toEqual(['REJECTED'])
    expect((await releaseOf(version)).attributes.state).toBe('REJECTED')
    expect(() => sim.startReview(waiting.id)).toThrow(/UNRESOLVED_ISSUES/)
    const draft = sim.seedReviewSubmission({ platform: 'IOS' })
    expect((await addItem(draft.id, version)).status).toBe(201)
    expect(await releaseOf(version)).toMatchObject({
      id: release.id,
      attributes: { state: 'READY_FOR_REVIEW' }
    })
  })

  test("GET /v1/backgroundAssetVersionAppStoreReleases/{id}: fields, include=backgroundAssetVersion, Apple's 404", async () => {
    sim = await testSimulator({
      packs: [
        { identifier: 'forest', versions: [{ state: 'COMPLETE', appStoreState: 'ACCEPTED' }] }
      ]
    })
    const [release] = sim.store.appStoreReleases.values()
    const read = await call(
      sim,
      'GET',
      `/v1/backgroundAssetVersionAppStoreReleases/${release.id}?include=backgroundAssetVersion&fields[backgroundAssetVersions]=version&fields[backgroundAssetVersionAppStoreReleases]=state,backgroundAssetVersion`
    )
    expect(read.body.data).toMatchObject({ id: release.id, attributes: { state: 'ACCEPTED' } })
    expect(read.body.included).toEqual([
      expect.objectContaining({ id: release.versionId, attributes: { version: '1' } })
    ])
    const missing = await call(sim, 'GET', '/v1/backgroundAssetVersionAppStoreReleases/none')
    expect(missing.status).toBe(404)
    expect(missing.body.errors[0].code).toBe('NOT_FOUND')
  })

  test("approving the app's first version lets its packs go to review on their own", async () => {
    sim = await testSimulator({ appApproved: false })
    const [[version]] = packsWithVersions(1)
    const first = sim.seedReviewSubmission({
      platform: 'IOS',
      state: 'IN_REVIEW',
      backgroundAssetVersionIds: [version],
      appStoreVersionId: 'app-version-1'
    })
    sim.approveSubmission(first.id)
    expect(sim.options.appApproved).toBe(true)
    const [, [other]] = packsWithVersions(2)
    const draft = sim.seedReviewSubmission({ platform: 'IOS' })
    expect((await addItem(draft.id, other)).status).toBe(201)
  })
})
