// 50 consecutive runs under faults: all COMPLETE, bytes verified, one version per archive.
import { runSoak } from '../scripts/soak.js'

test('soak: 50 runs under storage 5xx, resets, 429 bursts, lost creates and latency', async () => {
  const report = await runSoak({ runs: 50 })
  console.log(`soak: ${JSON.stringify({ ...report, failures: report.failures.length })}`)
  expect(report.failures).toEqual([])
  expect(report.completed).toBe(50)
  expect(report.distinctArchives).toBe(25)
  expect(report.versions).toBe(25)
  expect(report.reused).toBe(25)
  expect(report.duplicated).toBe(0)
  expect(report.faults['storage 500']).toBeGreaterThan(0)
  expect(report.faults['connection reset']).toBeGreaterThan(0)
  expect(report.faults['429']).toBeGreaterThan(0)
  expect(report.faults['dropped response']).toBe(5)
}, 180_000)
