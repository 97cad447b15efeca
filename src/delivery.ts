// Delivers one file (the manifest or the archive) to a version: reserve an upload file, PUT its
// parts while hashing the file, commit with the checksum the reservation announces.
import * as log from './log.js'
import { hashFile, type Digests } from './archive/index.js'
import type {
  AppStoreConnectClient,
  BackgroundAssetUploadFile,
  UploadFileUpdateAttributes
} from './asc/client.js'
import { writeWithoutRepeats } from './asc/retry.js'
import { AscApiError, UploadPlanError } from './errors.js'
import type { ManifestFile } from './pack-entries.js'
import { waitForUploadFile, type PollOptions } from './processing.js'
import { formatSize } from './format.js'
import { planParts, type PartPlan } from './parts/plan.js'
import { Progress } from './parts/progress.js'
import type { PartUploader, UploadStats } from './parts/uploader.js'

export interface FileToDeliver {
  assetType: 'ASSET' | 'MANIFEST'
  /** The bytes: a file on disk (streamed), or a small buffer. */
  source: string | Buffer
  fileName: string
  size: number
}

export interface Delivery {
  uploadFile: BackgroundAssetUploadFile
  digests: Digests
  stats: UploadStats
  /** The checksum field the commit used in the end. */
  checksumForm: 'sourceFileChecksums' | 'sourceFileChecksum (deprecated)'
  /** Parts an earlier run had sent, not sent again. */
  resumedParts: number
}

/** Reserves an upload file; after a create with no answer, looks for the one it may have made. */
function reserve(
  client: AppStoreConnectClient,
  versionId: string,
  file: FileToDeliver
): Promise<BackgroundAssetUploadFile> {
  return writeWithoutRepeats(
    'POST /v1/backgroundAssetUploadFiles',
    () => client.reserveUploadFile(versionId, file.assetType, file.fileName, file.size),
    async () => {
      const existing = (await client.listUploadFiles(versionId)).find(
        (f) =>
          f.attributes?.assetType === file.assetType &&
          f.attributes.fileSize === file.size &&
          f.attributes.assetDeliveryState?.state === 'AWAITING_UPLOAD'
      )
      return existing && client.getUploadFile(existing.id)
    },
    'looking for the reservation before asking again'
  )
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
  const commitWith = (attributes: UploadFileUpdateAttributes) =>
    writeWithoutRepeats(
      `PATCH /v1/backgroundAssetUploadFiles/${reservation.id}`,
      async () => !!(await client.updateUploadFile(reservation.id, attributes, false)),
      // Committed after all when the upload file has left AWAITING_UPLOAD.
      async () => {
        const file = await client.getUploadFile(reservation.id)
        const state = file.attributes?.assetDeliveryState?.state
        return state && state !== 'AWAITING_UPLOAD' ? true : undefined
      },
      're-reading the upload file before committing again'
    )
  try {
    await commitWith({ uploaded: true, sourceFileChecksums: checksumsFor(reservation, digests) })
    return 'sourceFileChecksums'
  } catch (error) {
    const refusedObject =
      error instanceof AscApiError &&
      error.status === 409 &&
      error.pointer?.startsWith('/data/attributes/sourceFileChecksums')
    if (!refusedObject) throw error
    log.warning(
      `App Store Connect refused the sourceFileChecksums object (${error.errors[0]?.detail ?? '409'}); committing again with the deprecated sourceFileChecksum MD5 string.`
    )
    await commitWith({ uploaded: true, sourceFileChecksum: digests.md5 })
    return 'sourceFileChecksum (deprecated)'
  }
}

export interface DeliveryOptions {
  stallTimeoutMs: number
  /** Checksums already computed (the archive was hashed to compare it with existing versions). */
  known?: Digests
  /** A reservation an earlier run started, and the parts it sent (from the resume ledger). */
  resume?: { uploadFileId: string; sentParts: number[] }
  /** The reservation in use, and the parts already in the storage. */
  onReserved?: (uploadFileId: string, sentParts: number[]) => void
  onPartSent?: (partNumber: number) => void
}

interface Reservation {
  uploadFile: BackgroundAssetUploadFile
  parts: PartPlan[]
  alreadySent: Set<number>
}

/**
 * The ledger's reservation, if App Store Connect confirms it: listed on this version, the same
 * kind and size, still AWAITING_UPLOAD, its operations unexpired. Otherwise undefined.
 */
async function resumable(
  client: AppStoreConnectClient,
  versionId: string,
  file: FileToDeliver,
  resume: NonNullable<DeliveryOptions['resume']>
): Promise<Reservation | undefined> {
  const listed = (await client.listUploadFiles(versionId)).find((f) => f.id === resume.uploadFileId)
  const a = listed?.attributes
  if (
    !listed ||
    a?.assetType !== file.assetType ||
    a.fileSize !== file.size ||
    a.assetDeliveryState?.state !== 'AWAITING_UPLOAD'
  ) {
    log.info(
      `The ledger's upload file ${resume.uploadFileId} cannot be resumed (${listed ? `${a?.assetDeliveryState?.state}, ${a?.fileSize} bytes` : 'not on this version'}); reserving anew.`
    )
    return undefined
  }
  const uploadFile = await client.getUploadFile(listed.id)
  try {
    const parts = planParts(uploadFile, file.size)
    const alreadySent = new Set(
      resume.sentParts.filter((n) => parts.some((p) => p.partNumber === n))
    )
    return { uploadFile, parts, alreadySent }
  } catch (error) {
    if (!(error instanceof UploadPlanError)) throw error
    log.info(
      `The ledger's upload file ${listed.id} cannot be resumed: ${error.message} Reserving again on the same version.`
    )
    return undefined
  }
}

// Long on purpose: reserve (or resume), send while hashing, commit, and the ledger-hint repair
// read as one sequence; each step is a call to a helper above.
export async function deliverFile(
  client: AppStoreConnectClient,
  uploader: PartUploader,
  versionId: string,
  file: FileToDeliver,
  options: DeliveryOptions
): Promise<Delivery> {
  const resumed = options.resume && (await resumable(client, versionId, file, options.resume))
  const {
    uploadFile: reservation,
    parts,
    alreadySent
  }: Reservation = resumed || (await newReservation(client, versionId, file))
  options.onReserved?.(reservation.id, [...alreadySent])
  const announced = reservation.attributes?.sourceFileChecksums
  const needSha256 = announced?.file?.algorithm === 'SHA_256'
  const toSend = parts.filter((p) => !alreadySent.has(p.partNumber))
  const checksum = `checksum ${announced?.file?.algorithm ?? 'MD5'}${announced?.composite ? ' + composite MD5' : ''}`
  log.info(
    resumed
      ? `Resuming upload file ${reservation.id}: ${alreadySent.size} of ${parts.length} parts were sent by an earlier run; sending the other ${toSend.length} (${formatSize(bytesOf(toSend))}); ${checksum}`
      : `Reserved upload file ${reservation.id}: ${parts.length} part(s); ${checksum}`
  )
  const send = async (batch: PartPlan[]) => {
    const progress = new Progress(`Uploading ${file.fileName}`, bytesOf(batch))
    return uploader.uploadAll(file.source, batch, progress, options).finally(() => progress.stop())
  }
  // Hash in a second sequential read while the parts go out, unless what is needed is known.
  const known = options.known
  const reusable =
    known && (!needSha256 || known.sha256) && (!announced?.composite || known.composite)
  const [stats, digests] = await Promise.all([
    send(toSend),
    reusable
      ? Promise.resolve(known)
      : hashFile(file.source, {
          sha256: needSha256,
          parts: announced?.composite ? parts : undefined
        })
  ])
  let checksumForm: Delivery['checksumForm']
  try {
    checksumForm = await commit(client, reservation, digests)
  } catch (error) {
    // The ledger is a hint: if the storage lacks a part it named, send those parts and commit again.
    if (!(error instanceof AscApiError && error.status === 409 && alreadySent.size)) throw error
    log.warning(
      `The commit after resuming failed (${error.errors[0]?.detail ?? error.message}); sending the ${alreadySent.size} part(s) the ledger counted as sent, then committing again.`
    )
    const again = await send(parts.filter((p) => alreadySent.has(p.partNumber)))
    stats.parts += again.parts
    stats.bytes += again.bytes
    stats.retries += again.retries
    checksumForm = await commit(client, reservation, digests)
  }
  const algorithm =
    checksumForm === 'sourceFileChecksums' ? (announced?.file?.algorithm ?? 'MD5') : 'MD5'
  log.info(
    `Sent ${formatSize(stats.bytes)} in ${stats.parts} part(s) (${stats.retries} retried); committed with ${checksumForm} (${algorithm}).`
  )
  return { uploadFile: reservation, digests, stats, checksumForm, resumedParts: alreadySent.size }
}

async function newReservation(
  client: AppStoreConnectClient,
  versionId: string,
  file: FileToDeliver
): Promise<Reservation> {
  const uploadFile = await reserve(client, versionId, file)
  return { uploadFile, parts: planParts(uploadFile, file.size), alreadySent: new Set() }
}

function bytesOf(parts: PartPlan[]): number {
  return parts.reduce((n, p) => n + p.length, 0)
}

/** Step 5: send the manifest alone and wait for Apple's verdict, before the archive is reserved. */
export async function preflightManifest(
  client: AppStoreConnectClient,
  uploader: PartUploader,
  versionId: string,
  manifest: ManifestFile,
  poll: PollOptions,
  stallTimeoutMs: number
): Promise<BackgroundAssetUploadFile> {
  if (manifest.stripped.length)
    log.info(
      `${manifest.fileName} has ${manifest.stripped.join(' and ')}: App Store Connect receives it as plain JSON with the same content.`
    )
  const delivery = await deliverFile(
    client,
    uploader,
    versionId,
    {
      assetType: 'MANIFEST',
      source: manifest.json,
      fileName: manifest.fileName,
      size: manifest.json.length
    },
    { stallTimeoutMs }
  )
  return waitForUploadFile(
    client,
    delivery.uploadFile.id,
    `Manifest preflight (${manifest.fileName})`,
    poll
  )
}
