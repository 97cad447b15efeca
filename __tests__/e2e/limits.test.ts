// Apple's limits, known before a byte is sent: 200 GB hosted per app, 100 asset packs per app, and
// the per-minute rate limit's bursts. End to end through dist/index.js against the simulator.
import { join } from 'node:path'
import { runAction } from '../../scripts/run-action.js'
import { writeSparseArchive } from '../../scripts/sample-pack.js'
import type { SeededPack } from '../../simulator/index.js'
import { writes, IDENTIFIER, inputsFor, setUp, type Harness } from '../helpers/simulator.js'

/** A pack already hosting `bytes` (one COMPLETE version of that size). */
const hosting = (identifier: string, bytes: number): SeededPack => ({
  identifier,
  versions: [{ state: 'COMPLETE', archive: { fileSize: bytes, md5: '0'.repeat(32) } }]
})

/** A sparse archive of `size` bytes in the harness's folder. */
async function sparseArchive(h: Harness, size: number): Promise<string> {
  const path = join(h.dir, 'big.aar')
  await writeSparseArchive(path, size)
  return path
}

test('an app at 199.9 GB refuses a 200 MB archive before any write, with the figures', async () => {
  const h = await setUp({
    packs: [hosting('voices', 99.95e9), hosting('textures', 99.95e9), hosting(IDENTIFIER, 0)]
  })
  const run = await runAction(inputsFor(h, { 'archive-path': await sparseArchive(h, 200e6) }))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(
    /::error::archive-path: with this archive the app would use 200\.1 GB of Apple's 200 GB \(now 199\.9 GB\)\. .*archive old packs or versions/
  )
  expect(writes(h)).toEqual([])
  // One listing of the app's packs, with only the fields the check needs.
  const listings = h.sim.requests.filter((r) => r.path.endsWith('/backgroundAssets'))
  expect(listings).toHaveLength(1)
  expect(decodeURIComponent(listings[0].query)).toContain(
    'fields[backgroundAssets]=archived,assetPackIdentifier,usedBytes'
  )
  expect(run.summary).toContain('200.1 GB of 200 GB (100 %) with this archive')
})

test('an app at 170 GB warns with the figures and releases', async () => {
  const h = await setUp({ packs: [hosting('voices', 170e9)] })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  expect(run.stdout).toMatch(
    // (The runner's command syntax escapes % as %25.)
    /::warning title=Asset pack storage over 80 %25::With this archive the app uses 170\.0 GB of Apple's 200 GB \(85 %25; now 170\.0 GB\)/
  )
  expect(run.summary).toContain(
    '170.0 GB of 200 GB (85 %) with this archive · 2 of 100 asset packs'
  )
})

test('the largest counted version is the pack’s figure: a bigger archive raises it, a smaller does not', async () => {
  // 190 GB elsewhere; this pack hosts 9.9 GB. A 300 KB archive keeps the app at 199.9 GB...
  const h = await setUp({ packs: [hosting('voices', 190e9), hosting(IDENTIFIER, 9.9e9)] })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.summary).toContain('199.9 GB of 200 GB (100 %) with this archive')
  // ...and the simulator's usedBytes is the largest COMPLETE version, not the newest.
  const pack = [...h.sim.store.packs.values()].find((p) => p.identifier === IDENTIFIER)!
  expect(h.sim.store.usedBytes(pack)).toBe(9.9e9)
})

test('the 101st asset pack is refused before the create', async () => {
  const packs = Array.from({ length: 100 }, (_, i) => ({ identifier: `level-${i + 1}` }))
  const h = await setUp({ packs })
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(
    /::error::asset-pack-identifier: app \d+ already has 100 asset packs; with 'forest-level-2' it would have 101, over Apple's limit of 100 per app/
  )
  expect(writes(h)).toEqual([])
  // 100 packs take one page of 200: still one listing.
  expect(h.sim.requests.filter((r) => r.path.endsWith('/backgroundAssets'))).toHaveLength(1)
})

test('a per-minute 429 burst is survived with waits of seconds, not the hourly pace', async () => {
  const h = await setUp({
    rateLimitPerMinute: 600,
    faults: { rateLimitBurst: { probability: 0.25, durationMs: 1500 } }
  })
  // Real backoff (no test scaling): the waits the log names are the ones a user would see.
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  expect(h.sim.faultsInjected['429']).toBeGreaterThan(0)
  const retries = run.stdout.split('\n').filter((l) => l.includes('429 rate limit'))
  expect(retries.length).toBeGreaterThan(0)
  for (const line of retries) {
    // A burst, named with the low budget (the minute's), the hour's budget untouched...
    expect(line).toMatch(/429 rate limit, a short burst: 0 of 600 requests left this minute/)
    // ...and waits of at most 8 s.
    expect(Number(/retrying in ([\d.]+) s/.exec(line)![1])).toBeLessThanOrEqual(8)
  }
})
