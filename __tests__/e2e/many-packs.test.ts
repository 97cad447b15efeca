// Several asset packs in one step (the `packs` input), end to end: dist/index.js against the
// simulator. The packs share one pool of part uploads, one review submission and one dispatch.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { runAction, withPacks } from '../../scripts/run-action.js'
import { writeSamplePack, type SamplePack } from '../../scripts/sample-pack.js'
import { cacheEnv, startCacheService, type CacheService } from '../helpers/cache-service.js'
import { assetFiles, inputsFor, setUp, writes, type Harness } from '../helpers/simulator.js'

const IDS = ['forest-level-1', 'desert-level-1', 'voices-en']

/** One sample pack per identifier, each in its own folder (each has its Manifest.json). */
async function writePacks(
  h: Harness,
  ids = IDS,
  options: { size?: number; platforms?: Record<string, string[]> } = {}
): Promise<SamplePack[]> {
  return Promise.all(
    ids.map(async (identifier, i) => {
      const dir = join(h.dir, identifier)
      await mkdir(dir, { recursive: true })
      return writeSamplePack(dir, {
        identifier,
        size: (options.size ?? 200_000) + i * 1000,
        seed: i + 2,
        platforms: options.platforms?.[identifier]
      })
    })
  )
}

const uploadEntry = (p: SamplePack) => ({
  'asset-pack-identifier': p.identifier,
  'archive-path': p.archivePath,
  'manifest-path': p.manifestPath
})

/** The run's inputs with `packs` instead of the single-pack inputs. */
const packsInputs = (
  h: Harness,
  entries: Record<string, string>[] | string,
  extra: Record<string, string> = {}
) => withPacks(inputsFor(h, extra), entries)

const submissions = (h: Harness) => [...h.sim.store.reviewSubmissions.values()]
const itemVersions = (h: Harness, id: string) =>
  h.sim.store.reviewSubmissions
    .get(id)!
    .itemIds.map((i) => h.sim.store.reviewItems.get(i)!.backgroundAssetVersionId)
const puts = (h: Harness, since = 0) =>
  h.sim.requests.filter((r) => r.method === 'PUT' && r.at >= since)
const versionOf = (h: Harness, identifier: string) => {
  const pack = [...h.sim.store.packs.values()].find((p) => p.identifier === identifier)!
  return [...h.sim.store.versions.values()].filter((v) => v.packId === pack.id)
}

test('three packs in one step, a manifest each: uploaded together, one review submission holds all three', async () => {
  // Slow connections, so that parts of several packs are in flight at once.
  const h = await setUp({ faults: { bandwidthPerConnection: 1024 * 1024 } })
  const packs = await writePacks(h)
  const run = await runAction(
    packsInputs(h, packs.map(uploadEntry), {
      'submit-for-review': 'true',
      'upload-concurrency': '3'
    })
  )
  expect(run.exitCode).toBe(0)
  const out = JSON.parse(run.outputs.packs) as Record<string, unknown>[]
  expect(out.map((p) => p['asset-pack-identifier'])).toEqual(IDS)
  for (const [i, p] of out.entries()) {
    const [version] = versionOf(h, IDS[i])
    expect(Object.keys(p)).toEqual([
      'asset-pack-identifier',
      'asset-pack-id',
      'version-id',
      'version',
      'state',
      'internal-beta-state',
      'upload-file-id',
      'manifest-upload-file-id',
      'archive-md5',
      'content-id',
      'locale',
      'reused',
      'unchanged'
    ])
    expect(p).toMatchObject({
      'version-id': version.id,
      version: '1',
      state: 'COMPLETE',
      'internal-beta-state': 'READY_FOR_TESTING',
      'manifest-upload-file-id': version.manifestFileId,
      'archive-md5': packs[i].md5,
      reused: false
    })
  }
  // One submission, submitted once, with the three versions; the single-value outputs are unset.
  const [submission, ...others] = submissions(h)
  expect(others).toEqual([])
  expect(submission.state).toBe('WAITING_FOR_REVIEW')
  expect(itemVersions(h, submission.id).sort()).toEqual(out.map((p) => p['version-id']).sort())
  expect(run.outputs['review-submission-id']).toBe(submission.id)
  expect(run.outputs['review-submission-state']).toBe('WAITING_FOR_REVIEW')
  expect(run.outputs['version-id']).toBeUndefined()
  expect(
    h.sim.requests.filter((r) => r.method === 'PATCH' && r.path.includes('reviewSubmissions'))
  ).toHaveLength(1)
  // One pool of part slots for the run: never more than upload-concurrency PUTs at once.
  expect(h.sim.maxPutsInFlight).toBeLessThanOrEqual(3)
  expect(h.sim.maxPutsInFlight).toBeGreaterThan(1)
  // One token for the run, and the log tells the packs apart.
  expect(run.stdout.match(/^::add-mask::eyJ/gm)).toHaveLength(1)
  for (const id of IDS) expect(run.stdout).toContain(`[${id}] Uploading the archive`)
  expect(run.summary).toContain('✅ 3 asset packs released')
  expect(run.summary).toContain(
    '<th>Asset pack</th><th>Version</th><th>State</th><th>Internal beta</th><th>App Store</th><th>Size</th><th>Content</th><th>Reused</th><th>Time</th>'
  )
  expect(run.summary).toContain(
    `<strong>Review submission</strong> · <code>${submission.id}</code>`
  )

  // The same step again: all three reused, nothing uploaded, the submission left as it is.
  const writesBefore = writes(h).length
  const again = await runAction(
    packsInputs(h, packs.map(uploadEntry), { 'submit-for-review': 'true' })
  )
  expect(again.exitCode).toBe(0)
  const reused = JSON.parse(again.outputs.packs) as Record<string, unknown>[]
  expect(reused.map((p) => p.reused)).toEqual([true, true, true])
  expect(reused.map((p) => p['version-id'])).toEqual(out.map((p) => p['version-id']))
  expect(writes(h).length).toBe(writesBefore)
  expect(again.outputs['review-submission-id']).toBe(submission.id)
  expect(again.summary).toContain('The 3 versions were already in review submission')
}, 60_000)

test('one pack FAILED: the other two COMPLETE and reported, the step fails, nothing is submitted', async () => {
  const h = await setUp({
    processing: {
      failWith: {
        identifier: 'desert-level-1',
        errors: [{ code: 'ASSET_PACK_INVALID', description: 'Levels/Desert/tiles.bin is damaged' }]
      }
    }
  })
  const packs = await writePacks(h)
  const run = await runAction(
    packsInputs(h, packs.map(uploadEntry), { 'submit-for-review': 'true' })
  )
  expect(run.exitCode).toBe(1)
  const out = JSON.parse(run.outputs.packs) as Record<string, unknown>[]
  expect(out.map((p) => p.state)).toEqual(['COMPLETE', 'FAILED', 'COMPLETE'])
  expect(out[0]['version-id']).toBe(versionOf(h, IDS[0])[0].id)
  expect(submissions(h)).toEqual([])
  expect(h.sim.requests.filter((r) => r.path.includes('reviewSubmission'))).toEqual([])
  expect(run.stdout).toMatch(/::error title=Asset pack desert-level-1 failed::desert-level-1: /)
  expect(run.stdout).toMatch(/::error::1 asset pack\(s\) failed: desert-level-1 \(/)
  expect(run.summary).toContain('❌ 1 of 3 asset packs failed: desert-level-1')
  expect(run.summary).toContain('desert-level-1: messages from App Store Connect')
  expect(run.summary).toContain('Levels/Desert/tiles.bin is damaged')
  expect(run.summary).toContain(
    'Nothing was submitted for App Store review: 1 of 3 asset pack(s) did not reach COMPLETE.'
  )
}, 60_000)

test('a version-id entry uploads nothing and goes into the submission with the uploaded pack', async () => {
  const h = await setUp()
  const [forest, desert] = await writePacks(h, IDS.slice(0, 2))
  const first = await runAction(packsInputs(h, [uploadEntry(forest)]))
  expect(first.exitCode).toBe(0)
  const forestVersion = JSON.parse(first.outputs.packs)[0]['version-id'] as string
  const since = Date.now()
  const run = await runAction(
    packsInputs(
      h,
      [
        { 'asset-pack-identifier': forest.identifier, 'version-id': forestVersion },
        uploadEntry(desert)
      ],
      { 'submit-for-review': 'true' }
    )
  )
  expect(run.exitCode).toBe(0)
  const out = JSON.parse(run.outputs.packs) as Record<string, unknown>[]
  expect(out[0]).toMatchObject({ 'version-id': forestVersion, reused: true, state: 'COMPLETE' })
  expect(out[1]).toMatchObject({ reused: false, state: 'COMPLETE' })
  // Only the desert pack's files (manifest and archive) were uploaded.
  const desertFiles = [...h.sim.store.uploadFiles.values()]
    .filter((f) => f.versionId === out[1]['version-id'])
    .map((f) => f.id)
  expect(desertFiles).toHaveLength(2)
  expect(puts(h, since).every((r) => desertFiles.some((id) => r.path.includes(id)))).toBe(true)
  expect(puts(h, since).length).toBeGreaterThan(0)
  const [submission] = submissions(h)
  expect(itemVersions(h, submission.id).sort()).toEqual(
    [forestVersion, out[1]['version-id']].sort()
  )
}, 60_000)

test('the gated-review pattern: the first job’s packs output, given as it is, promotes every version', async () => {
  const h = await setUp()
  const packs = await writePacks(h, IDS.slice(0, 2))
  const upload = await runAction(packsInputs(h, packs.map(uploadEntry)))
  expect(upload.exitCode).toBe(0)
  const writesBefore = writes(h).length
  // As `packs: ${{ needs.upload.outputs.packs }}` passes it: JSON, with the output's other keys.
  const promote = await runAction(
    packsInputs(h, upload.outputs.packs, { 'submit-for-review': 'true' })
  )
  expect(promote.exitCode).toBe(0)
  const reviewWrites = writes(h).slice(writesBefore)
  expect(reviewWrites.every((r) => r.path.startsWith('/v1/reviewSubmission'))).toBe(true)
  const [submission] = submissions(h)
  expect(itemVersions(h, submission.id)).toHaveLength(2)
}, 60_000)

test('a draft that cannot take every version is left as it is: Apple’s 10 packs per submission', async () => {
  const h = await setUp()
  const held = Array.from({ length: 8 }, (_, i) => {
    const pack = h.sim.seedPack({
      identifier: `older-${i + 1}`,
      versions: [{ state: 'COMPLETE', archive: { fileSize: 10, md5: 'a'.repeat(32) } }]
    })
    return [...h.sim.store.versions.values()].find((v) => v.packId === pack.id)!.id
  })
  const draft = h.sim.seedReviewSubmission({ platform: 'IOS', backgroundAssetVersionIds: held })
  const packs = await writePacks(h)
  const run = await runAction(
    packsInputs(h, packs.map(uploadEntry), { 'submit-for-review': 'true' })
  )
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(
    /review draft .* holds 8 asset pack version\(s\); with these 3 it would hold 11, and Apple's review submissions hold at most 10 asset packs/
  )
  expect(draft.itemIds).toHaveLength(8)
  expect(draft.state).toBe('READY_FOR_REVIEW')
  // The versions themselves were released and are reported.
  const out = JSON.parse(run.outputs.packs) as Record<string, unknown>[]
  expect(out.map((p) => p.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE'])
}, 60_000)

test('a dry run of several packs writes nothing and says what each would do', async () => {
  const h = await setUp()
  const packs = await writePacks(h)
  const run = await runAction(
    packsInputs(h, packs.map(uploadEntry), { 'dry-run': 'true', 'submit-for-review': 'true' })
  )
  expect(run.exitCode).toBe(0)
  expect(writes(h)).toEqual([])
  expect(run.summary).toContain('🧪 3 asset packs: dry run passed')
  for (const id of IDS)
    expect(run.summary).toContain(`${id}: Dry run: inputs, key, app and asset pack are fine.`)
}, 60_000)

test('a version-id of another pack is refused before any write, naming the entry', async () => {
  const h = await setUp()
  const [forest, desert] = await writePacks(h, IDS.slice(0, 2))
  const first = await runAction(packsInputs(h, [uploadEntry(forest)]))
  const forestVersion = JSON.parse(first.outputs.packs)[0]['version-id'] as string
  const writesBefore = writes(h).length
  const run = await runAction(
    packsInputs(h, [
      uploadEntry(desert),
      { 'asset-pack-identifier': desert.identifier.replace('1', '2'), 'version-id': forestVersion }
    ])
  )
  expect(run.exitCode).toBe(1)
  expect(writes(h).length).toBe(writesBefore)
  expect(run.stdout).toMatch(/packs\[2\]\.version-id: app \d+ has no asset pack 'desert-level-2'/)

  // The pack exists but the version is another pack's.
  h.sim.seedPack({ identifier: 'desert-level-2' })
  const other = await runAction(
    packsInputs(h, [
      uploadEntry(desert),
      { 'asset-pack-identifier': 'desert-level-2', 'version-id': forestVersion }
    ])
  )
  expect(other.exitCode).toBe(1)
  expect(writes(h).length).toBe(writesBefore)
  expect(other.stdout).toContain(
    `version-id: ${forestVersion} is a version of the asset pack 'forest-level-1', not of 'desert-level-2'`
  )
  expect(other.summary).toContain('❌ 1 of 2 asset packs failed: desert-level-2')
}, 60_000)

test('refused before any request: duplicates, single-pack inputs with packs, bad YAML and entries', async () => {
  const h = await setUp()
  const packs = await writePacks(h)
  const entries = packs.map(uploadEntry)
  const cases: [Record<string, string>, RegExp[]][] = [
    [
      packsInputs(h, [...entries, entries[0]]),
      [
        /::error title=Invalid input::packs\[4\]\.asset-pack-identifier: 'forest-level-1' is also packs\[1\]/
      ]
    ],
    [
      { ...packsInputs(h, entries), 'asset-pack-identifier': 'forest-level-1', 'version-id': 'x' },
      [
        /asset-pack-identifier: must be empty when packs is set/,
        /version-id: must be empty when packs is set/
      ]
    ],
    [
      packsInputs(h, '- asset-pack-identifier: a\n  archive-path: [x'),
      [/packs: is not valid YAML: .* at line 2, column \d+\./]
    ],
    [packsInputs(h, 'asset-pack-identifier: a'), [/packs: expected a YAML list of asset packs/]],
    [
      packsInputs(h, [
        { ...entries[0], archive: 'x.aar' },
        { 'asset-pack-identifier': 'voices_en', 'archive-path': join(h.dir, 'missing.aar') },
        { 'asset-pack-identifier': 'voices-fr' }
      ]),
      [
        /packs\[1\]: unknown key 'archive'; expected asset-pack-identifier, archive-path, manifest-path, version-id/,
        /packs\[2\]\.asset-pack-identifier: 'voices_en' may only contain letters, digits and hyphens/,
        /packs\[2\]\.archive-path: no file at '.*missing\.aar'/,
        /packs\[3\]\.archive-path: or packs\[3\]\.version-id is required/
      ]
    ],
    [
      packsInputs(
        h,
        packs.map((p, i) =>
          i === 2 ? { ...uploadEntry(p), 'manifest-path': packs[0].manifestPath } : uploadEntry(p)
        )
      ),
      [
        /packs\[3\].manifest-path: '.*' has "assetPackID": "forest-level-1", but asset-pack-identifier is "voices-en"/
      ]
    ]
  ]
  for (const [inputs, expected] of cases) {
    const run = await runAction(inputs)
    expect(run.exitCode).toBe(1)
    for (const pattern of expected) expect(run.stdout).toMatch(pattern)
    expect(run.stdout).toMatch(/::error::\d+ input problem\(s\); nothing was sent/)
  }
  expect(h.sim.requests).toEqual([])
}, 60_000)

test('mixed review platforms: from the manifests before any request, from the versions before any write', async () => {
  const h = await setUp()
  const platforms = { 'forest-level-1': ['iOS'], 'desert-level-1': ['macOS'] }
  const packs = await writePacks(h, IDS.slice(0, 2), { platforms })
  const local = await runAction(
    packsInputs(h, packs.map(uploadEntry), { 'submit-for-review': 'true' })
  )
  expect(local.exitCode).toBe(1)
  expect(local.stdout).toMatch(
    /submit-for-review: the packs are for different platforms \(IOS: forest-level-1; MAC_OS: desert-level-1\)/
  )
  expect(h.sim.requests).toEqual([])

  const released = await runAction(packsInputs(h, packs.map(uploadEntry)))
  expect(released.exitCode).toBe(0)
  const ids = (JSON.parse(released.outputs.packs) as Record<string, string>[]).map((p) => ({
    'asset-pack-identifier': p['asset-pack-identifier'],
    'version-id': p['version-id']
  }))
  const writesBefore = writes(h).length
  const remote = await runAction(packsInputs(h, ids, { 'submit-for-review': 'true' }))
  expect(remote.exitCode).toBe(1)
  expect(remote.stdout).toMatch(
    /submit-for-review: the versions are for different platforms \(IOS, MAC_OS\), and Apple's review submission is for one platform/
  )
  expect(writes(h).length).toBe(writesBefore)
}, 60_000)

describe('cancellation with several packs in flight', () => {
  let service: CacheService | undefined
  let runnerTemp: string
  afterEach(async () => {
    await service?.close()
    await rm(runnerTemp, { recursive: true, force: true })
  })

  test('every pack is left resumable: the re-run sends only what each lacks', async () => {
    runnerTemp = await mkdtemp(join(tmpdir(), 'runner-temp-'))
    const h = await setUp({
      upload: { partSize: 64 * 1024 },
      faults: { bandwidthPerConnection: 512 * 1024 }
    })
    const packs = await writePacks(h, IDS, { size: 2 * 1024 * 1024 })
    service = await startCacheService()
    const entries = packs.map((p) => ({ ...uploadEntry(p), 'manifest-path': '' }))
    const cancelWhenAllStarted = (child: ChildProcess) => {
      const timer = setInterval(() => {
        const files = assetFiles(h)
        if (files.length === 3 && files.every((f) => (f.assembly?.parts.size ?? 0) >= 4)) {
          clearInterval(timer)
          child.kill('SIGTERM')
        }
      }, 10)
      child.on('exit', () => clearInterval(timer))
    }
    const first = await runAction(packsInputs(h, entries, { 'upload-concurrency': '6' }), {
      env: cacheEnv(service, runnerTemp, 1),
      onStart: cancelWhenAllStarted
    })
    expect(first.exitCode).toBe(1)
    expect(first.summary).toContain('⏹️ 3 asset packs: cancelled')
    for (const id of IDS) expect(first.summary).toContain(`${id}: Cancelled with`)
    const heldAtCancel = new Map(
      assetFiles(h).map((f) => [f.id, new Set(f.assembly!.parts.keys())])
    )
    h.sim.options.faults.bandwidthPerConnection = 0
    const since = Date.now()
    const second = await runAction(packsInputs(h, entries, { 'upload-concurrency': '6' }), {
      env: cacheEnv(service, runnerTemp, 2)
    })
    expect(second.exitCode).toBe(0)
    expect(h.sim.store.versions.size).toBe(3)
    expect(assetFiles(h)).toHaveLength(3)
    for (const file of assetFiles(h)) {
      const held = heldAtCancel.get(file.id)!
      const resent = puts(h, since).filter((r) => r.path.includes(file.id) && r.status === 200)
      const repeated = resent.filter((r) => held.has(Number(r.path.split('/').pop())))
      expect(resent.length).toBe(file.operations.length - held.size + repeated.length)
      // At most the parts in flight at the cancel are sent again.
      expect(repeated.length).toBeLessThanOrEqual(6)
      expect(file.deliveryState).toBe('COMPLETE')
    }
    expect(second.stdout.match(/Resume ledger restored from/g)).toHaveLength(3)
  }, 90_000)
})
