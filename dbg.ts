import { runAction } from './scripts/run-action.js'
import { setUp, inputsFor, tearDown } from './__tests__/helpers/simulator.js'
for (const seed of [7, 8, 9, 10]) {
const h = await setUp({ upload: { partSize: 16 * 1024 }, faults: { seed, storageFailureRate: 0.15, storageResetRate: 0.1, rateLimitBurst: { probability: 0.1, length: 2 } } }, 400_000)
const run = await runAction(inputsFor(h), { env: { ASSET_PACK_RELEASE_BACKOFF_SCALE: '0.01' } })
console.log(seed, run.exitCode, run.stdout.split('\n').filter(l => l.startsWith('::error')).join(' '))
if (run.exitCode) console.log(h.sim.requests.filter(r => r.path.startsWith('/storage')).map(r => `${r.path.split('/')[3]}:${r.status}`).join(' '))
await tearDown(h)
}
