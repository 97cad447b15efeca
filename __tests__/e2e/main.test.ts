// End to end: dist/index.js run as the runner runs it, against the simulator over HTTP on
// 127.0.0.1. Each test ends by checking that every request and response met the spec.
import { readdir } from 'node:fs/promises'
import { runAction } from '../../scripts/run-action.js'
import { writeSamplePack } from '../../scripts/sample-pack.js'
import {
  assetFiles,
  writes,
  FAST_RETRIES,
  IDENTIFIER,
  inputsFor,
  setUp
} from '../helpers/simulator.js'

test('happy path: manifest preflight, uneven shuffled parts, commit verified, COMPLETE', async () => {
  const h = await setUp({
    upload: { partSize: 40_000, unevenParts: true, shuffleOperations: true }
  })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  const [version] = h.sim.store.versions.values()
  const [archive] = assetFiles(h)
  const { packs, ...single } = run.outputs
  expect(single).toEqual({
    'asset-pack-id': version.packId,
    'version-id': version.id,
    version: '1',
    state: 'COMPLETE',
    'internal-beta-state': 'READY_FOR_TESTING',
    'manifest-upload-file-id': version.manifestFileId,
    'upload-file-id': archive.id,
    'archive-md5': h.pack.md5,
    'content-id': expect.stringMatching(/^[0-9a-f]{64}$/),
    reused: 'false',
    unchanged: 'false'
  })
  // The packs output of a single-pack run: the same figures, one object.
  expect(JSON.parse(packs)).toEqual([
    {
      'asset-pack-identifier': IDENTIFIER,
      ...single,
      'version-id': version.id,
      locale: null,
      reused: false,
      unchanged: false
    }
  ])
  expect(archive.operations.length).toBeGreaterThan(4)
  expect(archive.committedChecksums?.file).toEqual({ hash: h.pack.md5, algorithm: 'MD5' })
  expect(run.summary).toContain('released as version 1')
  expect(run.summary).toContain("The asset pack 'forest-level-2' did not exist and was created.")
  expect(run.stdout).toMatch(/::group::Uploading the archive/)
})

test('SHA_256 and a composite checksum are sent when the reservation announces them', async () => {
  const h = await setUp({
    checksums: { fileAlgorithm: 'SHA_256', announceComposite: true, requireChecksum: true }
  })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  const [archive] = assetFiles(h)
  expect(archive.committedChecksums?.file?.algorithm).toBe('SHA_256')
  expect(archive.committedChecksums?.composite?.hash).toMatch(/^[0-9a-f]{32}$/)
})

test('a refused checksum object falls back to the deprecated MD5 string, with a warning', async () => {
  const h = await setUp({ checksums: { refuseChecksumObject: true, requireChecksum: true } })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toMatch(/::warning::App Store Connect refused the sourceFileChecksums object/)
  expect(assetFiles(h)[0].committedLegacyChecksum).toBe(h.pack.md5)
  expect(run.summary).toContain('deprecated sourceFileChecksum')
})

test('processing FAILED fails the step with every stateDetails entry', async () => {
  const h = await setUp({
    processing: {
      failWith: {
        errors: [{ code: 'ITMS-91148', description: 'A platform was dropped.' }],
        warnings: [{ code: 'ITMS-91139', description: 'tvOS is not on the app record.' }],
        infos: [{ code: 'INFO-1', description: 'Processed in 1 s.' }]
      }
    }
  })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(1)
  expect(run.outputs.state).toBe('FAILED')
  expect(run.outputs['version-id']).toBeTruthy()
  for (const code of ['ITMS-91148', 'ITMS-91139', 'INFO-1']) {
    expect(run.stdout).toContain(code)
    expect(run.summary).toContain(code)
  }
  // The summary says what to do about it.
  expect(run.summary).toContain(
    '<strong>Next step</strong> · A FAILED version is final: fix what App Store Connect reports, rebuild the archive and push a new tag'
  )
})

test('a manifest only the server refuses stops before the archive is reserved', async () => {
  const h = await setUp({ processing: { manifestMs: 50 } })
  // Built from that manifest: the local checks pass; only Apple's preflight refuses it.
  h.pack = await writeSamplePack(h.dir, {
    identifier: IDENTIFIER,
    size: 300_000,
    manifest: {
      assetPackID: IDENTIFIER,
      downloadPolicy: { onDemand: {} },
      fileSelectors: [{ directory: '.' }],
      platforms: ['iOS']
    }
  })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain('MANIFEST_INVALID_FILE_SELECTOR')
  expect(run.outputs['manifest-upload-file-id']).toBeUndefined()
  expect(assetFiles(h)).toEqual([])
  expect(run.outputs.state).toBe('AWAITING_UPLOAD')
})

test('a processing timeout fails the step and reports the last state', async () => {
  const h = await setUp({ processing: { neverFinish: true } })
  const run = await runAction(inputsFor(h, { 'processing-timeout': '1s' }))
  expect(run.exitCode).toBe(1)
  expect(run.outputs.state).toBe('PROCESSING')
  expect(run.stdout).toMatch(/still PROCESSING after 1 s/)
})

test('a missing pack without create-asset-pack fails with the fix and writes nothing', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h, { 'create-asset-pack': 'false' }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(/has no asset pack 'forest-level-2'.*create-asset-pack: true/)
  expect(writes(h)).toEqual([])
})

test('an existing pack is used without create-asset-pack', async () => {
  const h = await setUp({ packs: [{ identifier: IDENTIFIER }] })
  const run = await runAction(inputsFor(h, { 'create-asset-pack': 'false' }))
  expect(run.exitCode).toBe(0)
  expect(h.sim.store.packs.size).toBe(1)
  expect(run.summary).not.toContain('was created')
})

test('a re-run with the same archive reuses the version: no new version, no upload', async () => {
  const h = await setUp()
  const first = await runAction(inputsFor(h))
  expect(first.exitCode).toBe(0)
  const putsBefore = h.sim.requests.filter((r) => r.method === 'PUT').length
  const second = await runAction(inputsFor(h))
  expect(second.exitCode).toBe(0)
  expect(second.outputs.reused).toBe('true')
  expect(second.outputs['version-id']).toBe(first.outputs['version-id'])
  expect(second.outputs['archive-md5']).toBe(h.pack.md5)
  expect(h.sim.store.versions.size).toBe(1)
  expect(h.sim.requests.filter((r) => r.method === 'PUT').length).toBe(putsBefore)
})

test('a seeded version holding the archive on a later page is found and reused', async () => {
  const versions = Array.from({ length: 250 }, (_, i) => ({
    state: 'COMPLETE' as const,
    archive: { fileSize: 300_000 + i + 1, md5: '0'.repeat(32) }
  }))
  const h = await setUp()
  h.sim.seedPack({
    identifier: IDENTIFIER,
    versions: [
      ...versions,
      { state: 'COMPLETE', archive: { fileSize: h.pack.size, md5: h.pack.md5 } }
    ]
  })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.outputs.reused).toBe('true')
  expect(run.outputs.version).toBe('251')
  expect(h.sim.requests.some((r) => r.query.includes('cursor='))).toBe(true)
})

test('a version left AWAITING_UPLOAD receives the upload instead of a new version', async () => {
  const h = await setUp({
    packs: [
      {
        identifier: IDENTIFIER,
        versions: [
          { state: 'COMPLETE', archive: { fileSize: 10, md5: 'f'.repeat(32) } },
          { state: 'AWAITING_UPLOAD' }
        ]
      }
    ]
  })
  const awaiting = [...h.sim.store.versions.values()].find((v) => v.state === 'AWAITING_UPLOAD')!
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.outputs['version-id']).toBe(awaiting.id)
  expect(run.outputs.version).toBe('2')
  expect(h.sim.store.versions.size).toBe(2)
})

test('a create whose answer is lost leaves exactly one version', async () => {
  const h = await setUp({
    packs: [{ identifier: IDENTIFIER }],
    faults: { dropResponse: [{ method: 'POST', path: '/v1/backgroundAssetVersions', times: 1 }] }
  })
  const run = await runAction(inputsFor(h), { env: FAST_RETRIES })
  expect(run.exitCode).toBe(0)
  expect(h.sim.faultsInjected['dropped response']).toBe(1)
  expect(h.sim.store.versions.size).toBe(1)
  expect(run.stdout).toMatch(/listing the versions before creating again/)
})

test('storage 5xx, connection resets, 429 bursts and an API 503 are survived; the bytes verify', async () => {
  const h = await setUp(
    {
      upload: { partSize: 16 * 1024 },
      faults: {
        seed: 7,
        storageFailureRate: 0.15,
        storageResetRate: 0.1,
        rateLimitBurst: { probability: 0.3, durationMs: 20 },
        injectStatus: [
          { method: 'GET', path: '/v1/backgroundAssetVersions/{id}', status: 503, times: 2 }
        ]
      }
    },
    400_000
  )
  const run = await runAction(inputsFor(h), { env: FAST_RETRIES })
  if (run.exitCode !== 0) console.log(run.stdout)
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  expect(assetFiles(h)[0].committedChecksums?.file?.hash).toBe(h.pack.md5)
  const injected = h.sim.faultsInjected
  expect((injected['storage 500'] ?? 0) + (injected['connection reset'] ?? 0)).toBeGreaterThan(0)
  expect(injected['429']).toBeGreaterThan(0)
  expect(injected['status 503']).toBe(2)
  expect(run.stdout).toMatch(/attempt 1 of \d+ failed/)
})

test('an individual API key (no issuer-id) authenticates with sub "user"', async () => {
  const h = await setUp()
  const key = h.sim.addKey('individual')
  const run = await runAction(
    inputsFor(h, { 'key-id': key.keyId, 'issuer-id': '', 'private-key': key.privateKeyPem })
  )
  expect(run.exitCode).toBe(0)
})

test('a base64 key and a key with literal \\n sequences are accepted', async () => {
  const h = await setUp()
  const base64 = Buffer.from(h.sim.key.privateKeyPem).toString('base64')
  expect((await runAction(inputsFor(h, { 'private-key': base64 }))).exitCode).toBe(0)
  const escaped = h.sim.key.privateKeyPem.trim().replace(/\n/g, '\\n')
  expect((await runAction(inputsFor(h, { 'private-key': escaped }))).exitCode).toBe(0)
})

test('dry-run checks key, app and pack and writes nothing', async () => {
  const h = await setUp({ packs: [{ identifier: IDENTIFIER }] })
  const run = await runAction(inputsFor(h, { 'dry-run': 'true' }))
  expect(run.exitCode).toBe(0)
  expect(writes(h)).toEqual([])
  expect(h.sim.requests.length).toBeGreaterThan(0)
  expect(run.outputs['archive-md5']).toBe(h.pack.md5)
  expect(run.summary).toContain('dry run passed')
})

test('an unknown app fails saying the app was not found', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h, { 'app-id': '1111111111' }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(/app-id: App Store Connect found no app with Apple ID 1111111111/)
})

test('a revoked or wrong key fails with 401 and the key/clock hint', async () => {
  const h = await setUp()
  const other = (await import('../../simulator/auth.js')).generateApiKey()
  const run = await runAction(inputsFor(h, { 'private-key': other.privateKeyPem }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(
    /401 NOT_AUTHORIZED: Authentication credentials are missing or invalid\. — /
  )
  expect(run.stdout).toMatch(/Hint: .*clock/)
})

test('secrets: the key, JWTs and signed URLs are masked before they could print, and no file is written', async () => {
  const h = await setUp()
  const before = await readdir(h.dir)
  const run = await runAction(inputsFor(h), { env: { RUNNER_DEBUG: '1' }, cwd: h.dir })
  expect(run.exitCode).toBe(0)
  const lines = (run.stdout + run.stderr).split('\n')
  const masked = lines.filter((l) => l.startsWith('::add-mask::'))
  const printed = lines.filter((l) => !l.startsWith('::add-mask::')).join('\n')
  const keyLines = h.sim.key.privateKeyPem.split('\n').filter((l) => l && !l.startsWith('-----'))
  for (const line of keyLines) expect(printed).not.toContain(line)
  expect(printed).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/)
  expect(printed).not.toMatch(/signature=/)
  const [archive] = assetFiles(h)
  for (const op of archive.operations) expect(masked).toContain(`::add-mask::${op.url}`)
  expect(masked.some((l) => /::add-mask::eyJ/.test(l))).toBe(true)
  expect(await readdir(h.dir)).toEqual(before)
})

test.each(['gap', 'overlap', 'past-end'] as const)(
  'operations with a %s are refused before any byte is sent',
  async (defect) => {
    const h = await setUp({ upload: { partSize: 50_000, defect } })
    const run = await runAction(inputsFor(h, { 'manifest-path': '' }))
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toMatch(/::error::(The upload operations|Upload operation part)/)
    expect(h.sim.requests.filter((r) => r.method === 'PUT')).toEqual([])
  }
)

test('expired operations are refused before any byte is sent', async () => {
  const h = await setUp({ upload: { expiresInSeconds: 60 } })
  const run = await runAction(inputsFor(h, { 'manifest-path': '' }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(/expired at .*; the reservation must be renewed/)
  expect(h.sim.requests.filter((r) => r.method === 'PUT')).toEqual([])
})

test('the summary names the tag, commit and run the runner describes', async () => {
  const h = await setUp()
  const run = await runAction(inputsFor(h), {
    env: {
      GITHUB_REPOSITORY: 'octo/game',
      GITHUB_SHA: '8f3e2a91c0d47b5e6a1f2c3d4e5f60718293a4b5',
      GITHUB_REF: 'refs/tags/assets-v3',
      GITHUB_RUN_ID: '777',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_SERVER_URL: 'https://github.example.com'
    }
  })
  expect(run.exitCode).toBe(0)
  expect(run.summary).toContain(
    'Built from <code>refs/tags/assets-v3</code> at <code>8f3e2a91c0d4</code> · <a href="https://github.example.com/octo/game/actions/runs/777/attempts/2">run 777 (attempt 2)</a>'
  )
})
