// Delivers one file (the manifest or the archive) to a version: reserve an upload file, PUT its
// parts while hashing the file, commit with the checksum the reservation announces.
import * as core from '@actions/core'
import { hashFile, type Digests } from './archive.js'
import type {
  AppStoreConnectClient,
  BackgroundAssetUploadFile,
  UploadFileUpdateAttributes
} from './asc-client.js'
import { AscApiError, UncertainOutcomeError } from './errors.js'
import type { ManifestFile } from './inputs.js'
import { waitForUploadFile, type PollOptions } from './processing.js'
import { Progress, planParts, type PartUploader, type UploadStats } from './upload.js'

export interface FileToDeliver {
  assetType: 'ASSET' | 'MANIFEST'
  path: string
  fileName: string
  size: number
}

export interface Delivery {
  uploadFile: BackgroundAssetUploadFile
  digests: Digests
  stats: UploadStats
  /** The checksum field the commit used in the end. */
  checksumForm: 'sourceFileChecksums' | 'sourceFileChecksum (deprecated)'
}

const COMMIT_ATTEMPTS = 3

/** Reserves an upload file; after a create with no answer, looks for the one it may have made. */
async function reserve(
  client: AppStoreConnectClient,
  versionId: string,
  file: FileToDeliver
): Promise<BackgroundAssetUploadFile> {
  try {
    return await client.reserveUploadFile(versionId, file.assetType, file.fileName, file.size)
  } catch (error) {
    if (!(error instanceof UncertainOutcomeError)) throw error
    core.warning(`${error.message}; looking for the reservation before asking again.`)
    const existing = (await client.listUploadFiles(versionId)).find(
      (f) =>
        f.attributes?.assetType === file.assetType &&
        f.attributes.fileSize === file.size &&
        f.attributes.assetDeliveryState?.state === 'AWAITING_UPLOAD'
    )
    return existing
      ? client.getUploadFile(existing.id)
      : client.reserveUploadFile(versionId, file.assetType, file.fileName, file.size)
  }
}

function checksumsFor(
  reservation: BackgroundAssetUploadFile,
  digests: Digests
): UploadFileUpdateAttributes['sourceFileChecksums'] {
  const announced = reservation.attributes?.sourceFileChecksums
  const algorithm = announced?.file?.algorithm ?? 'MD5'
  const hash = algorithm === 'SHA_256' ? digests.sha256! : digests.md5
  return {
    file: { hash, algorithm },
    ...(announced?.composite
      ? { composite: { hash: digests.composite!, algorithm: 'MD5' as const } }
      : {})
  }
}

/**
 * Commits. A 409 pointing at the checksum object means the server wants the deprecated MD5
 * string: commit again that way, with a warning. A commit that got no answer is re-read before
 * it is sent again.
 */
async function commit(
  client: AppStoreConnectClient,
  reservation: BackgroundAssetUploadFile,
  digests: Digests
): Promise<Delivery['checksumForm']> {
  let attributes: UploadFileUpdateAttributes = {
    uploaded: true,
    sourceFileChecksums: checksumsFor(reservation, digests)
  }
  let form: Delivery['checksumForm'] = 'sourceFileChecksums'
  for (let attempt = 1; ; attempt++) {
    try {
      await client.updateUploadFile(reservation.id, attributes, false)
      return form
    } catch (error) {
      if (
        error instanceof AscApiError &&
        error.status === 409 &&
        form === 'sourceFileChecksums' &&
        error.pointer?.startsWith('/data/attributes/sourceFileChecksums')
      ) {
        core.warning(
          `App Store Connect refused the sourceFileChecksums object (${error.errors[0]?.detail ?? '409'}); committing again with the deprecated sourceFileChecksum MD5 string.`
        )
        attributes = { uploaded: true, sourceFileChecksum: digests.md5 }
        form = 'sourceFileChecksum (deprecated)'
        continue
      }
      if (!(error instanceof UncertainOutcomeError) || attempt >= COMMIT_ATTEMPTS) throw error
      const state = (await client.getUploadFile(reservation.id)).attributes?.assetDeliveryState
        ?.state
      if (state && state !== 'AWAITING_UPLOAD') return form
      core.info(
        `The commit got no answer and the upload file is still AWAITING_UPLOAD; committing again (attempt ${attempt + 1} of ${COMMIT_ATTEMPTS}).`
      )
    }
  }
}

export async function deliverFile(
  client: AppStoreConnectClient,
  uploader: PartUploader,
  versionId: string,
  file: FileToDeliver,
  known?: Digests
): Promise<Delivery> {
  const reservation = await reserve(client, versionId, file)
  const parts = planParts(reservation, file.size)
  const announced = reservation.attributes?.sourceFileChecksums
  const needSha256 = announced?.file?.algorithm === 'SHA_256'
  core.info(
    `Reserved upload file ${reservation.id}: ${parts.length} part(s); checksum ${announced?.file?.algorithm ?? 'MD5'}${announced?.composite ? ' + composite MD5' : ''}`
  )
  const progress = new Progress(`Uploading ${file.fileName}`, file.size)
  // Hash in a second sequential read while the parts go out, unless what is needed is known.
  const reusable =
    known && (!needSha256 || known.sha256) && (!announced?.composite || known.composite)
  const [stats, digests] = await Promise.all([
    uploader.uploadAll(file.path, parts, progress).finally(() => progress.stop()),
    reusable
      ? Promise.resolve(known)
      : hashFile(file.path, { sha256: needSha256, parts: announced?.composite ? parts : undefined })
  ])
  const checksumForm = await commit(client, reservation, digests)
  return { uploadFile: reservation, digests, stats, checksumForm }
}

/** Step 5: send the manifest alone and wait for Apple's verdict, before the archive is reserved. */
export async function preflightManifest(
  client: AppStoreConnectClient,
  uploader: PartUploader,
  versionId: string,
  manifest: ManifestFile,
  poll: PollOptions
): Promise<BackgroundAssetUploadFile> {
  const delivery = await deliverFile(client, uploader, versionId, {
    assetType: 'MANIFEST',
    path: manifest.path,
    fileName: manifest.fileName,
    size: manifest.size
  })
  return waitForUploadFile(client, delivery.uploadFile.id, `Manifest ${manifest.fileName}`, poll)
}
