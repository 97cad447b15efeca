// The simulator against Apple's published contract: operations, auth, errors, rate limits,
// reservations, storage, commit, processing. Requests here are hand-made (not the action's).
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import type { Simulator } from '../../simulator/index.js'
import { applyManifest } from '../../simulator/processing.js'
import type { VersionRecord } from '../../simulator/store.js'
import {
  archiveBytes,
  uploadAndCommit,
  call,
  commitBody,
  createPackBody,
  createVersionBody,
  putParts,
  reserveBody,
  reserveUpload,
  token,
  testSimulator
} from '../helpers/simulator.js'
import { packedArchive, rawArchive } from './archives.js'

let sim: Simulator

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Waits (at most 5 s) for processing to give its verdict on an upload file. */
async function processed(fileId: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (
    ['AWAITING_UPLOAD', 'UPLOAD_COMPLETE'].includes(
      sim.store.uploadFiles.get(fileId)!.deliveryState
    ) &&
    Date.now() < deadline
  )
    await wait(10)
}

/** A MANIFEST upload of `text` into the version, committed and processed; its upload file id. */
async function sendManifest(sim: Simulator, versionId: string, text: string): Promise<string> {
  const bytes = Buffer.from(text)
  const file = (
    await call(
      sim,
      'POST',
      '/v1/backgroundAssetUploadFiles',
      reserveBody(versionId, bytes.length, 'MANIFEST', 'Manifest.json')
    )
  ).body.data
  await uploadAndCommit(sim, file, bytes)
  await processed(file.id)
  return file.id
}

describe('operations and JSON:API envelopes', () => {
  test('packs: create, filter, sort, page through links.next, read, archive', async () => {
    sim = await testSimulator()
    for (const id of ['cave', 'forest', 'desert'])
      expect(
        (await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, id))).status
      ).toBe(201)
    const filtered = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets?filter[assetPackIdentifier]=forest`
    )
    expect(filtered.body.data.map((p: any) => p.attributes.assetPackIdentifier)).toEqual(['forest'])
    const first = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets?sort=-assetPackIdentifier&limit=2`
    )
    expect(first.body.data.map((p: any) => p.attributes.assetPackIdentifier)).toEqual([
      'forest',
      'desert'
    ])
    expect(first.body.meta.paging).toMatchObject({ total: 3, limit: 2 })
    const next = new URL(first.body.links.next)
    const second = await call(sim, 'GET', `${next.pathname}${next.search}`)
    expect(second.body.data.map((p: any) => p.attributes.assetPackIdentifier)).toEqual(['cave'])
    expect(second.body.links.next).toBeUndefined()
    const id = second.body.data[0].id
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssets/${id}`)).body.data.attributes.archived
    ).toBe(false)
    const archived = await call(sim, 'PATCH', `/v1/backgroundAssets/${id}`, {
      data: { type: 'backgroundAssets', id, attributes: { archived: true } }
    })
    expect(archived.body.data.attributes.archived).toBe(true)
    expect(
      (await call(sim, 'GET', `/v1/apps/${sim.appId}/backgroundAssets?filter[archived]=true`)).body
        .data
    ).toHaveLength(1)
    expect(
      (await call(sim, 'POST', '/v1/backgroundAssetVersions', createVersionBody(id))).status
    ).toBe(409)
    const linkages = await call(sim, 'GET', `/v1/apps/${sim.appId}/relationships/backgroundAssets`)
    expect(linkages.body.data).toHaveLength(3)
    expect(linkages.body.data[0]).toEqual({ type: 'backgroundAssets', id: expect.any(String) })
    expect(sim.contractViolations).toEqual([])
  })

  test('packs: include=app,internalBetaVersion on the list and on the instance', async () => {
    sim = await testSimulator({
      packs: [{ identifier: 'forest', versions: [{ state: 'COMPLETE' }] }, { identifier: 'cave' }]
    })
    const listed = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets?include=app,internalBetaVersion&fields[apps]=name,bundleId`
    )
    expect(listed.body.included.map((r: any) => r.type).sort()).toEqual([
      'apps',
      'backgroundAssetVersions'
    ])
    const app = listed.body.included.find((r: any) => r.type === 'apps')
    expect(app).toMatchObject({ id: sim.appId, attributes: { name: expect.any(String) } })
    expect(Object.keys(app.attributes).sort()).toEqual(['bundleId', 'name'])
    const forest = listed.body.data.find((p: any) => p.attributes.assetPackIdentifier === 'forest')
    const one = await call(
      sim,
      'GET',
      `/v1/backgroundAssets/${forest.id}?include=internalBetaVersion`
    )
    expect(one.body.included).toEqual([
      expect.objectContaining({
        type: 'backgroundAssetVersions',
        id: forest.relationships.internalBetaVersion.data.id
      })
    ])
    const plain = await call(sim, 'GET', `/v1/backgroundAssets/${forest.id}`)
    expect(plain.body.included).toBeUndefined()
    expect(sim.contractViolations).toEqual([])
  })

  test('versions: numbered 1, 2, 3 per pack; filter, sort, include, fields; release reads', async () => {
    sim = await testSimulator({ processing: { assetMs: 20 } })
    const content = rawArchive(1000)
    const { packId, versionId, file } = await reserveUpload(sim, content.length)
    await uploadAndCommit(sim, file, content)
    await processed(file.id)
    for (let i = 0; i < 2; i++)
      await call(sim, 'POST', '/v1/backgroundAssetVersions', createVersionBody(packId))
    const newest = await call(
      sim,
      'GET',
      `/v1/backgroundAssets/${packId}/versions?sort=-version&include=assetFile,internalBetaRelease&fields[backgroundAssetUploadFiles]=fileSize,sourceFileChecksums`
    )
    expect(newest.body.data.map((v: any) => v.attributes.version)).toEqual(['3', '2', '1'])
    const included = newest.body.included
    expect(included.find((r: any) => r.type === 'backgroundAssetUploadFiles').attributes).toEqual({
      fileSize: 1000,
      sourceFileChecksums: { file: { hash: md5(content), algorithm: 'MD5' } }
    })
    const release = included.find(
      (r: any) => r.type === 'backgroundAssetVersionInternalBetaReleases'
    )
    expect(release.attributes.state).toBe('READY_FOR_TESTING')
    const awaiting = await call(
      sim,
      'GET',
      `/v1/backgroundAssets/${packId}/versions?filter[state]=AWAITING_UPLOAD`
    )
    expect(awaiting.body.data).toHaveLength(2)
    const one = await call(
      sim,
      'GET',
      `/v1/backgroundAssetVersions/${versionId}?include=internalBetaRelease`
    )
    expect(one.body.data.attributes).toMatchObject({
      state: 'COMPLETE',
      version: '1',
      platforms: ['IOS']
    })
    const releaseRead = await call(
      sim,
      'GET',
      `/v1/backgroundAssetVersionInternalBetaReleases/${release.id}?include=backgroundAssetVersion`
    )
    expect(releaseRead.body.included[0].id).toBe(versionId)
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssetVersionExternalBetaReleases/none`)).status
    ).toBe(404)
    expect((await call(sim, 'GET', `/v1/backgroundAssetVersionAppStoreReleases/none`)).status).toBe(
      404
    )
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssets/${packId}/relationships/versions`)).body.data
    ).toHaveLength(3)
    expect(
      (
        await call(
          sim,
          'GET',
          `/v1/backgroundAssetVersions/${versionId}/backgroundAssetUploadFiles`
        )
      ).body.data[0].id
    ).toBe(file.id)
    expect(
      (
        await call(
          sim,
          'GET',
          `/v1/backgroundAssetVersions/${versionId}/relationships/backgroundAssetUploadFiles`
        )
      ).body.data
    ).toHaveLength(1)
    expect(sim.contractViolations).toEqual([])
  })

  test("seeded locales and App Store states: filter[locale], filter[appStoreRelease.state], filter[versions.locale]; the newest distributed version is the pack's", async () => {
    sim = await testSimulator({
      packs: [
        {
          identifier: 'forest',
          versions: [
            { state: 'COMPLETE', locale: 'fr', appStoreState: 'READY_FOR_DISTRIBUTION' },
            { state: 'COMPLETE', locale: 'es-US', appStoreState: 'READY_FOR_DISTRIBUTION' },
            { state: 'COMPLETE', appStoreState: 'REJECTED' },
            { state: 'PROCESSING' }
          ]
        },
        { identifier: 'cave', versions: [{ state: 'COMPLETE', locale: 'zh-Hant' }] }
      ]
    })
    const forest = [...sim.store.packs.values()].find((p) => p.identifier === 'forest')!
    const versions = `/v1/backgroundAssets/${forest.id}/versions?sort=version`
    const numbers = async (query: string) =>
      (await call(sim, 'GET', `${versions}&${query}`)).body.data.map(
        (v: any) => v.attributes.version
      )
    expect(await numbers('filter[locale]=es-US,de')).toEqual(['2'])
    expect(await numbers('filter[locale]=es')).toEqual([])
    expect(await numbers('filter[appStoreRelease.state]=READY_FOR_DISTRIBUTION,REJECTED')).toEqual([
      '1',
      '2',
      '3'
    ])
    const all = (await call(sim, 'GET', versions)).body.data
    expect(all.map((v: any) => v.attributes.locale)).toEqual(['fr', 'es-US', undefined, undefined])
    expect('locale' in all[2].attributes).toBe(false)
    expect(all[3].relationships.appStoreRelease.data).toBeUndefined()
    const pack = (await call(sim, 'GET', `/v1/backgroundAssets/${forest.id}`)).body.data
    expect(pack.relationships.appStoreVersion.data.id).toBe(all[1].id)
    const byLocale = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets?filter[versions.locale]=zh-Hant,de`
    )
    expect(byLocale.body.data.map((p: any) => p.attributes.assetPackIdentifier)).toEqual(['cave'])
    expect(sim.contractViolations).toEqual([])
  })
})

/** `n` requests with one token: each answer's status and X-Rate-Limit header. */
async function budgetHeaders(sim: Simulator, n: number): Promise<string[]> {
  const bearer = await token(sim.key)
  const seen: string[] = []
  for (let i = 0; i < n; i++) {
    const answer = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets`,
      undefined,
      bearer
    )
    seen.push(`${answer.status} ${answer.headers.get('x-rate-limit')}`)
  }
  return seen
}

describe('auth like Apple', () => {
  const now = () => Math.floor(Date.now() / 1000)
  test.each([
    ['no token', async () => null, 'the request has no Authorization: Bearer header'],
    [
      'a token of an unknown key',
      async (s: Simulator) => token({ ...s.key, keyId: 'UNKNOWN123' }),
      "the token's kid UNKNOWN123 is not a known API key"
    ],
    [
      'a wrong audience',
      async (s: Simulator) => token(s.key, { aud: 'someone-else' }),
      `the token's aud is "someone-else", not "appstoreconnect-v1"`
    ],
    [
      'a wrong issuer',
      async (s: Simulator) => token(s.key, { iss: '00000000-0000-0000-0000-000000000000' }),
      "the token's iss is not the issuer ID of key"
    ],
    [
      'a lifetime over 20 minutes',
      async (s: Simulator) => token(s.key, { iat: now() - 10, exp: now() + 3590 }),
      'exp − iat is 3600 s, over 1200'
    ],
    [
      'an expired token',
      async (s: Simulator) => token(s.key, { iat: now() - 900, exp: now() - 5 }),
      'the token expired'
    ],
    [
      'a token issued in the future',
      async (s: Simulator) => token(s.key, { iat: now() + 120, exp: now() + 600 }),
      "the token's iat is"
    ],
    [
      'a bad signature',
      async (s: Simulator) => (await token(s.key)).slice(0, -4) + 'AAAA',
      "the token's signature does not verify"
    ]
  ])('%s → 401 NOT_AUTHORIZED saying why, with X-Rate-Limit', async (_what, make, why) => {
    sim = await testSimulator()
    const answer = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets`,
      undefined,
      await make(sim)
    )
    expect(answer.status).toBe(401)
    expect(answer.body.errors[0]).toMatchObject({ status: '401', code: 'NOT_AUTHORIZED' })
    expect(answer.body.errors[0].detail).toContain(`This one was refused because ${why}`)
    expect(answer.headers.get('x-rate-limit')).toMatch(/^user-hour-lim:3500;user-hour-rem:\d+;$/)
    expect(sim.contractViolations).toEqual([])
  })

  test('a token without iat is refused saying so', async () => {
    sim = await testSimulator()
    const { SignJWT, importPKCS8 } = await import('jose')
    const noIat = await new SignJWT({ aud: 'appstoreconnect-v1', iss: sim.key.issuerId })
      .setProtectedHeader({ alg: 'ES256', kid: sim.key.keyId, typ: 'JWT' })
      .setExpirationTime(now() + 600)
      .sign(await importPKCS8(sim.key.privateKeyPem, 'ES256'))
    const answer = await call(
      sim,
      'GET',
      `/v1/apps/${sim.appId}/backgroundAssets`,
      undefined,
      noIat
    )
    expect(answer.body.errors[0].detail).toContain('refused because the token has no iat')
  })

  test('individual keys need sub "user" and no iss', async () => {
    sim = await testSimulator()
    const individual = sim.addKey('individual')
    const status = async (bearer: string) =>
      (await call(sim, 'GET', `/v1/apps/${sim.appId}/backgroundAssets`, undefined, bearer)).status
    expect(await status(await token(individual))).toBe(200)
    expect(await status(await token(individual, { iss: 'x' }))).toBe(401)
  })

  test('a clock offset makes a locally valid token expired', async () => {
    sim = await testSimulator({ clockOffsetMs: 30 * 60_000 })
    expect((await call(sim, 'GET', `/v1/apps/${sim.appId}/backgroundAssets`)).status).toBe(401)
  })
})

describe('errors as Apple sends them', () => {
  test('404, 409 identifier, 409 duplicate, 409 wrong type, 409 unknown member, 422 malformed JSON, 400 parameter', async () => {
    sim = await testSimulator()
    expect((await call(sim, 'GET', '/v1/apps/42/backgroundAssets')).body.errors[0]).toMatchObject({
      status: '404',
      code: 'NOT_FOUND',
      source: { parameter: 'id' }
    })
    for (const bad of ['forest.level', 'forest_level', '-forest', 'forest-']) {
      const answer = await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, bad))
      expect(answer.body.errors[0]).toMatchObject({
        status: '409',
        code: 'ENTITY_ERROR.ATTRIBUTE.INVALID',
        source: { pointer: '/data/attributes/assetPackIdentifier' }
      })
    }
    await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, 'forest'))
    expect(
      (await call(sim, 'POST', '/v1/backgroundAssets', createPackBody(sim.appId, 'forest'))).status
    ).toBe(409)
    const wrongType = await call(sim, 'POST', '/v1/backgroundAssets', {
      data: { ...createPackBody(sim.appId, 'x').data, type: 'apps' }
    })
    expect(wrongType.body.errors[0]).toMatchObject({
      status: '409',
      code: 'ENTITY_ERROR.ATTRIBUTE.TYPE'
    })
    const unknown = await call(sim, 'POST', '/v1/backgroundAssetVersions', {
      data: { ...createVersionBody('x').data, attributes: { version: '7' } }
    })
    expect(unknown.body.errors[0]).toMatchObject({
      status: '409',
      code: 'ENTITY_ERROR.ATTRIBUTE.UNKNOWN',
      source: { pointer: '/data/attributes' }
    })
    expect((await call(sim, 'POST', '/v1/backgroundAssets', '{"data": ')).status).toBe(422)
    expect(
      (await call(sim, 'GET', `/v1/apps/${sim.appId}/backgroundAssets?limit=500`)).status
    ).toBe(400)
    // The deliberate bad requests are what the contract check records; every response was valid.
    expect(sim.contractViolations.every((v) => v.startsWith('request '))).toBe(true)
    expect(sim.contractViolations).toHaveLength(4)
  })

  test('a rate budget: X-Rate-Limit counts down, then 429 RATE_LIMIT_EXCEEDED', async () => {
    sim = await testSimulator({ rateLimitPerHour: 3 })
    expect(await budgetHeaders(sim, 4)).toEqual([
      '200 user-hour-lim:3;user-hour-rem:2;',
      '200 user-hour-lim:3;user-hour-rem:1;',
      '200 user-hour-lim:3;user-hour-rem:0;',
      '429 user-hour-lim:3;user-hour-rem:0;'
    ])
  })

  test('a per-minute budget, where set, is in X-Rate-Limit and refuses past its limit', async () => {
    sim = await testSimulator({ rateLimitPerMinute: 2 })
    expect(await budgetHeaders(sim, 3)).toEqual([
      '200 user-hour-lim:3500;user-hour-rem:3499;user-minute-lim:2;user-minute-rem:1;',
      '200 user-hour-lim:3500;user-hour-rem:3498;user-minute-lim:2;user-minute-rem:0;',
      '429 user-hour-lim:3500;user-hour-rem:3498;user-minute-lim:2;user-minute-rem:0;'
    ])
  })
})

describe('reservations, storage and commit', () => {
  test('operations: PUT, signed URL, offset/length/partNumber/expiration, a required header; uneven and shuffled', async () => {
    sim = await testSimulator({
      upload: { partSize: 100, unevenParts: true, shuffleOperations: true }
    })
    const { file } = await reserveUpload(sim, 1000)
    const ops = file.attributes.uploadOperations
    expect(ops.length).toBeGreaterThan(5)
    expect(new Set(ops.map((o: any) => o.length)).size).toBeGreaterThan(1)
    const offsets = ops.map((o: any) => o.offset)
    expect(offsets).not.toEqual([...offsets].sort((a, b) => a - b))
    expect(ops.reduce((n: number, o: any) => n + o.length, 0)).toBe(1000)
    for (const op of ops) {
      expect(op).toMatchObject({
        method: 'PUT',
        url: expect.stringContaining('signature='),
        expiration: expect.any(String),
        partNumber: expect.any(Number)
      })
      expect(op.requestHeaders.map((h: any) => h.name)).toContain('x-upload-part-token')
    }
    expect(file.attributes.sourceFileChecksums).toEqual({ file: { algorithm: 'MD5' } })
  })

  test('storage enforces method, signature, expiry, headers and Content-Length; records Authorization', async () => {
    sim = await testSimulator({ upload: { partSize: 100 } })
    const { file } = await reserveUpload(sim, 100)
    const op = file.attributes.uploadOperations[0]
    const headers = Object.fromEntries(op.requestHeaders.map((h: any) => [h.name, h.value]))
    const body = archiveBytes(100)
    const put = (url: string, h: Record<string, string>, method = 'PUT', b: Buffer = body) =>
      fetch(url, { method, headers: h, body: b }).then((r) => r.status)
    expect(await put(op.url, headers, 'POST')).toBe(405)
    expect(
      await put(op.url.replace(/signature=[0-9a-f]+/, `signature=${'0'.repeat(64)}`), headers)
    ).toBe(403)
    expect(await put(op.url.replace(/expires=\d+/, 'expires=1'), headers)).toBe(403)
    expect(await put(op.url, { 'Content-Type': 'application/octet-stream' })).toBe(403)
    expect(await put(op.url, headers, 'PUT', body.subarray(0, 50))).toBe(400)
    expect(await put(op.url, { ...headers, authorization: 'Bearer x' })).toBe(400)
    expect(sim.securityViolations).toHaveLength(1)
    expect(await put(op.url, headers)).toBe(200)
    expect(await put(op.url, headers)).toBe(200) // again, before commit
    expect(
      (
        await call(
          sim,
          'PATCH',
          `/v1/backgroundAssetUploadFiles/${file.id}`,
          commitBody(file.id, { uploaded: true })
        )
      ).status
    ).toBe(200)
    expect(await put(op.url, headers)).toBe(409) // after commit
  })

  test('expired reservations are refused by the storage', async () => {
    sim = await testSimulator({ upload: { expiresInSeconds: -60 } })
    const { file } = await reserveUpload(sim, 100)
    expect(await putParts(file, archiveBytes(100))).toEqual([403])
  })

  test('commit refuses missing parts and every wrong checksum form, and accepts the right ones', async () => {
    sim = await testSimulator({
      upload: { partSize: 100 },
      checksums: { fileAlgorithm: 'SHA_256', announceComposite: true, requireChecksum: true }
    })
    const content = archiveBytes(250)
    const { file } = await reserveUpload(sim, content.length)
    expect(file.attributes.sourceFileChecksums).toEqual({
      file: { algorithm: 'SHA_256' },
      composite: { algorithm: 'MD5' }
    })
    const commit = (attributes: Record<string, unknown>) =>
      call(
        sim,
        'PATCH',
        `/v1/backgroundAssetUploadFiles/${file.id}`,
        commitBody(file.id, { uploaded: true, ...attributes })
      )
    expect((await commit({ sourceFileChecksum: md5(content) })).body.errors[0].detail).toMatch(
      /part\(s\) 1, 2, 3/
    )
    await putParts(file, content)
    expect((await commit({})).body.errors[0].code).toBe('ENTITY_ERROR.ATTRIBUTE.REQUIRED')
    expect(
      (await commit({ sourceFileChecksums: { file: { hash: md5(content), algorithm: 'MD5' } } }))
        .body.errors[0].source.pointer
    ).toBe('/data/attributes/sourceFileChecksums/file/algorithm')
    expect(
      (
        await commit({
          sourceFileChecksums: { file: { hash: '0'.repeat(64), algorithm: 'SHA_256' } }
        })
      ).body.errors[0].source.pointer
    ).toBe('/data/attributes/sourceFileChecksums/file/hash')
    expect(
      (
        await commit({
          sourceFileChecksums: { composite: { hash: md5(content), algorithm: 'MD5' } }
        })
      ).body.errors[0].source.pointer
    ).toBe('/data/attributes/sourceFileChecksums/composite/hash')
    expect((await commit({ sourceFileChecksum: '0'.repeat(32) })).status).toBe(409)
    const parts = [content.subarray(0, 100), content.subarray(100, 200), content.subarray(200)]
    const composite = createHash('md5')
      .update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest())))
      .digest('hex')
    const ok = await commit({
      sourceFileChecksums: {
        file: { hash: sha256(content), algorithm: 'SHA_256' },
        composite: { hash: composite, algorithm: 'MD5' }
      }
    })
    expect(ok.status).toBe(200)
    expect(ok.body.data.attributes.assetDeliveryState.state).toBe('UPLOAD_COMPLETE')
  })

  test('refuseChecksumObject answers 409 on the object and accepts the deprecated string', async () => {
    sim = await testSimulator({ checksums: { refuseChecksumObject: true } })
    const content = archiveBytes(300)
    const { file } = await reserveUpload(sim, content.length)
    await putParts(file, content)
    const object = await call(
      sim,
      'PATCH',
      `/v1/backgroundAssetUploadFiles/${file.id}`,
      commitBody(file.id, {
        uploaded: true,
        sourceFileChecksums: { file: { hash: md5(content), algorithm: 'MD5' } }
      })
    )
    expect(object.body.errors[0]).toMatchObject({
      status: '409',
      source: { pointer: '/data/attributes/sourceFileChecksums' }
    })
    const legacy = await call(
      sim,
      'PATCH',
      `/v1/backgroundAssetUploadFiles/${file.id}`,
      commitBody(file.id, { uploaded: true, sourceFileChecksum: md5(content) })
    )
    expect(legacy.status).toBe(200)
  })
})

describe('processing', () => {
  test('a MANIFEST is parsed: COMPLETE for a good one, FAILED with codes for a bad one', async () => {
    sim = await testSimulator({ processing: { manifestMs: 10 } })
    const { versionId } = await reserveUpload(sim, 10, 'forest')
    const send = async (manifest: string) => {
      const id = await sendManifest(sim, versionId, manifest)
      return (await call(sim, 'GET', `/v1/backgroundAssetUploadFiles/${id}`)).body.data.attributes
        .assetDeliveryState
    }
    expect(
      await send(
        JSON.stringify({
          assetPackID: 'forest',
          downloadPolicy: { onDemand: {} },
          fileSelectors: [{ file: 'a' }],
          platforms: ['iOS', 'visionOS']
        })
      )
    ).toEqual({ state: 'COMPLETE' })
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssetVersions/${versionId}`)).body.data.attributes
        .platforms
    ).toEqual(['IOS', 'VISION_OS'])
    const failed = await send(
      JSON.stringify({
        assetPackID: 'desert',
        downloadPolicy: { onDemand: null },
        platforms: ['iPadOS']
      })
    )
    expect(failed.state).toBe('FAILED')
    expect(failed.errors.map((e: any) => e.code)).toEqual([
      'MANIFEST_ASSET_PACK_ID_MISMATCH',
      'ITMS-91140',
      'MANIFEST_INVALID_PLATFORMS'
    ])
    expect((await send('{not json')).errors[0].code).toBe('MANIFEST_INVALID_JSON')
  })

  test("a MANIFEST's language becomes its version's locale; a malformed one is a manifest error", async () => {
    sim = await testSimulator({ processing: { manifestMs: 10 } })
    const { versionId } = await reserveUpload(sim, 10, 'forest')
    const send = async (language: unknown) => {
      const manifest = {
        assetPackID: 'forest',
        downloadPolicy: { prefetch: {} },
        platforms: ['iOS'],
        language
      }
      const id = await sendManifest(sim, versionId, JSON.stringify(manifest))
      return sim.store.uploadFiles.get(id)!.errors.map((e) => e.code)
    }
    const locale = async () =>
      (await call(sim, 'GET', `/v1/backgroundAssetVersions/${versionId}`)).body.data.attributes
        .locale
    expect(await send('zh-Hans-VN')).toEqual([])
    expect(await locale()).toBe('zh-Hans-VN')
    expect(await send('en_US')).toEqual(['MANIFEST_INVALID_LANGUAGE'])
    expect(await locale()).toBe('zh-Hans-VN')
    expect(await send(undefined)).toEqual([])
    expect(await locale()).toBeUndefined()
    expect(sim.contractViolations).toEqual([])
  })

  test.each([
    ['fr', true],
    ['es-US', true],
    ['zh-Hant', true],
    ['zh-Hans-VN', true],
    ['es-419', true],
    ['en_US', false],
    ['en-US-x-private', false],
    ['de-DE-1996', false],
    ['english', false],
    [42, false]
  ])('language %p is a BCP-47 tag the manifest accepts: %p', (language, accepted) => {
    const version = { platforms: [] } as unknown as VersionRecord
    const manifest = {
      assetPackID: 'forest',
      downloadPolicy: { essential: {} },
      platforms: ['iOS']
    }
    const errors = applyManifest(version, { ...manifest, language }, 'forest')
    expect(errors.map((e) => e.code)).toEqual(accepted ? [] : ['MANIFEST_INVALID_LANGUAGE'])
    expect(version.locale).toBe(accepted ? language : undefined)
  })

  test('an ASSET moves AWAITING_UPLOAD → PROCESSING → COMPLETE and supersedes the previous internal beta release', async () => {
    sim = await testSimulator({ processing: { assetMs: 150 } })
    const first = await reserveUpload(sim, 100)
    await uploadAndCommit(sim, first.file, rawArchive(100))
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssetVersions/${first.versionId}`)).body.data
        .attributes.state
    ).toBe('PROCESSING')
    await processed(first.file.id)
    const version2 = (
      await call(sim, 'POST', '/v1/backgroundAssetVersions', createVersionBody(first.packId))
    ).body.data
    const file2 = (
      await call(sim, 'POST', '/v1/backgroundAssetUploadFiles', reserveBody(version2.id, 100))
    ).body.data
    await uploadAndCommit(sim, file2, rawArchive(100))
    await processed(file2.id)
    const versions = await call(
      sim,
      'GET',
      `/v1/backgroundAssets/${first.packId}/versions?sort=version&include=internalBetaRelease`
    )
    expect(versions.body.data.map((v: any) => v.attributes.state)).toEqual(['COMPLETE', 'COMPLETE'])
    expect(versions.body.included.map((r: any) => r.attributes.state).sort()).toEqual([
      'READY_FOR_TESTING',
      'SUPERSEDED'
    ])
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssets/${first.packId}`)).body.data.relationships
        .internalBetaVersion.data.id
    ).toBe(version2.id)
  })

  test('a file that is not an Apple Archive ends FAILED with stateDetails; neverFinish stays PROCESSING', async () => {
    sim = await testSimulator({ processing: { assetMs: 10 } })
    const { file, versionId } = await reserveUpload(sim, 100)
    await uploadAndCommit(sim, file, Buffer.alloc(100, 1))
    await processed(file.id)
    const version = (await call(sim, 'GET', `/v1/backgroundAssetVersions/${versionId}`)).body.data
      .attributes
    expect(version.state).toBe('FAILED')
    expect(version.stateDetails.errors[0].code).toBe('ASSET_PACK_INVALID_ARCHIVE')
    await sim.close()
    sim = await testSimulator({ processing: { neverFinish: true } })
    const stuck = await reserveUpload(sim, 100)
    await uploadAndCommit(sim, stuck.file, archiveBytes(100))
    await wait(100)
    expect(
      (await call(sim, 'GET', `/v1/backgroundAssetVersions/${stuck.versionId}`)).body.data
        .attributes.state
    ).toBe('PROCESSING')
  })

  describe('an ASSET is read whole, as Apple reads it', () => {
    const manifest = (fields: Record<string, unknown> = {}) => ({
      assetPackID: 'forest',
      downloadPolicy: { prefetch: {} },
      platforms: ['iOS'],
      ...fields
    })
    const versionOf = async (versionId: string) =>
      (await call(sim, 'GET', `/v1/backgroundAssetVersions/${versionId}`)).body.data
    /** Uploads `bytes` to `versionId` as `assetType` and waits for processing's verdict. */
    const send = async (versionId: string, bytes: Buffer, assetType = 'ASSET') => {
      const fileName = assetType === 'ASSET' ? 'pack.aar' : 'Manifest.json'
      const file = (
        await call(
          sim,
          'POST',
          '/v1/backgroundAssetUploadFiles',
          reserveBody(versionId, bytes.length, assetType, fileName)
        )
      ).body.data
      await uploadAndCommit(sim, file, bytes)
      await processed(file.id)
      return file.id as string
    }

    test('a damaged archive FAILS with the problem in its error; its spooled bytes are removed', async () => {
      sim = await testSimulator({ processing: { assetMs: 10 } })
      const { versionId } = await reserveUpload(sim, 10, 'forest')
      const fileId = await send(versionId, rawArchive(2000).subarray(0, 1000))
      const { attributes } = await versionOf(versionId)
      expect(attributes.state).toBe('FAILED')
      expect(attributes.stateDetails.errors).toEqual([
        {
          code: 'ASSET_PACK_INVALID_ARCHIVE',
          description: expect.stringMatching(
            /^pack\.aar is an Apple Archive \(AA01\) that is cut short inside the entry for `Contents\/data\.bin`/
          )
        }
      ])
      expect(existsSync(sim.store.uploadFiles.get(fileId)!.assembly!.dir)).toBe(false)
      expect(sim.contractViolations).toEqual([])
    })

    test('the Manifest.json inside gives the version its platforms and locale, without a preflight', async () => {
      sim = await testSimulator({ processing: { assetMs: 10 } })
      const { packId, versionId } = await reserveUpload(sim, 10, 'forest')
      const archive = await packedArchive(
        manifest({ platforms: ['macOS', 'visionOS'], language: 'fr' })
      )
      await send(versionId, archive)
      const version = await versionOf(versionId)
      expect(version.attributes).toMatchObject({
        state: 'COMPLETE',
        platforms: ['MAC_OS', 'VISION_OS'],
        locale: 'fr'
      })
      expect(version.relationships.manifestFile.data).toBeUndefined()
      const french = await call(
        sim,
        'GET',
        `/v1/backgroundAssets/${packId}/versions?filter[locale]=fr`
      )
      expect(french.body.data.map((v: any) => v.id)).toEqual([versionId])
      expect(sim.contractViolations).toEqual([])
    })

    test("the archive's manifest is what ships: it outranks a preflight; its errors fail the version", async () => {
      sim = await testSimulator({ processing: { assetMs: 10, manifestMs: 10 } })
      const { packId, versionId } = await reserveUpload(sim, 10, 'forest')
      await send(versionId, Buffer.from(JSON.stringify(manifest({ language: 'de' }))), 'MANIFEST')
      expect((await versionOf(versionId)).attributes.locale).toBe('de')
      await send(versionId, await packedArchive(manifest({ platforms: ['tvOS'], language: 'fr' })))
      expect((await versionOf(versionId)).attributes).toMatchObject({
        state: 'COMPLETE',
        platforms: ['TV_OS'],
        locale: 'fr'
      })
      const other = (
        await call(sim, 'POST', '/v1/backgroundAssetVersions', createVersionBody(packId))
      ).body.data
      await send(other.id, await packedArchive(manifest({ assetPackID: 'desert' })))
      const failed = (await versionOf(other.id)).attributes
      expect(failed.state).toBe('FAILED')
      expect(failed.stateDetails.errors.map((e: any) => e.code)).toEqual([
        'MANIFEST_ASSET_PACK_ID_MISMATCH'
      ])
      expect(sim.contractViolations).toEqual([])
    })

    test('an archive whose blocks have no decoder here (LZMA) is checked by its signature only', async () => {
      sim = await testSimulator({ processing: { assetMs: 10 } })
      const { versionId } = await reserveUpload(sim, 10, 'forest')
      // pbzx: magic and u64 BE block size, then one block: u64 BE raw and stored sizes, a payload.
      const head = Buffer.alloc(28)
      head.write('pbzx', 0, 'latin1')
      head.writeBigUInt64BE(65_536n, 4)
      head.writeBigUInt64BE(1000n, 12)
      head.writeBigUInt64BE(100n, 20)
      await send(versionId, Buffer.concat([head, Buffer.alloc(100, 1)]))
      expect((await versionOf(versionId)).attributes).toMatchObject({
        state: 'COMPLETE',
        platforms: ['IOS']
      })
      expect(sim.contractViolations).toEqual([])
    })
  })
})
