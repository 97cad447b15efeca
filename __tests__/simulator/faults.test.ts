// The simulator's fault switches and seeding, reproducible from a seed; its command line.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import type { Simulator } from '../../simulator/index.js'
import {
  archiveBytes,
  call,
  createPackBody,
  createVersionBody,
  putParts,
  reserveUpload,
  uploadAndCommit,
  testSimulator
} from '../helpers/simulator.js'
import { rawArchive } from './archives.js'

let sim: Simulator

async function tryPuts(file: any, content: Buffer): Promise<string[]> {
  const results: string[] = []
  for (const op of file.attributes.uploadOperations) {
    const headers = Object.fromEntries(op.requestHeaders.map((h: any) => [h.name, h.value]))
    try {
      results.push(
        String(
          (
            await fetch(op.url, {
              method: 'PUT',
              headers,
              body: content.subarray(op.offset, op.offset + op.length)
            })
          ).status
        )
      )
    } catch {
      results.push('reset')
    }
  }
  return results
}

test('storage failure rate and connection resets follow the seed', async () => {
  const outcomes: string[][] = []
  for (let i = 0; i < 2; i++) {
    sim = await testSimulator({
      upload: { partSize: 1000 },
      faults: { seed: 42, storageFailureRate: 0.3, storageResetRate: 0.2 }
    })
    const { file } = await reserveUpload(sim, 40_000)
    outcomes.push(await tryPuts(file, archiveBytes(40_000)))
    await sim.close()
  }
  expect(outcomes[0]).toEqual(outcomes[1])
  expect(outcomes[0]).toContain('500')
  expect(outcomes[0]).toContain('reset')
  expect(outcomes[0]).toContain('200')
})

test('429 bursts, a chosen 5xx, and a dropped POST that still creates', async () => {
  sim = await testSimulator({
    faults: {
      rateLimitBurst: { probability: 1, durationMs: 200 },
      injectStatus: [{ method: 'GET', path: '/v1/backgroundAssets/{id}', status: 503, times: 1 }],
      dropResponse: [{ method: 'POST', path: '/v1/backgroundAssetVersions', times: 1 }]
    }
  })
  expect(
    (await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, 'x'))).status
  ).toBe(429)
  expect(
    (await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, 'x'))).status
  ).toBe(429)
  sim.options.faults.rateLimitBurst = { probability: 0, durationMs: 0 }
  await new Promise((resolve) => setTimeout(resolve, 250))
  const pack = await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, 'x'))
  expect(pack.status).toBe(201)
  const failed = await call(sim, 'GET', `/v1/backgroundAssets/${pack.body.data.id}`)
  expect(failed.status).toBe(503)
  expect(failed.body.errors[0].code).toBe('UNEXPECTED_ERROR')
  expect((await call(sim, 'GET', `/v1/backgroundAssets/${pack.body.data.id}`)).status).toBe(200)
  await expect(
    call(sim, 'POST', '/v1/backgroundAssetVersions', createVersionBody(pack.body.data.id))
  ).rejects.toThrow()
  expect(sim.store.versions.size).toBe(1)
  expect(sim.faultsInjected).toEqual({ '429': 2, 'status 503': 1, 'dropped response': 1 })
  expect(sim.contractViolations).toEqual([])
})

test('latency and bandwidth caps slow requests down (lower bounds only)', async () => {
  sim = await testSimulator({
    upload: { partSize: 512 * 1024 },
    faults: { latencyMs: 100, bandwidthPerConnection: 2 * 1024 * 1024 }
  })
  const started = Date.now()
  await call(sim, 'GET', `/v1/apps/${sim.appId}/backgroundAssets`)
  expect(Date.now() - started).toBeGreaterThanOrEqual(100)
  const { file } = await reserveUpload(sim, 1024 * 1024)
  const putStart = Date.now()
  expect(await putParts(file, archiveBytes(1024 * 1024))).toEqual([200, 200])
  // 1 MiB at 2 MiB/s per connection, two sequential parts: at least 0.4 s.
  expect(Date.now() - putStart).toBeGreaterThanOrEqual(400)
})

test('pre-seeded packs and versions: one holding an archive, one AWAITING_UPLOAD', async () => {
  sim = await testSimulator({
    packs: [
      {
        identifier: 'forest',
        versions: [
          { state: 'COMPLETE', archive: { fileSize: 1234, md5: 'a'.repeat(32) } },
          { state: 'AWAITING_UPLOAD' }
        ]
      }
    ]
  })
  const [pack] = (
    await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets?filter[assetPackIdentifier]=forest`
    )
  ).body.data
  const versions = await call(
    sim,
    'GET',
    `/v1/backgroundAssets/${pack.id}/versions?sort=version&include=assetFile`
  )
  expect(versions.body.data.map((v: any) => [v.attributes.version, v.attributes.state])).toEqual([
    ['1', 'COMPLETE'],
    ['2', 'AWAITING_UPLOAD']
  ])
  expect(versions.body.included[0].attributes).toMatchObject({
    fileSize: 1234,
    sourceFileChecksums: { file: { hash: 'a'.repeat(32), algorithm: 'MD5' } }
  })
  expect(sim.contractViolations).toEqual([])
})

test('npm run simulator prints one JSON line, serves, and stops on SIGTERM removing its key', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const line = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString()))
  )
  expect(line.trim().split('\n')).toHaveLength(1)
  const info = JSON.parse(line)
  expect(info).toEqual({
    baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    appId: expect.stringMatching(/^\d+$/),
    keyId: expect.any(String),
    issuerId: expect.any(String),
    privateKeyPath: expect.stringMatching(/^\//)
  })
  expect(readFileSync(info.privateKeyPath, 'utf8')).toContain('BEGIN PRIVATE KEY')
  expect(
    (await fetch(`${info.baseUrl}/v1/apps/${info.appId}/backgroundAssets`)).headers.get(
      'x-rate-limit'
    )
  ).toMatch(/user-hour-lim/)
  child.kill('SIGTERM')
  const code = await new Promise((resolve) => child.on('close', resolve))
  expect(code).toBe(0)
  expect(existsSync(info.privateKeyPath)).toBe(false)
})

test('processingDelay slows one chosen pack’s processing; the others finish as usual', async () => {
  sim = await testSimulator({
    processing: { assetMs: 50 },
    faults: { processingDelay: { identifier: 'slow-pack', ms: 1500 } }
  })
  const content = rawArchive(1000)
  const slow = await reserveUpload(sim, content.length, 'slow-pack')
  const quick = await reserveUpload(sim, content.length, 'quick-pack')
  await uploadAndCommit(sim, slow.file, content)
  await uploadAndCommit(sim, quick.file, content)
  const stateOf = (versionId: string) => sim.store.versions.get(versionId)!.state
  // Wait for the quick one's verdict rather than a fixed time.
  while (stateOf(quick.versionId) === 'PROCESSING') await new Promise((r) => setTimeout(r, 20))
  expect(stateOf(quick.versionId)).toBe('COMPLETE')
  expect(stateOf(slow.versionId)).toBe('PROCESSING')
  while (stateOf(slow.versionId) === 'PROCESSING') await new Promise((r) => setTimeout(r, 20))
  expect(stateOf(slow.versionId)).toBe('COMPLETE')
  expect(sim.faultsInjected['processing delay']).toBe(1)
})
