// Every fault switch of the simulator in one place: which request gets a 429 burst, an injected
// status or a lost answer, which storage PUT stalls, resets or fails, the latency before every
// answer, and which pack's processing is delayed. Each injected fault is counted by kind. A new
// fault is an option (options.ts) and a method here.
import type { FaultPolicy, RequestMatcher } from './options.js'
import type { Random } from './random.js'

function matches(m: RequestMatcher, method: string, path: string, template?: string): boolean {
  return m.method.toUpperCase() === method && (m.path === path || m.path === template)
}

export class Faults {
  /** Counts of injected faults by kind. */
  readonly injected: Record<string, number> = {}
  private burstUntil = 0

  constructor(
    /** Live: tests may change the switches between runs. */
    private readonly policy: FaultPolicy,
    private readonly random: Random
  ) {}

  private count(kind: string): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1
  }

  /** Added before every answer, API and storage. */
  get latencyMs(): number {
    return this.policy.latencyMs
  }

  /**
   * A 429 burst: a stretch of time in which every request is refused, as a per-minute limiter
   * does when a short spike spends the minute (the hour's budget is still there).
   */
  rateLimitBurst(): boolean {
    const { probability, durationMs } = this.policy.rateLimitBurst
    if (Date.now() >= this.burstUntil && !this.random.chance(probability)) return false
    if (Date.now() >= this.burstUntil) this.burstUntil = Date.now() + durationMs
    this.count('429')
    return true
  }

  /** A status to answer this API call with before it runs (a 5xx, usually). */
  injectedStatus(method: string, path: string, template: string): number | undefined {
    const fault = this.policy.injectStatus.find(
      (f) => f.times > 0 && matches(f, method, path, template)
    )
    if (!fault) return undefined
    fault.times--
    this.count(`status ${fault.status}`)
    return fault.status
  }

  /** Whether this API call runs (and creates) and then loses its connection without an answer. */
  dropsResponse(method: string, path: string, template: string): boolean {
    const fault = this.policy.dropResponse.find(
      (f) => f.times > 0 && matches(f, method, path, template)
    )
    if (!fault) return false
    fault.times--
    this.count('dropped response')
    return true
  }

  /** A storage PUT the storage stops reading and never answers. */
  storageStalls(): boolean {
    const stalls = this.random.chance(this.policy.storageStallRate)
    if (stalls) this.count('stall')
    return stalls
  }

  /** After how many body bytes a storage PUT's connection is reset, if it is. */
  storageResetAfter(length: number): number | undefined {
    if (!this.random.chance(this.policy.storageResetRate)) return undefined
    this.count('connection reset')
    return this.random.int(0, length - 1)
  }

  /** A storage PUT answered 500 after its body was read. */
  storageFails(): boolean {
    const fails = this.random.chance(this.policy.storageFailureRate)
    if (fails) this.count('storage 500')
    return fails
  }

  /** Extra processing time for the pack with this identifier (0 for the others). */
  processingDelayMs(identifier: string): number {
    const delay = this.policy.processingDelay
    if (!delay || delay.identifier !== identifier) return 0
    this.count('processing delay')
    return delay.ms
  }
}
