// Processing after a commit, on timers: a MANIFEST's verdict (JSON, the documented fields, the
// pack's identifier, Apple's reported errors) and the platforms and locale it gives its version;
// an ASSET's (an Apple Archive signature, or the failure a test asked for); and the internal beta
// release a COMPLETE version becomes.
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
// A BCP-47 tag as far as a manifest's `language` goes: a language, an optional script, an optional
// region (`fr`, `es-US`, `zh-Hant`, `zh-Hans-VN`); no variants or extensions.
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?$/

export class Processing {
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    private readonly sim: SimulatorContext,
    private readonly faults: Faults
  ) {}

  close(): void {
    for (const t of this.timers) clearTimeout(t)
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
      const head = file.assembly!.head.toString('latin1')
      const failWith =
        processing.failWith?.identifier === undefined ||
        processing.failWith.identifier === pack.identifier
          ? processing.failWith
          : undefined
      const errors: StateMessage[] = [...(failWith?.errors ?? [])]
      if (!ARCHIVE_SIGNATURES.some((s) => head.startsWith(s))) {
        errors.push({
          code: 'ASSET_PACK_INVALID_ARCHIVE',
          description: `${file.fileName} is not an Apple Archive (.aar) produced by ba-package.`
        })
      }
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
      await file.assembly?.discard()
    })
  }

  private async checkManifest(file: UploadFileRecord, version: VersionRecord): Promise<void> {
    const pack = this.sim.store.packs.get(version.packId)!
    const errors: StateMessage[] = []
    let manifest: Record<string, unknown> | undefined
    try {
      file.receivedText = file.assembly!.readAll().toString('utf8')
      const parsed: unknown = JSON.parse(file.receivedText)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        manifest = parsed as Record<string, unknown>
      else
        errors.push({
          code: 'MANIFEST_INVALID',
          description: 'The manifest must be a JSON object.'
        })
    } catch (e) {
      errors.push({
        code: 'MANIFEST_INVALID_JSON',
        description: `The manifest is not valid JSON: ${(e as Error).message}`
      })
    }
    if (manifest) errors.push(...applyManifest(version, manifest, pack.identifier))
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

  private later(ms: number, fn: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void fn()
    }, ms)
    this.timers.add(timer)
  }
}

/**
 * A parsed manifest's verdict and, when it has no errors, what it tells about the version: its
 * platforms and its locale (the manifest's `language`). One step, so that a manifest read from an
 * archive can set a version the way an uploaded MANIFEST file does.
 */
export function applyManifest(
  version: VersionRecord,
  manifest: Record<string, unknown>,
  identifier: string
): StateMessage[] {
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
