// 48 consecutive runs under faults: all COMPLETE, bytes verified, one version per release even
// when a re-run attempt rebuilt the archive.
import { runSoak } from '../../scripts/soak.js'

test('soak: 48 runs (16 releases, re-run attempts with rebuilt archives) under storage 5xx, resets, 429 bursts, lost creates and latency', async () => {
  const report = await runSoak({ runs: 48 })
  console.log(`soak: ${JSON.stringify({ ...report, failures: report.failures.length })}`)
  expect(report.failures).toEqual([])
  expect(report.completed).toBe(48)
  expect(report.releases).toBe(16)
  expect(report.versions).toBe(16)
  expect(report.reused).toBe(32)
  expect(report.duplicated).toBe(0)
  expect(report.faults['storage 500']).toBeGreaterThan(0)
  expect(report.faults['connection reset']).toBeGreaterThan(0)
  expect(report.faults['429']).toBeGreaterThan(0)
  expect(report.faults['dropped response']).toBe(4)
}, 180_000)
