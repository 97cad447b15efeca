// Step 3: the asset pack record, found by identifier; created only when create-asset-pack allows.
// The app's packs are listed once, which also tells what the app hosts: Apple's limits (200 GB
// per app, 100 packs per app) are checked here, before anything is written.
import * as core from '@actions/core'
import type { AppStoreConnectClient, BackgroundAsset } from './asc/client.js'
import { AscApiError, UncertainOutcomeError } from './errors.js'
import { formatDecimalSize } from './format.js'
import type { ActionInputs } from './inputs.js'

/**
 * Apple hosts at most 200 GB (decimal) of compressed assets per app: per pack its largest version
 * that counts (Awaiting Upload, Processing and Failed versions don't), summed over the packs; an
 * archived pack frees its space. App Store Connect warns (email, banner) from 80 %.
 */
export const APP_HOSTING_LIMIT_BYTES = 200e9
const HOSTING_WARNING_SHARE = 0.8
/** Asset packs an app may have (archived ones keep their identifier). */
export const MAX_PACKS_PER_APP = 100

/** What the app hosts now, and would host once this archive's version counts. */
export interface AppHosting {
  usedBytes: number
  withArchiveBytes: number
  packs: number
}

export interface PackLookup {
  /** Undefined only in a dry run that would create the pack. */
  pack?: BackgroundAsset
  created: boolean
}

async function listPacks(client: AppStoreConnectClient, appId: string): Promise<BackgroundAsset[]> {
  try {
    return await client.listAssetPacks(appId)
  } catch (error) {
    if (error instanceof AscApiError && error.status === 404) {
      throw new Error(
        `app-id: App Store Connect found no app with Apple ID ${appId} (${error.errors[0]?.detail ?? '404'}). ` +
          "Use the app's numeric Apple ID from App Information, and an API key of the team that owns the app."
      )
    }
    throw error
  }
}

const identifierOf = (pack: BackgroundAsset) => pack.attributes?.assetPackIdentifier

/** The app's hosting with this pack's figure raised to the archive's size where that is larger. */
function hostingWith(
  packs: BackgroundAsset[],
  identifier: string,
  archiveSize: number
): AppHosting {
  let usedBytes = 0
  // A pack that does not exist yet will hold the archive too.
  let withArchiveBytes = packs.some((p) => identifierOf(p) === identifier) ? 0 : archiveSize
  for (const pack of packs) {
    if (pack.attributes?.archived) continue
    const used = pack.attributes?.usedBytes ?? 0
    usedBytes += used
    withArchiveBytes += identifierOf(pack) === identifier ? Math.max(used, archiveSize) : used
  }
  return { usedBytes, withArchiveBytes, packs: packs.length }
}

/** Apple's limit as Apple writes it: "200 GB". */
export const HOSTING_LIMIT_TEXT = `${APP_HOSTING_LIMIT_BYTES / 1e9} GB`

/** Refuses an archive that would take the app over Apple's limit; warns from 80 %. */
function checkHosting(hosting: AppHosting): void {
  const share = hosting.withArchiveBytes / APP_HOSTING_LIMIT_BYTES
  const now = `now ${formatDecimalSize(hosting.usedBytes)}`
  if (share > 1)
    throw new Error(
      `archive-path: with this archive the app would use ${formatDecimalSize(hosting.withArchiveBytes)} of Apple's ${HOSTING_LIMIT_TEXT} (${now}). ` +
        'Apple hosts at most 200 GB of compressed assets per app (per pack its largest version that counts): archive old packs or versions in App Store Connect to free space. Nothing was uploaded.'
    )
  const figures = `${formatDecimalSize(hosting.withArchiveBytes)} of Apple's ${HOSTING_LIMIT_TEXT} (${Math.round(share * 100)} %; ${now})`
  if (share >= HOSTING_WARNING_SHARE)
    core.warning(
      `With this archive the app uses ${figures} of Apple-hosted asset storage; App Store Connect refuses uploads over ${HOSTING_LIMIT_TEXT}.`,
      { title: 'Asset pack storage over 80 %' }
    )
  else core.info(`Apple-hosted storage with this archive: ${figures}.`)
}

/** `onHosting` sees the app's storage figures before they are checked (a refusal reports them). */
export async function findOrCreateAssetPack(
  client: AppStoreConnectClient,
  inputs: ActionInputs,
  onHosting: (hosting: AppHosting) => void
): Promise<PackLookup> {
  const { appId, assetPackIdentifier: identifier } = inputs
  const packs = await listPacks(client, appId)
  const pack = packs.find((p) => identifierOf(p) === identifier)
  if (pack?.attributes?.archived) {
    throw new Error(
      `asset-pack-identifier: the asset pack '${identifier}' is archived in App Store Connect; archived packs accept no new versions. Use a new identifier.`
    )
  }
  const hosting = hostingWith(packs, identifier, inputs.archive?.size ?? 0)
  onHosting(hosting)
  checkHosting(hosting)
  if (pack) {
    core.info(`Asset pack '${identifier}': ${pack.id}`)
    return { pack, created: false }
  }
  if (inputs.versionId)
    throw new Error(
      `version-id: app ${appId} has no asset pack '${identifier}', so version ${inputs.versionId} cannot be one of its versions. Check asset-pack-identifier.`
    )
  if (!inputs.createAssetPack) {
    throw new Error(
      `asset-pack-identifier: app ${appId} has no asset pack '${identifier}'. Create it in App Store Connect (the app's Asset Packs), ` +
        'or set `create-asset-pack: true` to let this action create it.'
    )
  }
  if (packs.length >= MAX_PACKS_PER_APP) {
    throw new Error(
      `asset-pack-identifier: app ${appId} already has ${packs.length} asset packs, Apple's limit of ${MAX_PACKS_PER_APP} per app, so '${identifier}' cannot be created. Release into an existing pack instead.`
    )
  }
  if (inputs.dryRun) {
    core.info(`Dry run: the asset pack '${identifier}' does not exist and would be created.`)
    return { created: false }
  }
  try {
    const created = await client.createAssetPack(appId, identifier)
    core.info(`Created asset pack '${identifier}': ${created.id}`)
    onHosting({ ...hosting, packs: hosting.packs + 1 })
    return { pack: created, created: true }
  } catch (error) {
    // No answer, or "already used" from a create that raced ours: the pack may exist now.
    const maybeCreated =
      error instanceof UncertainOutcomeError ||
      (error instanceof AscApiError &&
        error.status === 409 &&
        error.pointer?.includes('assetPackIdentifier'))
    if (!maybeCreated) throw error
    const found = (await listPacks(client, appId)).find((p) => identifierOf(p) === identifier)
    if (!found || (error instanceof AscApiError && !error.errors[0]?.code.includes('DUPLICATE')))
      throw error
    core.info(`The asset pack '${identifier}' exists after all: ${found.id}`)
    return { pack: found, created: true }
  }
}
