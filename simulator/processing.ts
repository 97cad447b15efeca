// Processing after a commit, on timers: a MANIFEST's verdict (JSON, the documented fields, the
// pack's identifier, Apple's reported errors) and the platforms and locale it gives its version;
// an ASSET's (the archive read whole as Apple reads it, the Manifest.json inside speaking for the
// version; only its signature beyond a size; or the failure a test asked for); and the internal
// beta release a COMPLETE version becomes.
import { readFile } from 'node:fs/promises'
import { readArchive } from '../src/archive/index.js'
import type { Faults } from './faults.js'
import type { SimulatorContext } from './context.js'
import type { Platform, StateMessage } from './options.js'
import type { UploadFileRecord, VersionRecord } from './store.js'

const MANIFEST_PLATFORMS: Record<string, Platform> = {
  iOS: 'IOS',
  macOS: 'MAC_OS',
  tvOS: 'TV_OS',
  visionOS: 'VISION_OS'
}
const ARCHIVE_SIGNATURES = ['AA01', 'YAA1', 'pbz']
/**
 * Archives up to this size are read whole; larger ones (the benchmark's gigabytes) are checked by
 * signature only, so the simulator stays fast and flat in memory.
 */
export const READ_ARCHIVES_UP_TO = 64 * 1024 * 1024
// A BCP-47 tag as far as a manifest's `language` goes: a language, an optional script, an optional
// region (`fr`, `es-US`, `zh-Hant`, `zh-Hans-VN`); no variants or extensions.
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?$/

/** Whether processing reads the whole file after its commit (the storage then keeps a copy). */
export function readsWhole(file: Pick<UploadFileRecord, 'assetType' | 'fileSize'>): boolean {
  return file.assetType === 'MANIFEST' || file.fileSize <= READ_ARCHIVES_UP_TO
}

export class Processing {
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Verdicts being given: closing waits for them, so their spool files are not removed under them. */
  private readonly running = new Set<Promise<void>>()

  constructor(
    private readonly sim: SimulatorContext,
    private readonly faults: Faults
  ) {}

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    await Promise.all(this.running)
  }

  /** A committed file: a MANIFEST gets its verdict, an ASSET makes its version PROCESSING, then COMPLETE or FAILED. */
  start(file: UploadFileRecord): void {
    const version = this.sim.store.versions.get(file.versionId)!
    const { processing } = this.sim.options
    if (file.assetType === 'MANIFEST') {
      this.later(processing.manifestMs, () => this.checkManifest(file, version))
      return
    }
    version.assetFileId = file.id
    version.state = 'PROCESSING'
    if (processing.neverFinish) return
    const pack = this.sim.store.packs.get(version.packId)!
    this.later(processing.assetMs + this.faults.processingDelayMs(pack.identifier), async () => {
      const failWith =
        processing.failWith?.identifier === undefined ||
        processing.failWith.identifier === pack.identifier
          ? processing.failWith
          : undefined
      const errors: StateMessage[] = [
        ...(failWith?.errors ?? []),
        ...(await this.checkArchive(file, version, pack.identifier))
      ]
      // The bytes go before the verdict is out: whoever sees the verdict finds them gone.
      await file.assembly?.discard()
      if (errors.length) {
        version.state = 'FAILED'
        version.stateDetails = {
          errors,
          warnings: failWith?.warnings ?? [],
          infos: failWith?.infos ?? []
        }
        file.deliveryState = 'FAILED'
        file.errors = errors
      } else {
        version.state = 'COMPLETE'
        if (!version.platforms.length) version.platforms = this.sim.options.defaultPlatforms
        file.deliveryState = 'COMPLETE'
        this.release(version)
      }
    })
  }

  /**
   * The archive as Apple's processing reads it: a damaged one fails, and the Manifest.json inside
   * sets the version's platforms and locale. It does so even after a MANIFEST preflight: the
   * archive's manifest is what ships, the preflight only a check. Contents with no decoder here
   * (LZMA) are checked as far as their block chain; archives beyond READ_ARCHIVES_UP_TO by their
   * signature only.
   */
  private async checkArchive(
    file: UploadFileRecord,
    version: VersionRecord,
    identifier: string
  ): Promise<StateMessage[]> {
    const { wholePath, head } = file.assembly!
    if (!wholePath) {
      const signature = head.toString('latin1')
      if (ARCHIVE_SIGNATURES.some((s) => signature.startsWith(s))) return []
      return [
        {
          code: 'ASSET_PACK_INVALID_ARCHIVE',
          description: `${file.fileName} is not an Apple Archive (.aar) produced by ba-package.`
        }
      ]
    }
    const reading = await readArchive(wholePath, file.fileSize)
    if ('problem' in reading)
      return [
        { code: 'ASSET_PACK_INVALID_ARCHIVE', description: `${file.fileName} ${reading.problem}` }
      ]
    return reading.manifest ? applyManifest(version, reading.manifest.value, identifier) : []
  }

  private async checkManifest(file: UploadFileRecord, version: VersionRecord): Promise<void> {
    const pack = this.sim.store.packs.get(version.packId)!
    file.receivedText = (await readFile(file.assembly!.wholePath!)).toString('utf8')
    let errors: StateMessage[]
    try {
      const parsed: unknown = JSON.parse(file.receivedText)
      errors = applyManifest(version, parsed, pack.identifier)
    } catch (e) {
      errors = [
        {
          code: 'MANIFEST_INVALID_JSON',
          description: `The manifest is not valid JSON: ${(e as Error).message}`
        }
      ]
    }
    file.errors = errors
    file.deliveryState = errors.length ? 'FAILED' : 'COMPLETE'
    if (!errors.length) version.manifestFileId = file.id
    await file.assembly?.discard()
  }

  /** A processed version becomes the pack's internal beta version; the previous one is superseded. */
  release(version: VersionRecord): void {
    const pack = this.sim.store.packs.get(version.packId)!
    const previous = pack.internalBetaVersionId
      ? this.sim.store.versions.get(pack.internalBetaVersionId)
      : undefined
    if (previous && previous.number > version.number) return
    if (previous?.internalBetaReleaseId)
      this.sim.store.internalBetaReleases.get(previous.internalBetaReleaseId)!.state = 'SUPERSEDED'
    const release = {
      id: this.sim.random.uuid(),
      versionId: version.id,
      state: 'READY_FOR_TESTING' as const
    }
    this.sim.store.internalBetaReleases.set(release.id, release)
    version.internalBetaReleaseId = release.id
    pack.internalBetaVersionId = version.id
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const run = fn().finally(() => this.running.delete(run))
      this.running.add(run)
    }, ms)
    this.timers.add(timer)
  }
}

/**
 * A parsed manifest's verdict and, when it has no errors, what it tells about the version: its
 * platforms and its locale (the manifest's `language`). One step, so that a manifest read from an
 * archive sets a version the way an uploaded MANIFEST file does.
 */
export function applyManifest(
  version: VersionRecord,
  value: unknown,
  identifier: string
): StateMessage[] {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return [{ code: 'MANIFEST_INVALID', description: 'The manifest must be a JSON object.' }]
  const manifest = value as Record<string, unknown>
  const errors = manifestErrors(manifest, identifier)
  if (errors.length) return errors
  version.platforms = (manifest.platforms as string[]).map((p) => MANIFEST_PLATFORMS[p])
  // The latest processed manifest speaks for the version: one without a language leaves none.
  if (typeof manifest.language === 'string') version.locale = manifest.language
  else delete version.locale
  return []
}

/** Apple's verdicts on a manifest's fields, as its docs and live uploads have shown them. */
function manifestErrors(manifest: Record<string, unknown>, identifier: string): StateMessage[] {
  const errors: StateMessage[] = []
  const { assetPackID, downloadPolicy, language, platforms } = manifest
  if (typeof assetPackID !== 'string')
    errors.push({
      code: 'MANIFEST_MISSING_ASSET_PACK_ID',
      description: 'The manifest has no assetPackID.'
    })
  else if (assetPackID !== identifier) {
    errors.push({
      code: 'MANIFEST_ASSET_PACK_ID_MISMATCH',
      description: `The manifest's assetPackID '${assetPackID}' does not match the asset pack '${identifier}'.`
    })
  }
  const policies =
    downloadPolicy && typeof downloadPolicy === 'object' ? Object.keys(downloadPolicy) : []
  if (policies.length !== 1 || !['essential', 'prefetch', 'onDemand'].includes(policies[0])) {
    errors.push({
      code: 'MANIFEST_INVALID_DOWNLOAD_POLICY',
      description: 'downloadPolicy must have exactly one of essential, prefetch or onDemand.'
    })
  } else if (
    policies[0] === 'onDemand' &&
    (downloadPolicy as Record<string, unknown>).onDemand === null
  ) {
    errors.push({
      code: 'ITMS-91140',
      description: 'The onDemand download policy must be an empty object, not null.'
    })
  }
  const selectors = Array.isArray(manifest.fileSelectors)
    ? (manifest.fileSelectors as Record<string, unknown>[])
    : []
  if (selectors.some((s) => s?.directory === '.' || s?.directory === './')) {
    errors.push({
      code: 'MANIFEST_INVALID_FILE_SELECTOR',
      description:
        'A directory selector of "." selects the packaging directory itself; name the asset directories instead.'
    })
  }
  if (language !== undefined && !(typeof language === 'string' && LANGUAGE_TAG.test(language))) {
    errors.push({
      code: 'MANIFEST_INVALID_LANGUAGE',
      description: `language must be a BCP-47 tag such as fr, es-US or zh-Hant; not ${JSON.stringify(language)}.`
    })
  }
  const names = Array.isArray(platforms) ? platforms : []
  const unknown = names.filter((p) => !(String(p) in MANIFEST_PLATFORMS))
  if (!names.length || unknown.length) {
    errors.push({
      code: 'MANIFEST_INVALID_PLATFORMS',
      description: `platforms must list iOS, macOS, tvOS or visionOS${unknown.length ? `; not ${unknown.join(', ')}` : ''}.`
    })
  }
  return errors
}
