// Long waits, rate limits and stalls, end to end through dist/index.js.
import { runAction } from '../../scripts/run-action.js'
import { FAST_RETRIES, inputsFor, setUp } from '../helpers/simulator.js'

test('tokens are renewed before they expire: a wait many token lifetimes long never meets a 401', async () => {
  const h = await setUp({ processing: { assetMs: 9000 } })
  // 5-second tokens against a 9-second processing wait.
  const run = await runAction(inputsFor(h, { 'poll-interval': '0.5s' }), {
    env: { ASSET_PACK_RELEASE_TOKEN_LIFETIME_SECONDS: '5' }
  })
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  expect(h.sim.requests.filter((r) => r.status === 401)).toEqual([])
  const signed = Number(/(\d+) token\(s\) signed/.exec(run.summary)?.[1])
  expect(signed).toBeGreaterThanOrEqual(3)
}, 60_000)

test('polling backs off up to poll-interval: a 6 s wait at a 2 s interval reads the version a handful of times', async () => {
  const h = await setUp({ processing: { assetMs: 6000 } })
  const run = await runAction(inputsFor(h, { 'poll-interval': '2s' }))
  expect(run.exitCode).toBe(0)
  const polls = h.sim.requests.filter(
    (r) => r.operationId === 'backgroundAssetVersions_getInstance'
  ).length
  expect(polls).toBeGreaterThanOrEqual(3)
  expect(polls).toBeLessThanOrEqual(6)
}, 60_000)

test('a low X-Rate-Limit budget slows the action down instead of running into 429s', async () => {
  // Other jobs with the same key have spent all but 170 of the 3500 requests of this hour.
  const h = await setUp({ rateLimitSpent: 3330 })
  const run = await runAction(inputsFor(h), { env: FAST_RETRIES })
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toMatch(
    /Rate limit budget low \(\d+ of 3500 requests left this hour\); waiting/
  )
  expect(h.sim.requests.filter((r) => r.status === 429)).toEqual([])
}, 60_000)

test('a part that stops moving is aborted after stall-timeout and sent again', async () => {
  const h = await setUp(
    { upload: { partSize: 32 * 1024 }, faults: { storageStallRate: 1 } },
    400_000
  )
  // The first parts stall; once one has, the storage behaves again.
  const healed = setInterval(() => {
    if (h.sim.faultsInjected.stall) h.sim.options.faults.storageStallRate = 0
  }, 5)
  const run = await runAction(inputsFor(h, { 'stall-timeout': '1s', 'manifest-path': '' }), {
    env: FAST_RETRIES
  })
  clearInterval(healed)
  expect(run.exitCode).toBe(0)
  expect(h.sim.faultsInjected.stall).toBeGreaterThan(0)
  expect(run.stdout).toMatch(/Part \d+: attempt 1 of \d+ failed \(no progress for 1 s\)/)
  expect(run.outputs.state).toBe('COMPLETE')
}, 60_000)
