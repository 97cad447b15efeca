// Seeded fuzzing of the LZFSE decoder and the whole archive read (unit tier: a few seconds).
// `npm run fuzz` runs far more.
import { ftruncateSync, openSync, closeSync, writeSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readArchive } from '../../src/archive/index.js'
import {
  FuzzFailure,
  SeededRandom,
  archiveFuzzTargets,
  lzfseFuzzTargets,
  mutate,
  mutateArchive,
  runFuzz,
  runFuzzAsync,
  type AsyncFuzzTarget
} from '../helpers/fuzz.js'

describe('fuzz harness', () => {
  it('mutates the same way for the same seed, and leaves the input alone', () => {
    const input = new Uint8Array(64).map((_, i) => i)
    const runs = [1, 1, 2].map((seed) => {
      const random = new SeededRandom(seed)
      return Array.from({ length: 20 }, () => Buffer.from(mutate(random, input)).toString('hex'))
    })
    expect(runs[0]).toEqual(runs[1])
    expect(runs[0]).not.toEqual(runs[2])
    expect(input).toEqual(new Uint8Array(64).map((_, i) => i))
  })

  it('fails on an exception that is not a clean refusal', () => {
    class Refusal extends Error {}
    const target = {
      name: 'fragile',
      seeds: [new Uint8Array(16)],
      cleanErrors: [Refusal],
      run(input: Uint8Array) {
        if (input.length > 16) throw new RangeError('deep inside')
        if (input.length < 16) throw new Refusal('short')
      }
    }
    expect(() => runFuzz({ targets: [target], iterations: 200, seed: 1 })).toThrow(FuzzFailure)
    expect(() => runFuzz({ targets: [target], iterations: 200, seed: 1 })).toThrow(
      /unexpected RangeError: deep inside/
    )
  })

  it('fails on a case that takes too long', () => {
    const target = {
      name: 'slow',
      seeds: [new Uint8Array(4)],
      cleanErrors: [],
      run() {
        const until = performance.now() + 30
        while (performance.now() < until);
      }
    }
    expect(() => runFuzz({ targets: [target], iterations: 3, seed: 1, caseLimitMs: 10 })).toThrow(
      /took \d+ ms \(suspected hang\)/
    )
  })

  it('fails on memory that keeps growing', () => {
    const kept: Uint8Array[] = []
    const target = {
      name: 'leaky',
      seeds: [new Uint8Array(4)],
      cleanErrors: [],
      run() {
        kept.push(new Uint8Array(1024 * 1024))
      }
    }
    const memoryLimitBytes = 16 * 1024 * 1024
    expect(() => runFuzz({ targets: [target], iterations: 64, seed: 1, memoryLimitBytes })).toThrow(
      /memory grew by \d+ bytes/
    )
  })
})

describe('fuzz harness, asynchronous targets', () => {
  const target = (run: AsyncFuzzTarget['run']): AsyncFuzzTarget => ({
    name: 'async',
    seeds: [new Uint8Array(16)],
    cleanErrors: [],
    async: true,
    run
  })

  it('counts what a case resolves, and runs synchronous targets as runFuzz does', async () => {
    const report = await runFuzzAsync({
      targets: [
        target(async (input) => (input.length === 16 ? 'accepted' : 'refused')),
        ...lzfseFuzzTargets()
      ],
      iterations: 200,
      seed: 1
    })
    const { async, ...lzfse } = report.targets
    expect(async.cases).toBe(200)
    expect(async.accepted + async.refused).toBe(200)
    expect(async.refused).toBeGreaterThan(0)
    expect(lzfse).toEqual(
      runFuzz({ targets: lzfseFuzzTargets(), iterations: 200, seed: 1 }).targets
    )
  })

  it('fails on a rejection, which no async target refuses with', async () => {
    const fragile = target(async (input) => {
      if (input.length > 16) throw new RangeError('deep inside')
      return 'accepted'
    })
    await expect(runFuzzAsync({ targets: [fragile], iterations: 200, seed: 1 })).rejects.toThrow(
      /unexpected RangeError: deep inside/
    )
  })

  it('fails on a case whose promise never settles, and closes the targets', async () => {
    let closed = 0
    const stuck = {
      ...target(() => new Promise<never>(() => {})),
      close: async () => void closed++
    }
    await expect(
      runFuzzAsync({ targets: [stuck], iterations: 3, seed: 1, hangLimitMs: 20 })
    ).rejects.toThrow(/case 0 .*did not settle within 20 ms \(it hangs\)/)
    expect(closed).toBe(1)
  })

  it('runFuzz refuses an asynchronous target', () => {
    const targets = [target(async () => 'accepted')] as never[]
    expect(() => runFuzz({ targets, iterations: 1, seed: 1 })).toThrow(/use runFuzzAsync/)
  })
})

describe('LZFSE decoder under fuzzing', () => {
  it('decodes or cleanly refuses thousands of mutated streams', () => {
    const report = runFuzz({ targets: lzfseFuzzTargets(), iterations: 3000, seed: 20240601 })
    for (const counts of Object.values(report.targets)) {
      expect(counts.cases).toBe(3000)
      expect(counts.accepted + counts.refused).toBe(counts.cases)
      expect(counts.refused).toBeGreaterThan(0)
    }
    // Some mutations leave a stream valid (bytes after a literal-only change, say).
    expect(report.targets['lzfse'].accepted).toBeGreaterThan(0)
  })
})

describe('archive read under fuzzing', () => {
  it('reads or refuses with a problem thousands of mutated archives', async () => {
    const report = await runFuzzAsync({
      targets: await archiveFuzzTargets(),
      iterations: 500,
      seed: 20240601
    })
    expect(Object.keys(report.targets)).toEqual([
      'archive (raw)',
      'archive (pbze)',
      'archive (pbzz)',
      'archive (pbze, LZFSE vectors)'
    ])
    for (const counts of Object.values(report.targets)) {
      expect(counts.cases).toBe(500)
      expect(counts.accepted + counts.refused).toBe(counts.cases)
      expect(counts.refused).toBeGreaterThan(0)
      expect(counts.accepted).toBeGreaterThan(0)
    }
  })

  it('mutates archives the same way for the same seed, down to every layer of the read', async () => {
    const targets = await archiveFuzzTargets()
    const [pbze] = targets[1].seeds
    const runs = [1, 1].map((seed) => {
      const random = new SeededRandom(seed)
      return Array.from({ length: 20 }, () =>
        Buffer.from(mutateArchive(random, pbze)).toString('hex')
      )
    })
    expect(runs[0]).toEqual(runs[1])
    // The problems found: the chain, a block's decoding and the entry walk each refuse some cases.
    const dir = await mkdtemp(join(tmpdir(), 'fuzz-layers-'))
    const path = join(dir, 'case.aar')
    const fd = openSync(path, 'w+')
    const found = new Set<string>()
    try {
      const random = new SeededRandom(7)
      for (let i = 0; i < 400; i++) {
        const input = mutateArchive(random, pbze)
        writeSync(fd, input, 0, input.length, 0)
        ftruncateSync(fd, input.length)
        const read = await readArchive(path, input.length)
        if (!('problem' in read)) continue
        if (/ whose block \d+ of \d+ .* is damaged: /.test(read.problem)) found.add('block')
        else if (/ whose decoded entry stream /.test(read.problem)) found.add('entries')
        else found.add('chain')
      }
    } finally {
      closeSync(fd)
      await rm(dir, { recursive: true, force: true })
      for (const target of targets) await target.close?.()
    }
    expect([...found].sort()).toEqual(['block', 'chain', 'entries'])
    expect(pbze).toEqual(targets[1].seeds[0])
  })
})
