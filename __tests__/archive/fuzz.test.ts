// Seeded fuzzing of the LZFSE decoder (unit tier: a few seconds). `npm run fuzz` runs far more.
import { FuzzFailure, SeededRandom, fuzzTargets, mutate, runFuzz } from '../helpers/fuzz.js'

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

describe('LZFSE decoder under fuzzing', () => {
  it('decodes or cleanly refuses thousands of mutated streams', () => {
    const report = runFuzz({ targets: fuzzTargets(), iterations: 3000, seed: 20240601 })
    for (const counts of Object.values(report.targets)) {
      expect(counts.cases).toBe(3000)
      expect(counts.accepted + counts.refused).toBe(counts.cases)
      expect(counts.refused).toBeGreaterThan(0)
    }
    // Some mutations leave a stream valid (bytes after a literal-only change, say).
    expect(report.targets['lzfse'].accepted).toBeGreaterThan(0)
  })
})
