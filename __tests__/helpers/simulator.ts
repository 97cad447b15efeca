// Test helpers: a simulator per test, a sample pack on disk, signed requests, and the checks
// every test ends with (no contract or security violation).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, type Simulator, type SimulatorOverrides } from '../../simulator/index.js'
import { simulatorInputs } from '../../scripts/run-action.js'
import { writeSamplePack, type SamplePack } from '../../scripts/sample-pack.js'
import {
  commitBody,
  createPackBody,
  createVersionBody,
  reserveBody,
  token
} from '../../scripts/requests.js'

export { commitBody, createPackBody, createVersionBody, reserveBody, token }

export const IDENTIFIER = 'forest-level-2'

export interface Harness {
  sim: Simulator
  dir: string
  pack: SamplePack
}

const openHarnesses: Harness[] = []

/** A simulator and a sample pack; made inside a test, it is checked and closed after the test. */
export async function setUp(overrides: SimulatorOverrides = {}, size = 300_000): Promise<Harness> {
  const sim = await startSimulator({ upload: { partSize: 64 * 1024 }, ...overrides })
  const dir = await mkdtemp(join(tmpdir(), 'asset-pack-test-'))
  const pack = await writeSamplePack(dir, { identifier: IDENTIFIER, size })
  const harness = { sim, dir, pack }
  if (expect.getState().currentTestName) openHarnesses.push(harness)
  return harness
}

export async function tearDown(h: Harness | undefined): Promise<void> {
  if (!h) return
  await h.sim.close()
  await rm(h.dir, { recursive: true, force: true })
}

const openSimulators: Simulator[] = []

/** A bare simulator for a test of the simulator itself; closed after the test. */
export async function testSimulator(overrides: SimulatorOverrides = {}): Promise<Simulator> {
  const sim = await startSimulator(overrides)
  openSimulators.push(sim)
  return sim
}

/** After each test (see jest.config.js): no contract or security violation, then close. */
export async function closeTestHarnesses(): Promise<void> {
  await Promise.all(openSimulators.splice(0).map((sim) => sim.close()))
  for (const h of openHarnesses.splice(0)) {
    try {
      expectClean(h.sim)
    } finally {
      await tearDown(h)
    }
  }
}

/** The inputs of a normal run against the simulator; `extra` overrides or adds. */
export function inputsFor(h: Harness, extra: Record<string, string> = {}): Record<string, string> {
  return simulatorInputs(h.sim, h.pack, {
    'poll-interval': '0.2s',
    'processing-timeout': '20s',
    ...extra
  })
}

/** The simulator's requests that could have written something (everything but GETs). */
export const writes = (h: Harness) => h.sim.requests.filter((r) => r.method !== 'GET')

/** The ASSET upload files (archives) the simulator holds, in reservation order. */
export const assetFiles = (h: Harness) =>
  [...h.sim.store.uploadFiles.values()].filter((f) => f.assetType === 'ASSET')

/** Backoff waits shrink in tests so retries take milliseconds. */
export const FAST_RETRIES = { ASSET_PACK_RELEASE_BACKOFF_SCALE: '0.01' }

export function expectClean(sim: Simulator): void {
  expect(sim.contractViolations).toEqual([])
  expect(sim.securityViolations).toEqual([])
}

export interface Answer {
  status: number
  headers: Headers
  body: any
}

/** One API call with a valid token of the simulator's key (or `bearer` as given). */
export async function call(
  sim: Simulator,
  method: string,
  path: string,
  body?: unknown,
  bearer?: string | null
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (bearer !== null) headers.authorization = `Bearer ${bearer ?? (await token(sim.key))}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${sim.baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined
  }
}

/** Pack → version → reservation, through the API. */
export async function reserveUpload(sim: Simulator, size: number, identifier = IDENTIFIER) {
  const pack = await call(
    sim,
    'POST',
    '/v1/backgroundAssets',
    createPackBody(sim.appId, identifier)
  )
  const version = await call(
    sim,
    'POST',
    '/v1/backgroundAssetVersions',
    createVersionBody(pack.body.data.id)
  )
  const file = await call(
    sim,
    'POST',
    '/v1/backgroundAssetUploadFiles',
    reserveBody(version.body.data.id, size)
  )
  return {
    packId: pack.body.data.id as string,
    versionId: version.body.data.id as string,
    file: file.body.data
  }
}

/** PUTs every operation of a reservation with its headers and bytes from `content`. */
export async function putParts(
  file: any,
  content: Buffer,
  extraHeaders: Record<string, string> = {}
): Promise<number[]> {
  const statuses: number[] = []
  for (const op of file.attributes.uploadOperations) {
    const headers = Object.fromEntries(
      op.requestHeaders.map((h: { name: string; value: string }) => [h.name, h.value])
    )
    const r = await fetch(op.url, {
      method: op.method,
      headers: { ...headers, ...extraHeaders },
      body: content.subarray(op.offset, op.offset + op.length)
    })
    statuses.push(r.status)
  }
  return statuses
}

/** Bytes that start like an Apple Archive, so processing accepts them. */
export const archiveBytes = (size: number) =>
  Buffer.concat([Buffer.from('AA01'), Buffer.alloc(size - 4, 7)])

/** PUTs a reservation's parts and commits it with `uploaded: true` (and any other attributes). */
export async function uploadAndCommit(
  sim: Simulator,
  file: any,
  content: Buffer,
  attributes: Record<string, unknown> = {}
): Promise<Answer> {
  await putParts(file, content)
  return call(
    sim,
    'PATCH',
    `/v1/backgroundAssetUploadFiles/${file.id}`,
    commitBody(file.id, { uploaded: true, ...attributes })
  )
}
