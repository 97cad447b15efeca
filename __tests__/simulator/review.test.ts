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
