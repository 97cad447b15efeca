// A 4 GiB archive through the action and the simulator: both keep flat memory (parts streamed
// from disk by the action, spooled to disk by the storage, hashed as they pass).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../simulator/index.js'
import { MEMORY_WINDOW } from '../../simulator/assembly.js'
import { runAction, simulatorInputs } from '../../scripts/run-action.js'
import { writeSparseArchive } from '../../scripts/sample-pack.js'

const SIZE = 4 * 1024 ** 3
const MiB = 1024 ** 2

test('a 4 GiB upload verifies with flat memory on both sides', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'large-upload-'))
  const sim = await startSimulator({ validateContract: true, upload: { partSize: 64 * MiB } })
  try {
    // A sparse file: one Apple Archive entry whose contents are zeros up to 4 GiB.
    const path = join(dir, 'huge.aar')
    await writeSparseArchive(path, SIZE)
    const baseline = process.memoryUsage().rss
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
    const run = await runAction(
      simulatorInputs(sim, { identifier: 'huge', archivePath: path }, { 'poll-interval': '0.5s' }),
      { timeoutMs: 600_000 }
    )
    clearInterval(sampler)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.state).toBe('COMPLETE')
    const [archive] = [...sim.store.uploadFiles.values()]
    expect(archive.fileSize).toBe(SIZE)
    expect(archive.committedChecksums?.file?.hash).toBe(run.outputs['archive-md5'])
    // The storage never held more than its window of part bytes in memory while receiving 4 GiB
    // (its process RSS is logged, not asserted: the jest worker's GC decides when it shrinks)...
    expect(archive.assembly!.peakInMemory).toBeGreaterThan(0)
    expect(archive.assembly!.peakInMemory).toBeLessThanOrEqual(MEMORY_WINDOW)
    // ...and the action's peak stayed far below the archive's size.
    expect(run.peakRssBytes).toBeLessThan(300 * MiB)
    console.log(
      `4 GiB: action peak RSS ${(run.peakRssBytes! / MiB).toFixed(0)} MiB, simulator growth ${((peak - baseline) / MiB).toFixed(0)} MiB, ${(run.durationMs / 1000).toFixed(1)} s`
    )
    expect(sim.contractViolations).toEqual([])
  } finally {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  }
}, 600_000)
