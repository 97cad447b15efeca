// Release only what changed, end to end (dist/index.js against the simulator): `version-id:
// latest` to gather what several runs uploaded into one review submission, and localized packs,
// whose versions count per locale (the manifest's `language`).
import {
  build,
  buildAll,
  itemVersions,
  packsInputs,
  packsOf,
  postsTo,
  putsSince,
  reservedName,
  runIn,
  singleInputs,
  SIZE,
  submissions,
  summaryCells,
  summaryField,
  uploadEntry,
  versionsOf,
  writesSince
} from '../helpers/release-packs.js'
import { inputsFor, setUp, writes, type Harness } from '../helpers/simulator.js'

const latest = (identifier: string) => ({
  'asset-pack-identifier': identifier,
  'version-id': 'latest'
})

test('fan-in: two runs upload two packs each without waiting; a third names them latest, waits, and submits the four in one submission', async () => {
  const h = await setUp()
  const ids = ['forest-1', 'forest-2', 'desert-1', 'desert-2']
  const packs = await buildAll(h, ids)
  const noWait = { 'wait-for-processing': 'false' }
  const a = await runIn(packsInputs(h, packs.slice(0, 2).map(uploadEntry), noWait), '444000111')
  // The second run's archives take long to process: still PROCESSING when the third run starts.
  h.sim.options.processing.assetMs = 3000
  const b = await runIn(packsInputs(h, packs.slice(2).map(uploadEntry), noWait), '444000222')
  expect([a.exitCode, b.exitCode]).toEqual([0, 0])
  const uploaded = [...packsOf(a), ...packsOf(b)]
  expect(packsOf(b).map((p) => p.state)).toEqual(['PROCESSING', 'PROCESSING'])
  const versionIds = uploaded.map((p) => p['version-id'] as string)
  const stillProcessing = ids.filter((id) => versionsOf(h, id)[0].state === 'PROCESSING')
  expect(stillProcessing).toEqual(expect.arrayContaining(['desert-1', 'desert-2']))

  const since = Date.now()
  const run = await runIn(
    packsInputs(h, ids.map(latest), { 'submit-for-review': 'true' }),
    '444000333'
  )
  expect(run.exitCode).toBe(0)
  const out = packsOf(run)
  expect(out.map((p) => p['version-id'])).toEqual(versionIds)
  expect(out.map((p) => p.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE'])
  expect(out.every((p) => p.reused === true)).toBe(true)
  for (const id of stillProcessing)
    expect(run.stdout).toContain(
      `[${id}] Version 1 of '${id}' (${versionIds[ids.indexOf(id)]}) is PROCESSING: handing it over; nothing is uploaded.`
    )
  // Nothing uploaded: only the review submission is written.
  expect(postsTo(h, '/v1/backgroundAssetVersions', since)).toEqual([])
  expect(postsTo(h, '/v1/backgroundAssetUploadFiles', since)).toEqual([])
  expect(putsSince(h, since)).toEqual([])
  expect(writesSince(h, since).every((r) => r.path.startsWith('/v1/reviewSubmission'))).toBe(true)
  const [submission, ...others] = submissions(h)
  expect(others).toEqual([])
  expect(submission.state).toBe('WAITING_FOR_REVIEW')
  expect(itemVersions(h, submission.id).sort()).toEqual([...versionIds].sort())
  expect(run.outputs['review-submission-id']).toBe(submission.id)
}, 60_000)

test('version-id: latest of a pack whose newest version is FAILED or AWAITING_UPLOAD is refused before any write, naming the pack', async () => {
  const h = await setUp()
  const archive = { fileSize: SIZE, md5: 'a'.repeat(32) }
  h.sim.seedPack({
    identifier: 'failed-pack',
    versions: [
      { state: 'COMPLETE', archive },
      { state: 'FAILED', archive }
    ]
  })
  h.sim.seedPack({
    identifier: 'awaiting-pack',
    versions: [{ state: 'COMPLETE', archive }, { state: 'AWAITING_UPLOAD' }]
  })
  h.sim.seedPack({ identifier: 'fine-pack', versions: [{ state: 'COMPLETE', archive }] })
  const failedMessage =
    "version-id: latest: the newest version of 'failed-pack', version 2, is FAILED"
  const awaitingMessage =
    "version-id: latest: the newest version of 'awaiting-pack', version 2, is AWAITING_UPLOAD"

  const many = await runIn(
    packsInputs(h, ['fine-pack', 'failed-pack', 'awaiting-pack'].map(latest), {
      'submit-for-review': 'true'
    }),
    '444000111'
  )
  expect(many.exitCode).toBe(1)
  expect(many.stdout).toContain(failedMessage)
  expect(many.stdout).toContain(awaitingMessage)
  expect(many.summary).toContain('❌ 2 of 3 asset packs failed: failed-pack, awaiting-pack')
  expect(writes(h)).toEqual([])

  // The single-pack inputs the same way.
  for (const [identifier, message] of [
    ['failed-pack', failedMessage],
    ['awaiting-pack', awaitingMessage]
  ]) {
    const one = await runIn(
      inputsFor(h, {
        'asset-pack-identifier': identifier,
        'archive-path': '',
        'manifest-path': '',
        'version-id': 'latest'
      }),
      '444000222'
    )
    expect(one.exitCode).toBe(1)
    expect(one.stdout).toContain(`::error::${message}`)
  }
  expect(writes(h)).toEqual([])
  expect(submissions(h)).toEqual([])
}, 60_000)

describe('localized packs: the manifest’s language is the version’s locale', () => {
  const ID = 'voices'
  const fr = (h: Harness, packagedAt?: number) =>
    build(h, ID, { language: 'fr', folder: 'fr', seed: 1, packagedAt })
  const de = (h: Harness, packagedAt?: number) =>
    build(h, ID, { language: 'de', folder: 'de', seed: 1, packagedAt })

  test('a rebuilt fr content is unchanged since the fr version, though a de version is newer', async () => {
    const h = await setUp()
    const frRun = await runIn(singleInputs(h, await fr(h)), '444000111')
    expect(frRun.exitCode).toBe(0)
    expect(frRun.outputs).toMatchObject({ version: '1', locale: 'fr', unchanged: 'false' })
    const deRun = await runIn(singleInputs(h, await de(h)), '444000222')
    expect(deRun.exitCode).toBe(0)
    expect(deRun.outputs).toMatchObject({ version: '2', locale: 'de', unchanged: 'false' })
    expect(versionsOf(h, ID).map((v) => v.locale)).toEqual(['fr', 'de'])

    const since = Date.now()
    const again = await runIn(singleInputs(h, await fr(h, 1_790_000_000)), '444000333')
    expect(again.exitCode).toBe(0)
    expect(again.outputs).toMatchObject({
      'version-id': frRun.outputs['version-id'],
      version: '1',
      locale: 'fr',
      reused: 'true',
      unchanged: 'true',
      'content-id': frRun.outputs['content-id']
    })
    expect(again.stdout).toContain(
      'Unchanged since version 1 (made by run 444000111), which is COMPLETE: it is the release'
    )
    expect(writesSince(h, since)).toEqual([])
    // The summary: content, locale and App Store state.
    expect(summaryField(again.summary, 'Locale')).toBe('fr')
    expect(summaryField(again.summary, 'Content')).toMatch(
      /^unchanged since version 1 · <code>[0-9a-f]{12}<\/code>$/
    )
    expect(summaryField(again.summary, 'App Store')).toBe('not submitted')

    // The de content rebuilt, in packs: unchanged since the de version; the locale in packs and the row.
    const many = await runIn(
      packsInputs(h, [
        uploadEntry(await de(h, 1_790_000_001)),
        uploadEntry(await build(h, 'music'))
      ]),
      '444000444'
    )
    expect(many.exitCode).toBe(0)
    expect(packsOf(many)[0]).toMatchObject({
      'version-id': deRun.outputs['version-id'],
      locale: 'de',
      unchanged: true
    })
    expect(packsOf(many)[1]).toMatchObject({ locale: null, unchanged: false })
    expect(summaryCells(many.summary, ID)).toMatchObject({
      Locale: 'de',
      Version: `2 (<code>${deRun.outputs['version-id']}</code>)`,
      'App Store': 'not submitted',
      Content: expect.stringMatching(/^unchanged since version 2 · /)
    })
    expect(summaryCells(many.summary, 'music')).toMatchObject({
      Locale: '—',
      Content: expect.stringMatching(/^new · /)
    })
  }, 60_000)

  test('the locale is compared without case: a version seeded as FR holds the fr content', async () => {
    const h = await setUp()
    const pack = await fr(h)
    const dry = await runIn(inputsFor(h, { ...uploadEntry(pack), 'dry-run': 'true' }), '444000111')
    const contentId = dry.outputs['content-id']
    expect(contentId).toMatch(/^[0-9a-f]{64}$/)
    h.sim.seedPack({
      identifier: ID,
      versions: [
        {
          state: 'COMPLETE',
          locale: 'FR',
          archive: {
            fileName: reservedName(ID, contentId, { runId: '333000111', attempt: 1 }),
            fileSize: SIZE,
            md5: 'b'.repeat(32)
          }
        },
        // A newer version of another locale does not hide it.
        { state: 'COMPLETE', locale: 'de', archive: { fileSize: SIZE, md5: 'd'.repeat(32) } }
      ]
    })
    const run = await runIn(singleInputs(h, pack), '444000222')
    expect(run.exitCode).toBe(0)
    expect(run.outputs).toMatchObject({ version: '1', unchanged: 'true', reused: 'true' })
    expect(run.outputs.locale.toLowerCase()).toBe('fr')
    expect(writes(h)).toEqual([])
  })
})
