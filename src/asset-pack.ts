// Step 3: the asset pack record, found by identifier; created only when create-asset-pack allows.
// The app's packs are listed once, which also tells what the app hosts: Apple's limits (200 GB
// per app, 100 packs per app) are checked here, before anything is written.
import * as log from './log.js'
import type { AppStoreConnectClient, BackgroundAsset } from './asc/client.js'
import { AscApiError, UncertainOutcomeError } from './errors.js'
import { formatDecimalSize } from './format.js'
import { Inputs } from './constants.js'
import type { RunInputs } from './inputs.js'
import { entryField } from './pack-entries.js'

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

/** The app's hosting with each entry's pack raised to its archive's size where that is larger. */
function hostingWith(packs: BackgroundAsset[], archiveSizes: Map<string, number>): AppHosting {
  let usedBytes = 0
  // A pack that does not exist yet will hold its archive too.
  let withArchiveBytes = 0
  for (const [identifier, size] of archiveSizes)
    if (!packs.some((p) => identifierOf(p) === identifier)) withArchiveBytes += size
  for (const pack of packs) {
    if (pack.attributes?.archived) continue
    const used = pack.attributes?.usedBytes ?? 0
    usedBytes += used
    withArchiveBytes += Math.max(used, archiveSizes.get(identifierOf(pack) ?? '') ?? 0)
  }
  return { usedBytes, withArchiveBytes, packs: packs.length }
}

/** Apple's limit as Apple writes it: "200 GB". */
export const HOSTING_LIMIT_TEXT = `${APP_HOSTING_LIMIT_BYTES / 1e9} GB`

/** Refuses archives that would take the app over Apple's limit; warns from 80 %. */
function checkHosting(hosting: AppHosting, inputs: RunInputs): void {
  const share = hosting.withArchiveBytes / APP_HOSTING_LIMIT_BYTES
  const now = `now ${formatDecimalSize(hosting.usedBytes)}`
  const these = inputs.entries.length === 1 ? 'this archive' : 'these archives'
  if (share > 1)
    throw new Error(
      `${inputs.fromPacksInput ? Inputs.Packs : Inputs.ArchivePath}: with ${these} the app would use ${formatDecimalSize(hosting.withArchiveBytes)} of Apple's ${HOSTING_LIMIT_TEXT} (${now}). ` +
        'Apple hosts at most 200 GB of compressed assets per app (per pack its largest version that counts): archive old packs or versions in App Store Connect to free space. Nothing was uploaded.'
    )
  const figures = `${formatDecimalSize(hosting.withArchiveBytes)} of Apple's ${HOSTING_LIMIT_TEXT} (${Math.round(share * 100)} %; ${now})`
  if (share >= HOSTING_WARNING_SHARE)
    log.warning(
      `With ${these} the app uses ${figures} of Apple-hosted asset storage; App Store Connect refuses uploads over ${HOSTING_LIMIT_TEXT}.`,
      { title: 'Asset pack storage over 80 %' }
    )
  else log.info(`Apple-hosted storage with ${these}: ${figures}.`)
}

// Long on purpose: each refusal is one sentence naming the entry's input, collected for all.
/**
 * Lists the app's packs once and finds each entry's, checking everything that can be checked
 * before a write: archived packs, missing packs (created later only when create-asset-pack
 * allows), version-id of a missing pack, Apple's 100 packs and 200 GB. `onHosting` sees the
 * storage figures before they are checked (a refusal reports them).
 */
export async function findAssetPacks(
  client: AppStoreConnectClient,
  inputs: RunInputs,
  onHosting: (hosting: AppHosting) => void
): Promise<(BackgroundAsset | undefined)[]> {
  const { appId, entries } = inputs
  const packs = await listPacks(client, appId)
  const problems: string[] = []
  const found = entries.map(({ assetPackIdentifier: identifier, versionId }, i) => {
    const field = (key: Inputs) => entryField(inputs, i, key)
    const pack = packs.find((p) => identifierOf(p) === identifier)
    if (pack?.attributes?.archived)
      problems.push(
        `${field(Inputs.AssetPackIdentifier)}: the asset pack '${identifier}' is archived in App Store Connect; archived packs accept no new versions. Use a new identifier.`
      )
    else if (pack) log.info(`Asset pack '${identifier}': ${pack.id}`)
    else if (versionId)
      problems.push(
        `${field(Inputs.VersionId)}: app ${appId} has no asset pack '${identifier}', so version ${versionId} cannot be one of its versions. Check asset-pack-identifier.`
      )
    else if (!inputs.createAssetPack)
      problems.push(
        `${field(Inputs.AssetPackIdentifier)}: app ${appId} has no asset pack '${identifier}'. Create it in App Store Connect (the app's Asset Packs), ` +
          'or set `create-asset-pack: true` to let this action create it.'
      )
    else if (inputs.dryRun)
      log.info(`Dry run: the asset pack '${identifier}' does not exist and would be created.`)
    return pack
  })
  const missing = entries.filter((_, i) => !found[i]).map((e) => e.assetPackIdentifier)
  if (!problems.length && missing.length && packs.length + missing.length > MAX_PACKS_PER_APP)
    problems.push(
      `${entryField(
        inputs,
        entries.findIndex((_, i) => !found[i]),
        Inputs.AssetPackIdentifier
      )}: app ${appId} already has ${packs.length} asset packs; with ${missing.map((m) => `'${m}'`).join(', ')} it would have ${packs.length + missing.length}, over Apple's limit of ${MAX_PACKS_PER_APP} per app. Release into existing packs instead.`
    )
  if (problems.length) throw new Error(problems.join('\n'))
  const hosting = hostingWith(
    packs,
    new Map(entries.map((e) => [e.assetPackIdentifier, e.archive?.size ?? 0]))
  )
  onHosting(hosting)
  checkHosting(hosting, inputs)
  return found
}

/** Creates an entry's missing pack; a create that raced another, or got no answer, finds it. */
export async function createAssetPack(
  client: AppStoreConnectClient,
  appId: string,
  identifier: string
): Promise<PackLookup> {
  try {
    const created = await client.createAssetPack(appId, identifier)
    log.info(`Created asset pack '${identifier}': ${created.id}`)
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
    log.info(`The asset pack '${identifier}' exists after all: ${found.id}`)
    return { pack: found, created: true }
  }
}
