// Step 4: which version is the release. The pack's newest version (of the manifest's language,
// when it declares one) that already holds this content is kept (`skip-unchanged`: no upload,
// no new version); a version an earlier attempt of this workflow run made is this release
// (reused while PROCESSING or COMPLETE, replaced when FAILED); a version that already holds these
// exact bytes is reused; the newest version, when a run died before uploading into it, is
// resumed; otherwise a new version is created — and a create that got no answer is never
// repeated blindly.
import * as log from './log.js'
import type { Digests } from './archive/index.js'
import { AscApiError } from './errors.js'
import {
  findIncluded,
  type AppStoreConnectClient,
  type AppStoreReleaseState,
  type BackgroundAsset,
  type VersionResponse,
  type BackgroundAssetUploadFile,
  type BackgroundAssetVersion
} from './asc/client.js'
import { writeWithoutRepeats } from './asc/retry.js'
import { holdsContent, parseReservationName, type WorkflowRun } from './workflow-run.js'

/** What a version handed over without an upload is, beyond its number. */
interface HandedOver {
  version: BackgroundAssetVersion
  /** Its App Store release's state; undefined when it has none (never submitted). */
  appStoreState?: AppStoreReleaseState
}

export type VersionChoice =
  | (HandedOver & {
      kind: 'reuse'
      assetFile: BackgroundAssetUploadFile
      /** Set when the version is reused because an earlier attempt of this run made it. */
      madeBy?: WorkflowRun
      /** The pack's newest version (of the locale) already holds this content. */
      unchanged?: { since: WorkflowRun | undefined }
    })
  | { kind: 'resume'; version: BackgroundAssetVersion }
  /** The version version-id names: handed over as it is. */
  | (HandedOver & { kind: 'existing'; assetFile?: BackgroundAssetUploadFile })
  /** A new version: created later (createVersion), after every pack's checks. */
  | { kind: 'create'; version?: BackgroundAssetVersion; newestBefore: number; warning?: string }

export interface VersionChoiceOptions {
  reuseExisting: boolean
  /** Keep the newest version when it holds this content (needs reuseExisting and a contentId). */
  skipUnchanged: boolean
  dryRun: boolean
  archiveSize: number
  /** The archive's content identity; undefined when its contents could not be decoded. */
  contentId?: string
  /** The manifest's language: only versions of this locale count. */
  locale?: string
  /** Hashes the archive (once) when a same-size version makes the checksum matter now. */
  digests: (sha256: boolean) => Promise<Digests>
  /** The workflow run of this attempt (undefined outside GitHub Actions). */
  run?: WorkflowRun
}

type ReuseChoice = Extract<VersionChoice, { kind: 'reuse' }>

/** No upload: the version is handed over as it is. */
export function handsOver(
  choice: VersionChoice
): choice is Extract<VersionChoice, { kind: 'reuse' | 'existing' }> {
  return choice.kind === 'reuse' || choice.kind === 'existing'
}

const number = (v?: BackgroundAssetVersion) => Number(v?.attributes?.version ?? 0)

function holds(file: BackgroundAssetUploadFile, digests: Digests): boolean {
  const { sourceFileChecksums: checksums, sourceFileChecksum: legacy } = file.attributes ?? {}
  const hash = checksums?.file?.hash?.toLowerCase()
  if (hash)
    return hash === (checksums?.file?.algorithm === 'SHA_256' ? digests.sha256 : digests.md5)
  return legacy?.toLowerCase() === digests.md5
}

/** The MD5 an upload file was committed with, when it was committed with one. */
export function heldMd5(file: BackgroundAssetUploadFile): string | undefined {
  const { sourceFileChecksums: checksums, sourceFileChecksum: legacy } = file.attributes ?? {}
  if (checksums?.file?.algorithm === 'MD5') return checksums.file.hash?.toLowerCase()
  return legacy?.toLowerCase()
}

async function newestVersion(
  client: AppStoreConnectClient,
  packId: string
): Promise<BackgroundAssetVersion | undefined> {
  for await (const page of client.versionPages(packId, { sort: '-version', limit: 1 }))
    return page.data[0]
  return undefined
}

/** Creates a version; after a create with no answer, the version it made (if it did) is used. */
export async function createVersion(
  client: AppStoreConnectClient,
  packId: string,
  newestBefore: number
): Promise<BackgroundAssetVersion> {
  const created = await writeWithoutRepeats(
    'POST /v1/backgroundAssetVersions',
    () => client.createVersion(packId),
    async () => {
      const newest = await newestVersion(client, packId)
      if (!newest || number(newest) <= newestBefore) return undefined
      if (newest.attributes?.state !== 'AWAITING_UPLOAD') return undefined
      log.info(`The create did take effect: version ${newest.attributes.version} (${newest.id}).`)
      return newest
    },
    'listing the versions before creating again'
  )
  log.info(`Created version ${created.attributes?.version} (${created.id}).`)
  return created
}

interface HeldArchive {
  version: BackgroundAssetVersion
  file: BackgroundAssetUploadFile
}

/** What the pack's versions (of the locale) say: the newest, this run's newest, same-size ones. */
interface VersionSurvey {
  newest?: BackgroundAssetVersion
  newestFile?: BackgroundAssetUploadFile
  /** The newest of every locale: version numbers are the pack's. */
  newestNumber: number
  thisRun?: HeldArchive & { run: WorkflowRun }
  sameSize: HeldArchive[]
  appStoreStates: Map<string, AppStoreReleaseState>
}

/** A version's locale matches the manifest's language (any case); without one, every version. */
function ofLocale(version: BackgroundAssetVersion, locale: string | undefined): boolean {
  return !locale || version.attributes?.locale?.toLowerCase() === locale.toLowerCase()
}

/** Reads every page: the version holding this archive may be far down the list. */
async function survey(
  client: AppStoreConnectClient,
  packId: string,
  options: VersionChoiceOptions
): Promise<VersionSurvey> {
  const found: VersionSurvey = { sameSize: [], newestNumber: 0, appStoreStates: new Map() }
  for await (const page of client.versionPages(packId, VERSIONS_WITH_FILES)) {
    for (const version of page.data) {
      found.newestNumber = Math.max(found.newestNumber, number(version))
      if (!ofLocale(version, options.locale)) continue
      const file = findIncluded(page.included, version.relationships?.assetFile?.data)
      const release = findIncluded(page.included, version.relationships?.appStoreRelease?.data)
      if (release?.attributes?.state) found.appStoreStates.set(version.id, release.attributes.state)
      if (number(version) > number(found.newest)) {
        found.newest = version
        found.newestFile = file
      }
      if (!file) continue
      const { run } = parseReservationName(file.attributes?.fileName)
      if (
        run &&
        run.runId === options.run?.runId &&
        number(version) > number(found.thisRun?.version)
      )
        found.thisRun = { version, file, run }
      const state = version.attributes?.state
      if (
        file.attributes?.fileSize === options.archiveSize &&
        (state === 'PROCESSING' || state === 'COMPLETE')
      )
        found.sameSize.push({ version, file })
    }
  }
  return found
}

/** What the version choice reads of every version: its archive's name, size and checksums. */
const VERSIONS_WITH_FILES = {
  sort: '-version',
  include: 'assetFile,appStoreRelease',
  'fields[backgroundAssetUploadFiles]':
    'assetDeliveryState,fileName,fileSize,sourceFileChecksum,sourceFileChecksums',
  'fields[backgroundAssetVersionAppStoreReleases]': 'state'
}

/** "version 7 (made by run 555000111)": a version and the run its archive's name names. */
export function versionMadeBy(
  version: BackgroundAssetVersion,
  run: WorkflowRun | undefined
): string {
  return `version ${version.attributes?.version}${run ? ` (made by run ${run.runId}${run.attempt > 1 ? ` attempt ${run.attempt}` : ''})` : ''}`
}

/**
 * The newest version, when it holds this content: the release (unchanged), unless it FAILED (a
 * new version, with a warning) or awaits its upload (resumed later). Older versions never count:
 * devices receive the newest, so reverted content is a new version.
 */
function unchangedSince(
  found: VersionSurvey,
  options: VersionChoiceOptions
): ReuseChoice | string | undefined {
  const { newest, newestFile } = found
  if (!options.skipUnchanged || !newest || !newestFile) return undefined
  const name = parseReservationName(newestFile.attributes?.fileName)
  if (!holdsContent(name, options.contentId)) return undefined
  const state = newest.attributes?.state
  if (state === 'FAILED')
    return `This content failed processing before, as ${versionMadeBy(newest, name.run)}: a new version is made for it; if it fails again, fix what App Store Connect reported for that version.`
  if (state !== 'PROCESSING' && state !== 'COMPLETE') return undefined
  log.info(
    `Unchanged since ${versionMadeBy(newest, name.run)}, which is ${state}: it is the release; nothing is uploaded.`
  )
  return {
    kind: 'reuse',
    version: newest,
    assetFile: newestFile,
    appStoreState: found.appStoreStates.get(newest.id),
    unchanged: { since: name.run }
  }
}

/** The version an earlier attempt of this run made, unless it FAILED (final: a new one then). */
function earlierAttempt(thisRun: VersionSurvey['thisRun']): ReuseChoice | undefined {
  if (!thisRun) return undefined
  const { version, file, run } = thisRun
  const made = `Version ${version.attributes?.version} was made by attempt ${run.attempt} of this run (${run.runId})`
  const state = version.attributes?.state
  if (state === 'PROCESSING' || state === 'COMPLETE') {
    log.info(
      `${made}; reusing it (${state}): its archive was built from the same commit, so nothing is uploaded.`
    )
    return { kind: 'reuse', version, assetFile: file, madeBy: run }
  }
  if (state === 'FAILED')
    log.info(`${made} and FAILED, which is final; this attempt makes a new version.`)
  return undefined
}

/** A version holding these exact bytes (same size, then the checksum, hashed only now). */
async function sameBytes(
  sameSize: HeldArchive[],
  options: VersionChoiceOptions
): Promise<ReuseChoice | undefined> {
  if (!sameSize.length) return undefined
  const sha256 = sameSize.some(
    (c) => c.file.attributes?.sourceFileChecksums?.file?.algorithm === 'SHA_256'
  )
  log.info(`${sameSize.length} version(s) hold an archive of the same size; comparing checksums.`)
  const digests = await options.digests(sha256)
  const match = sameSize.find((c) => holds(c.file, digests))
  if (!match) return undefined
  log.info(
    `Version ${match.version.attributes?.version} already holds this archive (${match.version.attributes?.state}); no upload needed.`
  )
  return { kind: 'reuse', version: match.version, assetFile: match.file }
}

/** `version-id: latest`: the pack's newest version, whatever it is. */
export const LATEST_VERSION = 'latest'

/** What the hand-over reads of a version: its pack, its archive, its App Store release. */
const HANDED_OVER = 'backgroundAsset,assetFile,appStoreRelease'

/** The version `version-id` names, with what it includes; `latest` is the pack's newest. */
async function namedVersion(
  client: AppStoreConnectClient,
  pack: BackgroundAsset,
  versionId: string
): Promise<VersionResponse> {
  const identifier = pack.attributes?.assetPackIdentifier
  if (versionId === LATEST_VERSION) {
    for await (const page of client.versionPages(pack.id, {
      sort: '-version',
      limit: 1,
      include: HANDED_OVER
    }))
      if (page.data[0]) return { data: page.data[0], included: page.included, links: page.links }
    throw new Error(
      `version-id: latest names the newest version of '${identifier}', which has none yet. Upload one with archive-path first.`
    )
  }
  try {
    return await client.getVersion(versionId, HANDED_OVER)
  } catch (error) {
    if (error instanceof AscApiError && error.status === 404)
      throw new Error(`version-id: App Store Connect has no version ${versionId}.`)
    throw error
  }
}

/**
 * The version version-id names, checked before anything is written: it must exist, belong to this
 * pack, and be PROCESSING (it is waited for) or COMPLETE.
 */
export async function existingVersion(
  client: AppStoreConnectClient,
  pack: BackgroundAsset,
  versionId: string
): Promise<VersionChoice> {
  const identifier = pack.attributes?.assetPackIdentifier
  const response = await namedVersion(client, pack, versionId)
  const version = response.data
  const owner = version.relationships?.backgroundAsset?.data?.id
  if (owner !== pack.id) {
    const other = findIncluded(response.included, version.relationships?.backgroundAsset?.data)
    throw new Error(
      `version-id: ${versionId} is a version of the asset pack '${other?.attributes?.assetPackIdentifier ?? owner}', not of '${identifier}'. Give the asset-pack-identifier it belongs to, or a version of '${identifier}'.`
    )
  }
  const { state, version: number } = version.attributes ?? {}
  const which =
    versionId === LATEST_VERSION
      ? `latest: the newest version of '${identifier}', version ${number},`
      : `version ${number} of '${identifier}'`
  if (state === 'AWAITING_UPLOAD' || state === 'FAILED')
    throw new Error(
      `version-id: ${which} is ${state}: ${state === 'FAILED' ? 'its processing failed' : 'its upload never finished'}, so there is nothing to hand over. ${state === 'FAILED' ? 'Release a fixed archive' : 'Run the upload again'} with archive-path.`
    )
  log.info(
    `Version ${number} of '${identifier}' (${version.id}) is ${state}: handing it over; nothing is uploaded.`
  )
  const assetFile = findIncluded(response.included, version.relationships?.assetFile?.data)
  const release = findIncluded(response.included, version.relationships?.appStoreRelease?.data)
  return { kind: 'existing', version, assetFile, appStoreState: release?.attributes?.state }
}

/** Reads only: what receives the archive; a version to create is made later (createVersion). */
export async function chooseVersion(
  client: AppStoreConnectClient,
  packId: string | undefined,
  options: VersionChoiceOptions
): Promise<VersionChoice> {
  if (!packId) {
    log.info(
      `The asset pack is new: its version 1 ${options.dryRun ? 'would be' : 'will be'} created.`
    )
    return { kind: 'create', newestBefore: 0 }
  }
  const found = await survey(client, packId, options)
  const { newest, thisRun, sameSize } = found
  let warning: string | undefined
  if (options.reuseExisting) {
    // This run's own version first: a re-run keeps what its first attempt made, as it always has.
    const attempt = earlierAttempt(thisRun)
    const unchanged = unchangedSince(found, options)
    if (attempt)
      return {
        ...attempt,
        appStoreState: found.appStoreStates.get(attempt.version.id),
        unchanged:
          typeof unchanged === 'object' && unchanged.version === attempt.version
            ? unchanged.unchanged
            : undefined
      }
    if (typeof unchanged === 'object') return unchanged
    warning = unchanged
    const reused = await sameBytes(sameSize, options)
    if (reused) return { ...reused, appStoreState: found.appStoreStates.get(reused.version.id) }
    if (newest?.attributes?.state === 'AWAITING_UPLOAD') {
      log.info(
        `Version ${newest.attributes.version} is AWAITING_UPLOAD (an earlier run stopped before its upload); uploading into it.`
      )
      return { kind: 'resume', version: newest }
    }
  }
  if (warning) log.warning(warning)
  const next = found.newestNumber + 1
  log.info(
    options.dryRun
      ? `Dry run: a new version (${next}) would be created.`
      : `A new version (${next}) will be created.`
  )
  return { kind: 'create', newestBefore: found.newestNumber, warning }
}
