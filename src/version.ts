// Step 4: which version receives the archive. A version an earlier attempt of this workflow run
// made is this release (reused while PROCESSING or COMPLETE, replaced when FAILED); a version that
// already holds these exact bytes is reused (no upload); the newest version, when a run died
// before uploading into it, is resumed; otherwise a new version is created — and a create that
// got no answer is never repeated blindly.
import * as log from './log.js'
import type { Digests } from './archive/index.js'
import { AscApiError } from './errors.js'
import {
  findIncluded,
  type AppStoreConnectClient,
  type BackgroundAsset,
  type VersionResponse,
  type BackgroundAssetUploadFile,
  type BackgroundAssetVersion
} from './asc/client.js'
import { writeWithoutRepeats } from './asc/retry.js'
import { runOfFileName, type WorkflowRun } from './workflow-run.js'

export type VersionChoice =
  | {
      kind: 'reuse'
      version: BackgroundAssetVersion
      assetFile: BackgroundAssetUploadFile
      /** Set when the version is reused because an earlier attempt of this run made it. */
      madeBy?: WorkflowRun
    }
  | { kind: 'resume'; version: BackgroundAssetVersion }
  /** The version version-id names: handed over as it is. */
  | { kind: 'existing'; version: BackgroundAssetVersion; assetFile?: BackgroundAssetUploadFile }
  /** A new version: created later (createVersion), after every pack's checks. */
  | { kind: 'create'; version?: BackgroundAssetVersion; newestBefore: number }

export interface VersionChoiceOptions {
  reuseExisting: boolean
  dryRun: boolean
  archiveSize: number
  /** Hashes the archive (once) when a same-size version makes the checksum matter now. */
  digests: (sha256: boolean) => Promise<Digests>
  /** The workflow run of this attempt (undefined outside GitHub Actions). */
  run?: WorkflowRun
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

/** What the pack's versions say: the newest, this run's newest, and same-size candidates. */
interface VersionSurvey {
  newest?: BackgroundAssetVersion
  thisRun?: HeldArchive & { run: WorkflowRun }
  sameSize: HeldArchive[]
}

/** Reads every page: the version holding this archive may be far down the list. */
async function survey(
  client: AppStoreConnectClient,
  packId: string,
  options: VersionChoiceOptions
): Promise<VersionSurvey> {
  const found: VersionSurvey = { sameSize: [] }
  for await (const page of client.versionPages(packId, {
    sort: '-version',
    include: 'assetFile',
    'fields[backgroundAssetUploadFiles]':
      'assetDeliveryState,fileName,fileSize,sourceFileChecksum,sourceFileChecksums'
  })) {
    for (const version of page.data) {
      if (number(version) > number(found.newest)) found.newest = version
      const file = findIncluded(page.included, version.relationships?.assetFile?.data)
      if (!file) continue
      const run = runOfFileName(file.attributes?.fileName)
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

/** The version an earlier attempt of this run made, unless it FAILED (final: a new one then). */
function earlierAttempt(thisRun: VersionSurvey['thisRun']): VersionChoice | undefined {
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
): Promise<VersionChoice | undefined> {
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
  let response: VersionResponse
  try {
    response = await client.getVersion(versionId, 'backgroundAsset,assetFile')
  } catch (error) {
    if (error instanceof AscApiError && error.status === 404)
      throw new Error(`version-id: App Store Connect has no version ${versionId}.`)
    throw error
  }
  const version = response.data
  const owner = version.relationships?.backgroundAsset?.data?.id
  if (owner !== pack.id) {
    const other = findIncluded(response.included, version.relationships?.backgroundAsset?.data)
    throw new Error(
      `version-id: ${versionId} is a version of the asset pack '${other?.attributes?.assetPackIdentifier ?? owner}', not of '${identifier}'. Give the asset-pack-identifier it belongs to, or a version of '${identifier}'.`
    )
  }
  const { state, version: number } = version.attributes ?? {}
  if (state === 'AWAITING_UPLOAD' || state === 'FAILED')
    throw new Error(
      `version-id: version ${number} of '${identifier}' is ${state}: ${state === 'FAILED' ? 'its processing failed' : 'nothing was uploaded into it'}, so there is nothing to hand over. Release an archive with archive-path instead.`
    )
  log.info(
    `Version ${number} of '${identifier}' (${versionId}) is ${state}: handing it over; nothing is uploaded.`
  )
  const assetFile = findIncluded(response.included, version.relationships?.assetFile?.data)
  return { kind: 'existing', version, assetFile }
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
  const { newest, thisRun, sameSize } = await survey(client, packId, options)
  if (options.reuseExisting) {
    const reused = earlierAttempt(thisRun) ?? (await sameBytes(sameSize, options))
    if (reused) return reused
    if (newest?.attributes?.state === 'AWAITING_UPLOAD') {
      log.info(
        `Version ${newest.attributes.version} is AWAITING_UPLOAD (an earlier run stopped before its upload); uploading into it.`
      )
      return { kind: 'resume', version: newest }
    }
  }
  log.info(
    options.dryRun
      ? `Dry run: a new version (${number(newest) + 1}) would be created.`
      : `A new version (${number(newest) + 1}) will be created.`
  )
  return { kind: 'create', newestBefore: number(newest) }
}
