// Step 3: the asset pack record, found by identifier; created only when create-asset-pack allows.
import * as core from '@actions/core'
import type { AppStoreConnectClient, BackgroundAsset } from './asc-client.js'
import { AscApiError, UncertainOutcomeError } from './errors.js'
import type { ActionInputs } from './inputs.js'

export interface PackLookup {
  /** Undefined only in a dry run that would create the pack. */
  pack?: BackgroundAsset
  created: boolean
}

async function find(
  client: AppStoreConnectClient,
  appId: string,
  identifier: string
): Promise<BackgroundAsset | undefined> {
  try {
    return await client.findAssetPack(appId, identifier)
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

export async function findOrCreateAssetPack(
  client: AppStoreConnectClient,
  inputs: ActionInputs
): Promise<PackLookup> {
  const { appId, assetPackIdentifier: identifier } = inputs
  const pack = await find(client, appId, identifier)
  if (pack?.attributes?.archived) {
    throw new Error(
      `asset-pack-identifier: the asset pack '${identifier}' is archived in App Store Connect; archived packs accept no new versions. Use a new identifier.`
    )
  }
  if (pack) {
    core.info(`Asset pack '${identifier}': ${pack.id}`)
    return { pack, created: false }
  }
  if (!inputs.createAssetPack) {
    throw new Error(
      `asset-pack-identifier: app ${appId} has no asset pack '${identifier}'. Create it in App Store Connect (the app's Asset Packs), ` +
        'or set `create-asset-pack: true` to let this action create it.'
    )
  }
  if (inputs.dryRun) {
    core.info(`Dry run: the asset pack '${identifier}' does not exist and would be created.`)
    return { created: false }
  }
  try {
    const created = await client.createAssetPack(appId, identifier)
    core.info(`Created asset pack '${identifier}': ${created.id}`)
    return { pack: created, created: true }
  } catch (error) {
    // No answer, or "already used" from a create that raced ours: the pack may exist now.
    const maybeCreated =
      error instanceof UncertainOutcomeError ||
      (error instanceof AscApiError &&
        error.status === 409 &&
        error.pointer?.includes('assetPackIdentifier'))
    if (!maybeCreated) throw error
    const found = await find(client, appId, identifier)
    if (!found || (error instanceof AscApiError && !error.errors[0]?.code.includes('DUPLICATE')))
      throw error
    core.info(`The asset pack '${identifier}' exists after all: ${found.id}`)
    return { pack: found, created: true }
  }
}
