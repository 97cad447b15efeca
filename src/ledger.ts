// The resume ledger: a small JSON record per (app, pack, archive) kept in the Actions cache, so a
// re-run after a failure or a cancellation sends only the parts not yet sent. It is a hint:
// everything it names is re-read from App Store Connect before use, and without a cache service
// (local runs, ACTIONS_CACHE_MODE=none, no runtime token, write denied) the action works the
// same, without resume.
import * as log from './log.js'
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as core from '@actions/core'
import { request } from 'undici'
import type { DeliveryOptions } from './delivery.js'
import { loadCacheClient } from './bundles/loader.js'
import { cancellation } from './cancellation.js'
import { describeCause } from './errors.js'
import type { ActionInputs } from './inputs.js'
import type { ArchiveFile } from './pack-entries.js'

export interface LedgerRecord {
  schema: 1
  appId: string
  assetPackIdentifier: string
  /** The archive's size and sampled SHA-256 (see fingerprintArchive). */
  fingerprint: string
  versionId?: string
  uploadFileId?: string
  /** Part numbers of uploadFileId that the storage accepted. */
  sentParts: number[]
  runId: string
  runAttempt: string
  updatedAt: string
}

const SCHEMA = 1
/** A restore or save that takes longer is abandoned: the cache must never hold up a release. */
const CACHE_CALL_TIMEOUT_MS = 10_000
/** During an upload, progress is saved at most this often. */
const LEDGER_SAVE_INTERVAL_MS = 30_000
const PROBE_TIMEOUT_MS = 3000

/**
 * Where the ledger lives while the run goes on, relative to the workspace (the job's working
 * directory). @actions/cache hashes the path strings into every entry's version, so an absolute
 * path such as $RUNNER_TEMP/… would make a re-run on a runner with another temp folder miss the
 * entry; a relative path is the same string on every machine. One folder per asset pack of the
 * run, in it. Removed when the run ends.
 */
const LEDGER_DIR = '.asset-pack-release-ledger'

const SAMPLES = 16
const SAMPLE_SIZE = 64 * 1024

/**
 * The archive's identity for the cache key, without reading it whole: its size and the SHA-256
 * of 16 evenly spaced 64 KiB samples. Two archives that differ only between samples share a
 * key; that is safe, because the commit verifies the full checksum of the bytes Apple received.
 */
async function fingerprintArchive(path: string, size: number): Promise<string> {
  const hash = createHash('sha256').update(String(size))
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(SAMPLE_SIZE)
    for (let i = 0; i < SAMPLES; i++) {
      const position = Math.max(0, Math.floor(((size - SAMPLE_SIZE) * i) / (SAMPLES - 1)))
      const { bytesRead } = await file.read(buffer, 0, SAMPLE_SIZE, position)
      hash.update(buffer.subarray(0, bytesRead))
    }
  } finally {
    await file.close()
  }
  return `${size}-${hash.digest('hex').slice(0, 32)}`
}

/** Why the cache cannot be used here, or undefined when it can. */
async function unavailableBecause(): Promise<string | undefined> {
  const mode = process.env.ACTIONS_CACHE_MODE
  if (mode === 'none' || mode === 'read') return `ACTIONS_CACHE_MODE is ${mode}`
  // Decided from the environment first: loading the client costs memory that most runs never need.
  const service = process.env.ACTIONS_RESULTS_URL ?? process.env.ACTIONS_CACHE_URL ?? ''
  if (!service) return 'no cache service in this environment'
  if (!process.env.ACTIONS_RUNTIME_TOKEN) return 'no ACTIONS_RUNTIME_TOKEN'
  const cache = await loadCacheClient()
  if (typeof cache.isFeatureAvailable !== 'function' || !cache.isFeatureAvailable())
    return 'no cache service in this environment'
  // A service that cannot be reached would cost a warning per call (and retries): ask once.
  try {
    const response = await request(new URL(service).origin, {
      method: 'HEAD',
      headersTimeout: PROBE_TIMEOUT_MS,
      bodyTimeout: PROBE_TIMEOUT_MS,
      signal: cancellation
    })
    await response.body.dump()
  } catch (error) {
    return `the cache service does not answer: ${describeCause(error)}`
  }
  return undefined
}

async function withTimeout<T>(what: string, promise: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      log.info(
        `Resume ledger: ${what} took over ${CACHE_CALL_TIMEOUT_MS / 1000} s; going on without it.`
      )
      resolve(undefined)
    }, CACHE_CALL_TIMEOUT_MS)
  })
  // Cancellation does not wait for the cache either.
  const cancelled = new Promise<undefined>((resolve) =>
    cancellation.addEventListener('abort', () => resolve(undefined), { once: true })
  )
  try {
    return await Promise.race([promise, timeout, cancelled])
  } catch (error) {
    log.info(`Resume ledger: ${what} failed (${describeCause(error)}); going on without it.`)
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

export class Ledger {
  private saves = 0
  private saving: Promise<void> = Promise.resolve()
  private lastSave = 0
  private dirty = false
  /** The ledger folder was made in the workspace (the cache was usable at the start). */
  private readonly madeDir: boolean

  private constructor(
    /** What the previous run left, as restored (not yet checked against the API). */
    readonly restored: LedgerRecord | undefined,
    private record: LedgerRecord,
    private readonly dir: string,
    private readonly keyPrefix: string,
    /** Off without a cache service, and after the first save the cache refused or failed. */
    private enabled: boolean
  ) {
    this.madeDir = enabled
  }

  // Long on purpose: the restore is a sequence of guards (no cache, miss, unreadable, another
  // version), each with its own log line; splitting it would scatter what the log says.
  /** Restores the newest ledger of this (app, pack, archive), if the cache has one. */
  static async restore(
    { appId, assetPackIdentifier }: Pick<ActionInputs, 'appId' | 'assetPackIdentifier'>,
    archive: ArchiveFile,
    versionId: string
  ): Promise<Ledger> {
    const fingerprint = await fingerprintArchive(archive.path, archive.size)
    const runId = process.env.GITHUB_RUN_ID ?? 'local'
    const runAttempt = process.env.GITHUB_RUN_ATTEMPT ?? '1'
    const dir = join(LEDGER_DIR, assetPackIdentifier)
    const keyPrefix = `asset-pack-release-ledger-v${SCHEMA}-${appId}-${assetPackIdentifier}-${fingerprint}-`
    const fresh: LedgerRecord = {
      schema: SCHEMA,
      appId,
      assetPackIdentifier,
      fingerprint,
      versionId,
      sentParts: [],
      runId,
      runAttempt,
      updatedAt: new Date().toISOString()
    }
    const reason = await unavailableBecause()
    if (reason) {
      log.info(`Resume ledger off (${reason}): a re-run starts its upload over.`)
      return new Ledger(undefined, fresh, dir, keyPrefix, false)
    }
    await mkdir(dir, { recursive: true })
    // "latest" never prefix-matches a saved key (those continue with the run ID's digits).
    const hit = await withTimeout(
      'restore',
      loadCacheClient().then((cache) =>
        cache.restoreCache([dir], `${keyPrefix}latest`, [keyPrefix])
      )
    )
    let restored: LedgerRecord | undefined
    if (hit) {
      try {
        const parsed = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8')) as LedgerRecord
        if (
          parsed.schema === SCHEMA &&
          parsed.fingerprint === fingerprint &&
          parsed.appId === appId &&
          parsed.assetPackIdentifier === assetPackIdentifier
        )
          restored = parsed
      } catch {
        // A damaged entry is no ledger.
      }
      log.info(
        restored
          ? `Resume ledger restored from ${hit} (run ${restored.runId}, attempt ${restored.runAttempt}).`
          : `Resume ledger ${hit} is unreadable; ignoring it.`
      )
      if (restored && restored.versionId !== versionId) {
        log.info(
          `The ledger is about version ${restored.versionId}, not ${versionId}; it is not used.`
        )
        restored = undefined
      }
    } else if (Number(runAttempt) > 1) {
      // A re-run expected one: an evicted entry, or an archive rebuilt with other bytes.
      log.info(
        `No resume ledger for this archive although this is attempt ${runAttempt} of run ${runId}: the cache evicted it, or the archive has other bytes than before (rebuilt). Parts are sent from the start.`
      )
    } else {
      log.info('No resume ledger for this archive yet.')
    }
    return new Ledger(restored, fresh, dir, keyPrefix, true)
  }

  get current(): Readonly<LedgerRecord> {
    return this.record
  }

  /** Whether saves reach a cache (for the summary's advice on re-runs). */
  get active(): boolean {
    return this.enabled
  }

  /** What deliverFile needs to resume from this ledger and to keep it up to date. */
  hooks(): Pick<DeliveryOptions, 'resume' | 'onReserved' | 'onPartSent'> {
    const { uploadFileId, sentParts } = this.restored ?? {}
    return {
      resume: uploadFileId && sentParts ? { uploadFileId, sentParts } : undefined,
      onReserved: (id, sent) => this.update({ uploadFileId: id, sentParts: sent }),
      onPartSent: (n) => this.partSent(n)
    }
  }

  /** Records a milestone and saves it. */
  update(patch: Partial<LedgerRecord>): void {
    this.record = { ...this.record, ...patch, updatedAt: new Date().toISOString() }
    this.dirty = true
    this.save()
  }

  /** Records a sent part; saved at most every LEDGER_SAVE_INTERVAL_MS while parts go out. */
  partSent(partNumber: number): void {
    this.record.sentParts.push(partNumber)
    this.dirty = true
    if (Date.now() - this.lastSave >= LEDGER_SAVE_INTERVAL_MS) this.save()
  }

  /** The upload was committed: nothing is left to resume, so nothing more needs saving. */
  settled(): void {
    this.dirty = false
  }

  /** Saves what is not saved yet, waits (bounded) for every save to end, then tidies up. */
  async flush(): Promise<void> {
    if (this.dirty) this.save()
    await this.saving
    // The workspace belongs to the job's other steps: leave nothing behind.
    if (!this.madeDir) return
    await rm(this.dir, { recursive: true, force: true })
    // The last pack's flush removes the shared folder; the others find it not yet empty.
    await rmdir(LEDGER_DIR).catch(() => undefined)
  }

  /** Each save is a new cache entry: entries are immutable, and the newest wins on restore. */
  private save(): void {
    if (!this.enabled) return
    this.lastSave = Date.now()
    this.dirty = false
    const snapshot = JSON.stringify(this.record, null, 2)
    const key = `${this.keyPrefix}${this.record.runId}-${this.record.runAttempt}-${++this.saves}`
    this.saving = this.saving.then(async () => {
      const file = join(this.dir, 'ledger.json')
      await writeFile(`${file}.tmp`, snapshot)
      await rename(`${file}.tmp`, file)
      if (!this.enabled) return
      const id = await withTimeout(
        'save',
        loadCacheClient().then((cache) => cache.saveCache([this.dir], key))
      )
      if (id === undefined || id === -1) {
        // One line, once: the next saves would meet the same refusal.
        this.enabled = false
        if (id === -1)
          log.info(
            'Resume ledger not saved: the cache refused it (the job needs `actions: write` and cache-mode write). A re-run starts its upload over.'
          )
      } else {
        core.debug(`Resume ledger saved as ${key}`)
      }
    })
  }
}
