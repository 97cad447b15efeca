// Upload files: a reservation lays out upload operations (signed storage URLs with a required
// header, sizes even or uneven, optionally shuffled or deliberately wrong), announces checksums,
// and a commit checks every part and every checksum form before processing starts.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { conflict, invalidAttribute, related } from './errors.js'
import {
  fieldSelection,
  requireSameId,
  type ApiRequest,
  type Handler,
  type Reply,
  type Schemas
} from './jsonapi.js'
import type { SimulatorContext } from './context.js'
import { readsWhole, type Processing } from './processing.js'
import { Assembly } from './assembly.js'
import type { UrlSigner } from './storage.js'
import type {
  FileChecksums,
  UploadFileRecord,
  UploadOperationRecord,
  VersionRecord
} from './store.js'

export class Uploads {
  constructor(
    private readonly sim: SimulatorContext,
    private readonly signer: UrlSigner,
    private readonly processing: Processing,
    private readonly spoolDir: string
  ) {}

  get handlers(): Record<string, Handler> {
    return {
      backgroundAssetVersions_backgroundAssetUploadFiles_getToManyRelated: (r: ApiRequest) =>
        this.listUploadFiles(r),
      backgroundAssetVersions_backgroundAssetUploadFiles_getToManyRelationship: (r: ApiRequest) =>
        this.sim.api.linkages(
          r,
          this.sim.store.uploadFilesOf(this.sim.store.version(r.pathParams.id).id),
          'backgroundAssetUploadFiles'
        ),
      backgroundAssetUploadFiles_createInstance: (
        r: ApiRequest<Schemas['BackgroundAssetUploadFileCreateRequest']>
      ) => this.reserve(r),
      backgroundAssetUploadFiles_getInstance: (r: ApiRequest) =>
        this.sim.api.single(
          r,
          this.sim.store.uploadFileJson(
            this.sim.store.uploadFile(r.pathParams.id),
            fieldSelection(r.url)
          )
        ),
      backgroundAssetUploadFiles_updateInstance: (
        r: ApiRequest<Schemas['BackgroundAssetUploadFileUpdateRequest']>
      ) => this.commit(r)
    }
  }

  newUploadFile(
    version: VersionRecord,
    assetType: 'ASSET' | 'MANIFEST',
    fileName: string,
    fileSize: number
  ): UploadFileRecord {
    const file: UploadFileRecord = {
      id: this.sim.random.uuid(),
      versionId: version.id,
      assetType,
      fileName,
      fileSize,
      assetToken: `${assetType.toLowerCase()}-${this.sim.random.uuid()}`,
      deliveryState: 'AWAITING_UPLOAD',
      errors: [],
      warnings: [],
      operations: [],
      announced: {}
    }
    this.sim.store.uploadFiles.set(file.id, file)
    return file
  }

  private listUploadFiles(r: ApiRequest): Reply {
    const files = this.sim.store.uploadFilesOf(this.sim.store.version(r.pathParams.id).id)
    const fields = fieldSelection(r.url)
    return this.sim.api.page(r, files, (f) => this.sim.store.uploadFileJson(f, fields))
  }

  private async reserve(
    r: ApiRequest<Schemas['BackgroundAssetUploadFileCreateRequest']>
  ): Promise<Reply> {
    const { data } = r.body
    const versionId = data.relationships.backgroundAssetVersion.data.id
    const version = related(
      this.sim.store.versions,
      'backgroundAssetVersion',
      versionId,
      'asset pack version'
    )
    if (version.state !== 'AWAITING_UPLOAD') {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The version does not accept uploads',
        `Version ${version.number} is ${version.state} and accepts no further uploads.`,
        '/data/relationships/backgroundAssetVersion'
      )
    }
    const { attributes } = data
    const file = this.newUploadFile(
      version,
      attributes.assetType,
      attributes.fileName,
      attributes.fileSize
    )
    const { checksums } = this.sim.options
    const algorithms = [...new Set([checksums.fileAlgorithm, 'MD5' as const])]
    file.announced = {
      file: { algorithm: checksums.fileAlgorithm } as FileChecksums['file'],
      ...(checksums.announceComposite
        ? { composite: { algorithm: 'MD5' } as FileChecksums['composite'] }
        : {})
    }
    file.operations = this.layOut(file)
    const dir = join(this.spoolDir, file.id)
    await mkdir(dir, { recursive: true })
    file.assembly = new Assembly(
      dir,
      file.operations,
      algorithms,
      checksums.announceComposite,
      readsWhole(file)
    )
    return this.sim.api.created(r, this.sim.store.uploadFileJson(file))
  }

  private layOut(file: UploadFileRecord): UploadOperationRecord[] {
    const { partSize, unevenParts, shuffleOperations, expiresInSeconds, defect } =
      this.sim.options.upload
    const sizes: number[] = []
    for (let offset = 0; offset < file.fileSize;) {
      const size = Math.min(
        file.fileSize - offset,
        unevenParts
          ? this.sim.random.int(Math.ceil(partSize / 2), Math.floor(partSize * 1.5))
          : partSize
      )
      sizes.push(size)
      offset += size
    }
    const expires = Math.floor(this.sim.now() / 1000) + expiresInSeconds
    let offset = 0
    const operations = sizes.map((length, i) => {
      const partNumber = i + 1
      const path = `/storage/${file.id}/${partNumber}`
      const op: UploadOperationRecord = {
        partNumber,
        offset,
        length,
        url: `${this.sim.baseUrl()}${path}?expires=${expires}&signature=${this.signer.sign(path, expires)}`,
        expiration: new Date(expires * 1000).toISOString(),
        requestHeaders: [
          { name: 'Content-Type', value: 'application/octet-stream' },
          { name: 'x-upload-part-token', value: this.partToken(path) }
        ]
      }
      offset += length
      return op
    })
    if (defect && operations.length > 1) {
      if (defect === 'gap') operations[1].offset += 1
      if (defect === 'overlap') operations[1].offset -= 1
    }
    if (defect === 'past-end') operations[operations.length - 1].length += 1
    return shuffleOperations ? this.sim.random.shuffle(operations) : operations
  }

  /** The token a part's `x-upload-part-token` header must carry. */
  partToken(path: string): string {
    return this.signer.sign(`${path}#token`, 0).slice(0, 32)
  }

  /** `uploaded: true`: every part in, the checksums right (in the form announced), then processing. */
  private async commit(
    r: ApiRequest<Schemas['BackgroundAssetUploadFileUpdateRequest']>
  ): Promise<Reply> {
    const { data } = r.body
    const file = this.sim.store.uploadFile(r.pathParams.id)
    requireSameId(data, file.id)
    const attributes = data.attributes ?? {}
    if (attributes.uploaded !== true)
      return this.sim.api.single(r, this.sim.store.uploadFileJson(file))
    const assembly = this.committable(file, attributes)
    const digests = await assembly.digests()
    if (digests.size !== file.fileSize) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The upload is incomplete',
        `Received ${digests.size} bytes; the reservation was for ${file.fileSize}.`,
        '/data/attributes/uploaded'
      )
    }
    checkChecksums(file, attributes, digests)
    assembly.committed = true
    file.deliveryState = 'UPLOAD_COMPLETE'
    const announcedAlgorithm = file.announced.file!.algorithm
    file.committedChecksums = {
      file: { hash: digests.file[announcedAlgorithm]!, algorithm: announcedAlgorithm },
      ...(file.announced.composite
        ? { composite: { hash: digests.composite!, algorithm: 'MD5' } }
        : {})
    }
    if (attributes.sourceFileChecksum) file.committedLegacyChecksum = attributes.sourceFileChecksum
    this.processing.start(file)
    return this.sim.api.single(r, this.sim.store.uploadFileJson(file))
  }

  /** The file's parts, if it can be committed now: not committed before, every part in, unchanged. */
  private committable(file: UploadFileRecord, attributes: CommitAttributes): Assembly {
    if (file.deliveryState !== 'AWAITING_UPLOAD' || !file.assembly) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The upload was already committed',
        `Upload file '${file.id}' is ${file.deliveryState}; it was committed before.`,
        '/data/attributes/uploaded'
      )
    }
    const { checksums } = this.sim.options
    if (attributes.sourceFileChecksums && checksums.refuseChecksumObject) {
      throw invalidAttribute(
        '/data/attributes/sourceFileChecksums',
        'The attribute sourceFileChecksums is not supported for this upload; provide sourceFileChecksum.'
      )
    }
    if (
      checksums.requireChecksum &&
      !attributes.sourceFileChecksums &&
      !attributes.sourceFileChecksum
    ) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.REQUIRED',
        'A required attribute is missing',
        'A checksum of the uploaded file is required to commit.',
        '/data/attributes/sourceFileChecksums'
      )
    }
    const missing = file.assembly.missingParts()
    if (missing.length) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The upload is incomplete',
        `Upload operation part(s) ${missing.join(', ')} have not been uploaded.`,
        '/data/attributes/uploaded'
      )
    }
    const changed = [...file.assembly.changedAfterFold]
    if (changed.length) {
      // The simulator does not keep folded bytes, so it cannot re-hash: it says so instead.
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The upload changed after it was stored',
        `Part(s) ${changed.join(', ')} were uploaded again with different bytes; reserve a new upload file.`,
        '/data/attributes/uploaded'
      )
    }
    return file.assembly
  }
}

type CommitAttributes = NonNullable<
  Schemas['BackgroundAssetUploadFileUpdateRequest']['data']['attributes']
>

/** Every checksum the commit sent must be in the announced form and match the received bytes. */
function checkChecksums(
  file: UploadFileRecord,
  attributes: CommitAttributes,
  digests: Awaited<ReturnType<Assembly['digests']>>
): void {
  const sent = attributes.sourceFileChecksums as FileChecksums | null | undefined
  if (sent?.file) {
    const expected = digests.file[sent.file.algorithm]
    if (!expected || sent.file.algorithm !== file.announced.file?.algorithm) {
      throw invalidAttribute(
        '/data/attributes/sourceFileChecksums/file/algorithm',
        `This upload expects a ${file.announced.file?.algorithm} file checksum.`
      )
    }
    if (sent.file.hash !== expected)
      throw invalidAttribute(
        '/data/attributes/sourceFileChecksums/file/hash',
        'The file checksum does not match the uploaded bytes.'
      )
  }
  if (sent?.composite) {
    if (!file.announced.composite)
      throw invalidAttribute(
        '/data/attributes/sourceFileChecksums/composite',
        'This upload does not take a composite checksum.'
      )
    if (sent.composite.hash !== digests.composite)
      throw invalidAttribute(
        '/data/attributes/sourceFileChecksums/composite/hash',
        'The composite checksum does not match the uploaded parts.'
      )
  }
  if (attributes.sourceFileChecksum && attributes.sourceFileChecksum !== digests.file.MD5) {
    throw invalidAttribute(
      '/data/attributes/sourceFileChecksum',
      'The MD5 checksum does not match the uploaded bytes.'
    )
  }
}
