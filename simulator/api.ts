// The Background Assets operations of the spec, with the rules Apple documents or users have
// reported (identifier characters, version numbering, commit checks, processing).
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Assembly, UrlSigner } from './storage.js'
import {
  conflict,
  invalidRelationship,
  related,
  invalidAttribute,
  invalidParameter,
  notFound
} from './errors.js'
import type { Random } from './random.js'
import type { Platform, SeededPack, SimulatorOptions, StateMessage } from './options.js'
import type {
  FieldSelection,
  FileChecksums,
  PackRecord,
  Store,
  UploadFileRecord,
  UploadOperationRecord,
  VersionRecord
} from './store.js'

export interface Reply {
  status: number
  body: unknown
}

export interface ApiRequest {
  url: URL
  pathParams: Record<string, string>
  body: unknown
}

const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/
const MAX_PACKS_PER_APP = 100
const MANIFEST_PLATFORMS: Record<string, Platform> = {
  iOS: 'IOS',
  macOS: 'MAC_OS',
  tvOS: 'TV_OS',
  visionOS: 'VISION_OS'
}
const ARCHIVE_SIGNATURES = ['AA01', 'YAA1', 'pbz']

type Body = {
  data: {
    type: string
    id?: string
    attributes?: Record<string, unknown>
    relationships?: Record<string, { data: { type: string; id: string } }>
  }
}

function list(param: string | null): string[] {
  return param ? param.split(',').filter(Boolean) : []
}

function fieldSelection(url: URL): FieldSelection {
  const fields: FieldSelection = new Map()
  for (const [name, value] of url.searchParams) {
    const type = /^fields\[(.+)\]$/.exec(name)?.[1]
    if (type) fields.set(type, new Set(list(value)))
  }
  return fields
}

export class AscApi {
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    private readonly store: Store,
    private readonly options: SimulatorOptions,
    private readonly random: Random,
    private readonly signer: UrlSigner,
    private readonly spoolDir: string,
    private readonly baseUrl: () => string,
    private readonly now: () => number
  ) {}

  get handlers(): Record<string, (req: ApiRequest) => Promise<Reply> | Reply> {
    return {
      apps_backgroundAssets_getToManyRelated: (r) => this.listPacks(r),
      apps_backgroundAssets_getToManyRelationship: (r) =>
        this.linkages(r, this.packsOfApp(r.pathParams.id), 'backgroundAssets'),
      backgroundAssets_createInstance: (r) => this.createPack(r),
      backgroundAssets_getInstance: (r) => this.getPack(r),
      backgroundAssets_updateInstance: (r) => this.updatePack(r),
      backgroundAssets_versions_getToManyRelated: (r) => this.listVersions(r),
      backgroundAssets_versions_getToManyRelationship: (r) =>
        this.linkages(
          r,
          this.store.versionsOf(this.pack(r.pathParams.id).id),
          'backgroundAssetVersions'
        ),
      backgroundAssetVersions_createInstance: (r) => this.createVersion(r),
      backgroundAssetVersions_getInstance: (r) => this.getVersion(r),
      backgroundAssetVersions_backgroundAssetUploadFiles_getToManyRelated: (r) =>
        this.listUploadFiles(r),
      backgroundAssetVersions_backgroundAssetUploadFiles_getToManyRelationship: (r) =>
        this.linkages(
          r,
          this.store.uploadFilesOf(this.version(r.pathParams.id).id),
          'backgroundAssetUploadFiles'
        ),
      backgroundAssetUploadFiles_createInstance: (r) => this.reserve(r),
      backgroundAssetUploadFiles_getInstance: (r) =>
        this.single(
          r,
          this.store.uploadFileJson(this.uploadFile(r.pathParams.id), fieldSelection(r.url))
        ),
      backgroundAssetUploadFiles_updateInstance: (r) => this.commit(r),
      backgroundAssetVersionInternalBetaReleases_getInstance: (r) => this.getInternalBetaRelease(r),
      backgroundAssetVersionExternalBetaReleases_getInstance: (r) => {
        throw notFound('backgroundAssetVersionExternalBetaReleases', r.pathParams.id)
      },
      backgroundAssetVersionAppStoreReleases_getInstance: (r) => {
        throw notFound('backgroundAssetVersionAppStoreReleases', r.pathParams.id)
      }
    }
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t)
  }

  // ---- seeding -------------------------------------------------------------------------------

  seedPack(seed: SeededPack): PackRecord {
    const pack = this.newPack(this.options.appId, seed.identifier)
    pack.archived = seed.archived ?? false
    for (const v of seed.versions ?? []) {
      const version = this.newVersion(pack)
      version.state = v.state
      version.platforms = v.platforms ?? this.options.defaultPlatforms
      if (v.archive) {
        const file = this.newUploadFile(
          version,
          'ASSET',
          v.archive.fileName ?? 'pack.aar',
          v.archive.fileSize
        )
        file.operations = []
        file.deliveryState =
          v.state === 'COMPLETE' ? 'COMPLETE' : v.state === 'FAILED' ? 'FAILED' : 'UPLOAD_COMPLETE'
        const sha = this.options.checksums.fileAlgorithm === 'SHA_256' && v.archive.sha256
        file.committedChecksums = {
          file: sha
            ? { hash: v.archive.sha256!, algorithm: 'SHA_256' }
            : { hash: v.archive.md5, algorithm: 'MD5' }
        }
        version.assetFileId = file.id
      }
      if (v.state === 'COMPLETE') this.release(version)
    }
    return pack
  }

  // ---- packs ---------------------------------------------------------------------------------

  private app(id: string): string {
    if (!this.store.apps.has(id)) throw notFound('apps', id)
    return id
  }

  private pack(id: string): PackRecord {
    const pack = this.store.packs.get(id)
    if (!pack) throw notFound('backgroundAssets', id)
    return pack
  }

  private packsOfApp(appId: string): PackRecord[] {
    this.app(appId)
    return [...this.store.packs.values()].filter((p) => p.appId === appId)
  }

  private listPacks(r: ApiRequest): Reply {
    const q = r.url.searchParams
    let packs = this.packsOfApp(r.pathParams.id)
    const identifiers = list(q.get('filter[assetPackIdentifier]'))
    const bad = identifiers.find((i) => !IDENTIFIER.test(i))
    if (bad)
      throw invalidParameter(
        'filter[assetPackIdentifier]',
        `'${bad}' is not a valid value for the filter 'assetPackIdentifier'.`
      )
    if (identifiers.length) packs = packs.filter((p) => identifiers.includes(p.identifier))
    const archived = list(q.get('filter[archived]'))
    if (archived.length) packs = packs.filter((p) => archived.includes(String(p.archived)))
    const [sort] = list(q.get('sort'))
    if (sort) {
      const key = sort.replace('-', '') as 'assetPackIdentifier' | 'createdDate'
      const value = (p: PackRecord) => (key === 'createdDate' ? p.createdDate : p.identifier)
      packs.sort((a, b) => value(a).localeCompare(value(b)) * (sort.startsWith('-') ? -1 : 1))
    }
    const fields = fieldSelection(r.url)
    const include = list(q.get('include'))
    return this.page(
      r,
      packs,
      (p) => this.store.packJson(p, fields),
      (slice) => this.store.includedForPacks(slice, include, fields)
    )
  }

  private getPack(r: ApiRequest): Reply {
    const pack = this.pack(r.pathParams.id)
    const fields = fieldSelection(r.url)
    const included = this.store.includedForPacks(
      [pack],
      list(r.url.searchParams.get('include')),
      fields
    )
    return this.single(r, this.store.packJson(pack, fields), included)
  }

  private newPack(appId: string, identifier: string): PackRecord {
    const pack: PackRecord = {
      id: this.random.uuid(),
      appId,
      identifier,
      archived: false,
      createdDate: new Date(this.now()).toISOString()
    }
    this.store.packs.set(pack.id, pack)
    return pack
  }

  private createPack(r: ApiRequest): Reply {
    const { data } = r.body as Body
    const identifier = data.attributes!.assetPackIdentifier as string
    const appId = data.relationships!.app.data.id
    if (!this.store.apps.has(appId)) {
      throw invalidRelationship('/data/relationships/app', `There is no app with id '${appId}'.`)
    }
    if (!IDENTIFIER.test(identifier)) {
      throw invalidAttribute(
        '/data/attributes/assetPackIdentifier',
        `'${identifier}' is not a valid asset pack identifier: use letters, digits and hyphens, not starting or ending with a hyphen.`
      )
    }
    const existing = this.packsOfApp(appId)
    if (existing.some((p) => p.identifier === identifier)) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE',
        'The provided entity includes an attribute with a value that has already been used',
        `The asset pack identifier '${identifier}' is already used by this app.`,
        '/data/attributes/assetPackIdentifier'
      )
    }
    if (existing.length >= MAX_PACKS_PER_APP) {
      throw conflict(
        'ENTITY_ERROR.LIMIT_EXCEEDED',
        'The app has too many asset packs',
        `An app can have at most ${MAX_PACKS_PER_APP} asset packs.`
      )
    }
    return {
      status: 201,
      body: this.document(this.store.packJson(this.newPack(appId, identifier)), r)
    }
  }

  private updatePack(r: ApiRequest): Reply {
    const { data } = r.body as Body
    const pack = this.pack(r.pathParams.id)
    this.requireSameId(data, pack.id)
    const archived = data.attributes?.archived
    if (typeof archived === 'boolean') {
      if (pack.archived && !archived)
        throw invalidAttribute(
          '/data/attributes/archived',
          'An archived asset pack cannot be unarchived.'
        )
      pack.archived = archived
    }
    return this.single(r, this.store.packJson(pack))
  }

  // ---- versions ------------------------------------------------------------------------------

  private version(id: string): VersionRecord {
    const version = this.store.versions.get(id)
    if (!version) throw notFound('backgroundAssetVersions', id)
    return version
  }

  private newVersion(pack: PackRecord): VersionRecord {
    const number = this.store.versionsOf(pack.id).reduce((max, v) => Math.max(max, v.number), 0) + 1
    const version: VersionRecord = {
      id: this.random.uuid(),
      packId: pack.id,
      number,
      state: 'AWAITING_UPLOAD',
      platforms: [],
      createdDate: new Date(this.now()).toISOString()
    }
    this.store.versions.set(version.id, version)
    return version
  }

  private listVersions(r: ApiRequest): Reply {
    const q = r.url.searchParams
    let versions = this.store.versionsOf(this.pack(r.pathParams.id).id)
    const states = list(q.get('filter[state]'))
    if (states.length) versions = versions.filter((v) => states.includes(v.state))
    const numbers = list(q.get('filter[version]'))
    if (numbers.length) versions = versions.filter((v) => numbers.includes(String(v.number)))
    const platforms = list(q.get('filter[platforms]'))
    if (platforms.length)
      versions = versions.filter((v) => v.platforms.some((p) => platforms.includes(p)))
    const [sort] = list(q.get('sort'))
    // Without a sort, the order is the resource IDs' (random): clients must not rely on it.
    versions.sort(
      sort
        ? (a, b) => (a.number - b.number) * (sort === '-version' ? -1 : 1)
        : (a, b) => a.id.localeCompare(b.id)
    )
    const fields = fieldSelection(r.url)
    const include = list(q.get('include'))
    return this.page(
      r,
      versions,
      (v) => this.store.versionJson(v, fields),
      (items) => this.store.includedForVersions(items, include, fields)
    )
  }

  private getVersion(r: ApiRequest): Reply {
    const version = this.version(r.pathParams.id)
    const fields = fieldSelection(r.url)
    const included = this.store.includedForVersions(
      [version],
      list(r.url.searchParams.get('include')),
      fields
    )
    return this.single(r, this.store.versionJson(version, fields), included)
  }

  private createVersion(r: ApiRequest): Reply {
    const { data } = r.body as Body
    const packId = data.relationships!.backgroundAsset.data.id
    const pack = related(this.store.packs, 'backgroundAsset', packId, 'asset pack')
    if (pack.archived) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack is archived',
        `The asset pack '${pack.identifier}' is archived and accepts no new versions.`,
        '/data/relationships/backgroundAsset'
      )
    }
    return { status: 201, body: this.document(this.store.versionJson(this.newVersion(pack)), r) }
  }

  // ---- upload files --------------------------------------------------------------------------

  private uploadFile(id: string): UploadFileRecord {
    const file = this.store.uploadFiles.get(id)
    if (!file) throw notFound('backgroundAssetUploadFiles', id)
    return file
  }

  private listUploadFiles(r: ApiRequest): Reply {
    const files = this.store.uploadFilesOf(this.version(r.pathParams.id).id)
    const fields = fieldSelection(r.url)
    return this.page(r, files, (f) => this.store.uploadFileJson(f, fields))
  }

  private newUploadFile(
    version: VersionRecord,
    assetType: 'ASSET' | 'MANIFEST',
    fileName: string,
    fileSize: number
  ): UploadFileRecord {
    const file: UploadFileRecord = {
      id: this.random.uuid(),
      versionId: version.id,
      assetType,
      fileName,
      fileSize,
      assetToken: `${assetType.toLowerCase()}-${this.random.uuid()}`,
      deliveryState: 'AWAITING_UPLOAD',
      errors: [],
      warnings: [],
      operations: [],
      announced: {}
    }
    this.store.uploadFiles.set(file.id, file)
    return file
  }

  private async reserve(r: ApiRequest): Promise<Reply> {
    const { data } = r.body as Body
    const versionId = data.relationships!.backgroundAssetVersion.data.id
    const version = related(
      this.store.versions,
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
    const attributes = data.attributes as {
      assetType: 'ASSET' | 'MANIFEST'
      fileName: string
      fileSize: number
    }
    const file = this.newUploadFile(
      version,
      attributes.assetType,
      attributes.fileName,
      attributes.fileSize
    )
    const { checksums } = this.options
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
      file.assetType === 'MANIFEST'
    )
    return { status: 201, body: this.document(this.store.uploadFileJson(file), r) }
  }

  private layOut(file: UploadFileRecord): UploadOperationRecord[] {
    const { partSize, unevenParts, shuffleOperations, expiresInSeconds, defect } =
      this.options.upload
    const sizes: number[] = []
    for (let offset = 0; offset < file.fileSize;) {
      const size = Math.min(
        file.fileSize - offset,
        unevenParts
          ? this.random.int(Math.ceil(partSize / 2), Math.floor(partSize * 1.5))
          : partSize
      )
      sizes.push(size)
      offset += size
    }
    const expires = Math.floor(this.now() / 1000) + expiresInSeconds
    let offset = 0
    const operations = sizes.map((length, i) => {
      const partNumber = i + 1
      const path = `/storage/${file.id}/${partNumber}`
      const op: UploadOperationRecord = {
        partNumber,
        offset,
        length,
        url: `${this.baseUrl()}${path}?expires=${expires}&signature=${this.signer.sign(path, expires)}`,
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
    return shuffleOperations ? this.random.shuffle(operations) : operations
  }

  /** The token a part's `x-upload-part-token` header must carry. */
  partToken(path: string): string {
    return this.signer.sign(`${path}#token`, 0).slice(0, 32)
  }

  private async commit(r: ApiRequest): Promise<Reply> {
    const { data } = r.body as Body
    const file = this.uploadFile(r.pathParams.id)
    this.requireSameId(data, file.id)
    const attributes = (data.attributes ?? {}) as {
      uploaded?: boolean | null
      sourceFileChecksums?: FileChecksums | null
      sourceFileChecksum?: string | null
    }
    if (attributes.uploaded !== true) return this.single(r, this.store.uploadFileJson(file))
    if (file.deliveryState !== 'AWAITING_UPLOAD' || !file.assembly) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The upload was already committed',
        `Upload file '${file.id}' is ${file.deliveryState}; it was committed before.`,
        '/data/attributes/uploaded'
      )
    }
    const { checksums } = this.options
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
    const digests = await file.assembly.digests()
    if (digests.size !== file.fileSize) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The upload is incomplete',
        `Received ${digests.size} bytes; the reservation was for ${file.fileSize}.`,
        '/data/attributes/uploaded'
      )
    }
    const sent = attributes.sourceFileChecksums
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
    file.assembly.committed = true
    file.deliveryState = 'UPLOAD_COMPLETE'
    const announcedAlgorithm = file.announced.file!.algorithm
    file.committedChecksums = {
      file: { hash: digests.file[announcedAlgorithm]!, algorithm: announcedAlgorithm },
      ...(file.announced.composite
        ? { composite: { hash: digests.composite!, algorithm: 'MD5' } }
        : {})
    }
    if (attributes.sourceFileChecksum) file.committedLegacyChecksum = attributes.sourceFileChecksum
    this.startProcessing(file)
    return this.single(r, this.store.uploadFileJson(file))
  }

  // ---- processing ----------------------------------------------------------------------------

  private later(ms: number, fn: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void fn()
    }, ms)
    this.timers.add(timer)
  }

  private startProcessing(file: UploadFileRecord): void {
    const version = this.store.versions.get(file.versionId)!
    const { processing } = this.options
    if (file.assetType === 'MANIFEST') {
      this.later(processing.manifestMs, () => this.checkManifest(file, version))
      return
    }
    version.assetFileId = file.id
    version.state = 'PROCESSING'
    if (processing.neverFinish) return
    this.later(processing.assetMs, async () => {
      const head = file.assembly!.head.toString('latin1')
      const errors: StateMessage[] = [...(processing.failWith?.errors ?? [])]
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
          warnings: processing.failWith?.warnings ?? [],
          infos: processing.failWith?.infos ?? []
        }
        file.deliveryState = 'FAILED'
        file.errors = errors
      } else {
        version.state = 'COMPLETE'
        if (!version.platforms.length) version.platforms = this.options.defaultPlatforms
        file.deliveryState = 'COMPLETE'
        this.release(version)
      }
      await file.assembly?.discard()
    })
  }

  private async checkManifest(file: UploadFileRecord, version: VersionRecord): Promise<void> {
    const pack = this.store.packs.get(version.packId)!
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
    if (manifest) {
      const { assetPackID, downloadPolicy, platforms } = manifest
      if (typeof assetPackID !== 'string')
        errors.push({
          code: 'MANIFEST_MISSING_ASSET_PACK_ID',
          description: 'The manifest has no assetPackID.'
        })
      else if (assetPackID !== pack.identifier) {
        errors.push({
          code: 'MANIFEST_ASSET_PACK_ID_MISMATCH',
          description: `The manifest's assetPackID '${assetPackID}' does not match the asset pack '${pack.identifier}'.`
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
      const names = Array.isArray(platforms) ? platforms : []
      const unknown = names.filter((p) => !(String(p) in MANIFEST_PLATFORMS))
      if (!names.length || unknown.length) {
        errors.push({
          code: 'MANIFEST_INVALID_PLATFORMS',
          description: `platforms must list iOS, macOS, tvOS or visionOS${unknown.length ? `; not ${unknown.join(', ')}` : ''}.`
        })
      } else if (!errors.length) {
        version.platforms = names.map((p) => MANIFEST_PLATFORMS[String(p)])
      }
    }
    file.errors = errors
    file.deliveryState = errors.length ? 'FAILED' : 'COMPLETE'
    if (!errors.length) version.manifestFileId = file.id
    await file.assembly?.discard()
  }

  /** A processed version becomes the pack's internal beta version; the previous one is superseded. */
  private release(version: VersionRecord): void {
    const pack = this.store.packs.get(version.packId)!
    const previous = pack.internalBetaVersionId
      ? this.store.versions.get(pack.internalBetaVersionId)
      : undefined
    if (previous && previous.number > version.number) return
    if (previous?.internalBetaReleaseId)
      this.store.internalBetaReleases.get(previous.internalBetaReleaseId)!.state = 'SUPERSEDED'
    const release = {
      id: this.random.uuid(),
      versionId: version.id,
      state: 'READY_FOR_TESTING' as const
    }
    this.store.internalBetaReleases.set(release.id, release)
    version.internalBetaReleaseId = release.id
    pack.internalBetaVersionId = version.id
  }

  private getInternalBetaRelease(r: ApiRequest): Reply {
    const release = this.store.internalBetaReleases.get(r.pathParams.id)
    if (!release) throw notFound('backgroundAssetVersionInternalBetaReleases', r.pathParams.id)
    const fields = fieldSelection(r.url)
    const include = list(r.url.searchParams.get('include'))
    const included = include.includes('backgroundAssetVersion')
      ? [this.store.versionJson(this.store.versions.get(release.versionId)!, fields)]
      : []
    return this.single(r, this.store.internalBetaReleaseJson(release, fields), included)
  }

  // ---- JSON:API envelopes --------------------------------------------------------------------

  private requireSameId(data: Body['data'], id: string): void {
    if (data.id !== id)
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The provided entity id does not match the path',
        `The id '${data.id}' in the body does not match '${id}' in the path.`,
        '/data/id'
      )
  }

  /** The request's own URL, query percent-encoded as Apple's links are (`filter%5Bstate%5D=…`). */
  private selfLink(r: ApiRequest, query: URLSearchParams = r.url.searchParams): string {
    const search = query.toString()
    return `${this.baseUrl()}${r.url.pathname}${search ? `?${search}` : ''}`
  }

  private document(data: unknown, r: ApiRequest): { data: unknown; links: { self: string } } {
    return { data, links: { self: this.selfLink(r) } }
  }

  /** A single-resource document, with `included` when there is something to include. */
  private single(r: ApiRequest, data: unknown, included: unknown[] = []): Reply {
    return {
      status: 200,
      body: { ...this.document(data, r), ...(included.length ? { included } : {}) }
    }
  }

  private page<T>(
    r: ApiRequest,
    items: T[],
    toJson: (item: T) => unknown,
    included?: (items: T[]) => unknown[]
  ): Reply {
    const limit = Number(r.url.searchParams.get('limit') ?? 50)
    const start =
      Number(Buffer.from(r.url.searchParams.get('cursor') ?? '', 'base64url').toString()) || 0
    const slice = items.slice(start, start + limit)
    const links: Record<string, string> = { self: this.selfLink(r) }
    const paging: Record<string, unknown> = { total: items.length, limit }
    if (start + limit < items.length) {
      const cursor = Buffer.from(String(start + limit)).toString('base64url')
      const next = new URLSearchParams(r.url.searchParams)
      next.set('cursor', cursor)
      links.next = this.selfLink(r, next)
      paging.nextCursor = cursor
    }
    const extra = included?.(slice) ?? []
    return {
      status: 200,
      body: {
        data: slice.map(toJson),
        ...(extra.length ? { included: extra } : {}),
        links,
        meta: { paging }
      }
    }
  }

  private linkages<T extends { id: string }>(r: ApiRequest, items: T[], type: string): Reply {
    return this.page(r, items, (item) => ({ type, id: item.id }))
  }
}
