// The simulator's App Store Connect records (apps, packs, versions, upload files, releases, review
// submissions and their items) and their JSON:API form. Resources carry exactly the attributes
// and relationships the spec declares for them.
import type { Assembly } from './assembly.js'
import type {
  AppStoreReleaseState,
  ChecksumAlgorithm,
  Platform,
  StateMessage,
  VersionState
} from './options.js'
import { notFound } from './errors.js'
import {
  resource,
  select,
  toOne,
  type FieldSelection,
  type Resource,
  type ResourceKind,
  type Schemas
} from './jsonapi.js'

export type SubmissionState = NonNullable<
  NonNullable<Schemas['ReviewSubmission']['attributes']>['state']
>

export interface ReviewSubmissionRecord {
  id: string
  appId: string
  platform: Platform
  state: SubmissionState
  submittedDate?: string
  itemIds: string[]
}

export interface ReviewItemRecord {
  id: string
  submissionId: string
  backgroundAssetVersionId?: string
  /** Items for other kinds of content (an app version), as seeded by tests. */
  appStoreVersionId?: string
  state: NonNullable<NonNullable<Schemas['ReviewSubmissionItem']['attributes']>['state']>
}

export type DeliveryState = 'AWAITING_UPLOAD' | 'UPLOAD_COMPLETE' | 'COMPLETE' | 'FAILED'

export interface PackRecord {
  id: string
  appId: string
  identifier: string
  archived: boolean
  createdDate: string
  internalBetaVersionId?: string
  /** The version the App Store distributes: the newest one approved. */
  appStoreVersionId?: string
}

export interface VersionRecord {
  id: string
  packId: string
  number: number
  state: VersionState
  platforms: Platform[]
  createdDate: string
  stateDetails?: { errors: StateMessage[]; warnings: StateMessage[]; infos: StateMessage[] }
  assetFileId?: string
  manifestFileId?: string
  /** The manifest's `language`, once a manifest with one was processed. */
  locale?: string
  internalBetaReleaseId?: string
  appStoreReleaseId?: string
}

export interface UploadOperationRecord {
  partNumber: number
  offset: number
  length: number
  url: string
  expiration: string
  requestHeaders: { name: string; value: string }[]
}

export interface FileChecksums {
  file?: { hash: string; algorithm: ChecksumAlgorithm }
  composite?: { hash: string; algorithm: 'MD5' }
}

export interface UploadFileRecord {
  id: string
  versionId: string
  assetType: 'ASSET' | 'MANIFEST'
  fileName: string
  fileSize: number
  assetToken: string
  deliveryState: DeliveryState
  errors: StateMessage[]
  warnings: StateMessage[]
  operations: UploadOperationRecord[]
  /** What the reservation announced; the checksums the client sent are stored once committed. */
  announced: FileChecksums
  committedChecksums?: FileChecksums
  committedLegacyChecksum?: string
  assembly?: Assembly
  /** A MANIFEST's text as it arrived (what the preflight checked), kept for tests to read. */
  receivedText?: string
}

export interface InternalBetaReleaseRecord {
  id: string
  versionId: string
  state: 'READY_FOR_TESTING' | 'SUPERSEDED'
}

/** One per version, made when it first joins a review submission; review moves its state. */
export interface AppStoreReleaseRecord {
  id: string
  versionId: string
  state: AppStoreReleaseState
}

function throwNotFound(type: string, id: string): never {
  throw notFound(type, id)
}

export class Store {
  readonly apps = new Set<string>()
  readonly packs = new Map<string, PackRecord>()
  readonly versions = new Map<string, VersionRecord>()
  readonly uploadFiles = new Map<string, UploadFileRecord>()
  readonly internalBetaReleases = new Map<string, InternalBetaReleaseRecord>()
  readonly appStoreReleases = new Map<string, AppStoreReleaseRecord>()
  readonly reviewSubmissions = new Map<string, ReviewSubmissionRecord>()
  readonly reviewItems = new Map<string, ReviewItemRecord>()

  constructor(private readonly baseUrl: () => string) {}

  // ---- lookups that answer Apple's 404 ------------------------------------------------------

  app(id: string): string {
    if (!this.apps.has(id)) throw notFound('apps', id)
    return id
  }

  pack(id: string): PackRecord {
    return this.packs.get(id) ?? throwNotFound('backgroundAssets', id)
  }

  version(id: string): VersionRecord {
    return this.versions.get(id) ?? throwNotFound('backgroundAssetVersions', id)
  }

  uploadFile(id: string): UploadFileRecord {
    return this.uploadFiles.get(id) ?? throwNotFound('backgroundAssetUploadFiles', id)
  }

  reviewSubmission(id: string): ReviewSubmissionRecord {
    return this.reviewSubmissions.get(id) ?? throwNotFound('reviewSubmissions', id)
  }

  internalBetaRelease(id: string): InternalBetaReleaseRecord {
    return (
      this.internalBetaReleases.get(id) ??
      throwNotFound('backgroundAssetVersionInternalBetaReleases', id)
    )
  }

  appStoreRelease(id: string): AppStoreReleaseRecord {
    return (
      this.appStoreReleases.get(id) ?? throwNotFound('backgroundAssetVersionAppStoreReleases', id)
    )
  }

  packsOfApp(appId: string): PackRecord[] {
    this.app(appId)
    return [...this.packs.values()].filter((p) => p.appId === appId)
  }

  versionsOf(packId: string): VersionRecord[] {
    return [...this.versions.values()].filter((v) => v.packId === packId)
  }

  uploadFilesOf(versionId: string): UploadFileRecord[] {
    return [...this.uploadFiles.values()].filter((f) => f.versionId === versionId)
  }

  itemsOf(submission: ReviewSubmissionRecord): ReviewItemRecord[] {
    return submission.itemIds.map((id) => this.reviewItems.get(id)!)
  }

  appStoreReleaseOf(version: VersionRecord): AppStoreReleaseRecord | undefined {
    return version.appStoreReleaseId
      ? this.appStoreReleases.get(version.appStoreReleaseId)
      : undefined
  }

  /**
   * Apple's hosting figure for a pack: its largest version that counts (COMPLETE; versions
   * awaiting upload, processing or failed do not count), in archive bytes.
   */
  usedBytes(pack: PackRecord): number {
    return this.versionsOf(pack.id)
      .filter((v) => v.state === 'COMPLETE' && v.assetFileId)
      .reduce((max, v) => Math.max(max, this.uploadFiles.get(v.assetFileId!)?.fileSize ?? 0), 0)
  }

  packJson(pack: PackRecord, fields: FieldSelection = new Map()): Resource {
    const self = `${this.baseUrl()}/v1/backgroundAssets/${pack.id}`
    const usedBytes = this.usedBytes(pack)
    return select(
      resource<'BackgroundAsset'>({
        type: 'backgroundAssets',
        id: pack.id,
        attributes: {
          archived: pack.archived,
          assetPackIdentifier: pack.identifier,
          createdDate: pack.createdDate,
          usedBytes
        },
        relationships: {
          app: toOne('apps', pack.appId),
          versions: {
            links: { self: `${self}/relationships/versions`, related: `${self}/versions` }
          },
          appStoreVersion: toOne('backgroundAssetVersions', pack.appStoreVersionId),
          internalBetaVersion: toOne('backgroundAssetVersions', pack.internalBetaVersionId)
        },
        links: { self }
      }),
      fields
    )
  }

  versionJson(version: VersionRecord, fields: FieldSelection = new Map()): Resource {
    const self = `${this.baseUrl()}/v1/backgroundAssetVersions/${version.id}`
    return select(
      resource<'BackgroundAssetVersion'>({
        type: 'backgroundAssetVersions',
        id: version.id,
        attributes: {
          createdDate: version.createdDate,
          platforms: version.platforms,
          state: version.state,
          ...(version.stateDetails ? { stateDetails: version.stateDetails } : {}),
          version: String(version.number),
          ...(version.locale ? { locale: version.locale } : {})
        },
        relationships: {
          backgroundAsset: toOne('backgroundAssets', version.packId),
          internalBetaRelease: toOne(
            'backgroundAssetVersionInternalBetaReleases',
            version.internalBetaReleaseId
          ),
          appStoreRelease: toOne(
            'backgroundAssetVersionAppStoreReleases',
            version.appStoreReleaseId
          ),
          assetFile: toOne('backgroundAssetUploadFiles', version.assetFileId),
          manifestFile: toOne('backgroundAssetUploadFiles', version.manifestFileId),
          backgroundAssetUploadFiles: {
            links: {
              self: `${self}/relationships/backgroundAssetUploadFiles`,
              related: `${self}/backgroundAssetUploadFiles`
            }
          }
        },
        links: { self }
      }),
      fields
    )
  }

  uploadFileJson(file: UploadFileRecord, fields: FieldSelection = new Map()): Resource {
    const checksums = file.committedChecksums ?? file.announced
    return select(
      resource<'BackgroundAssetUploadFile'>({
        type: 'backgroundAssetUploadFiles',
        id: file.id,
        attributes: {
          assetDeliveryState: {
            state: file.deliveryState,
            ...(file.errors.length ? { errors: file.errors } : {}),
            ...(file.warnings.length ? { warnings: file.warnings } : {})
          },
          assetToken: file.assetToken,
          assetType: file.assetType,
          fileName: file.fileName,
          fileSize: file.fileSize,
          ...(file.committedLegacyChecksum
            ? { sourceFileChecksum: file.committedLegacyChecksum }
            : {}),
          sourceFileChecksums: checksums,
          // Operations are only handed out while the upload can still use them.
          ...(file.deliveryState === 'AWAITING_UPLOAD'
            ? {
                uploadOperations: file.operations.map((op) => ({
                  method: 'PUT',
                  url: op.url,
                  length: op.length,
                  offset: op.offset,
                  requestHeaders: op.requestHeaders,
                  expiration: op.expiration,
                  partNumber: op.partNumber
                }))
              }
            : {})
        },
        links: { self: `${this.baseUrl()}/v1/backgroundAssetUploadFiles/${file.id}` }
      }),
      fields
    )
  }

  internalBetaReleaseJson(
    release: InternalBetaReleaseRecord,
    fields: FieldSelection = new Map()
  ): Resource {
    const type = 'backgroundAssetVersionInternalBetaReleases'
    return select(
      resource<'BackgroundAssetVersionInternalBetaRelease'>({
        type,
        id: release.id,
        attributes: { state: release.state },
        ...this.releaseMembers(type, release)
      }),
      fields
    )
  }

  appStoreReleaseJson(
    release: AppStoreReleaseRecord,
    fields: FieldSelection = new Map()
  ): Resource {
    const type = 'backgroundAssetVersionAppStoreReleases'
    return select(
      resource<'BackgroundAssetVersionAppStoreRelease'>({
        type,
        id: release.id,
        attributes: { state: release.state },
        ...this.releaseMembers(type, release)
      }),
      fields
    )
  }

  /** What every kind of release of a version has: the version, and its own link. */
  private releaseMembers(type: string, release: { id: string; versionId: string }) {
    return {
      relationships: {
        backgroundAssetVersion: toOne('backgroundAssetVersions', release.versionId)
      },
      links: { self: `${this.baseUrl()}/v1/${type}/${release.id}` }
    }
  }

  reviewSubmissionJson(s: ReviewSubmissionRecord, withItems: boolean): Resource {
    const self = `${this.baseUrl()}/v1/reviewSubmissions/${s.id}`
    return resource<'ReviewSubmission'>({
      type: 'reviewSubmissions',
      id: s.id,
      attributes: {
        platform: s.platform,
        state: s.state,
        ...(s.submittedDate ? { submittedDate: s.submittedDate } : {})
      },
      relationships: {
        app: toOne('apps', s.appId),
        items: {
          links: { self: `${self}/relationships/items`, related: `${self}/items` },
          ...(withItems
            ? { data: s.itemIds.map((id) => ({ type: 'reviewSubmissionItems', id })) }
            : {})
        }
      },
      links: { self }
    })
  }

  reviewItemJson(i: ReviewItemRecord): Resource {
    return resource<'ReviewSubmissionItem'>({
      type: 'reviewSubmissionItems',
      id: i.id,
      attributes: { state: i.state },
      relationships: {
        ...(i.backgroundAssetVersionId
          ? { backgroundAssetVersion: toOne('backgroundAssetVersions', i.backgroundAssetVersionId) }
          : {}),
        ...(i.appStoreVersionId
          ? { appStoreVersion: toOne('appStoreVersions', i.appStoreVersionId) }
          : {})
      },
      links: { self: `${this.baseUrl()}/v1/reviewSubmissionItems/${i.id}` }
    })
  }

  appJson(id: string, fields: FieldSelection = new Map()): Resource {
    return select(
      resource<'App'>({
        type: 'apps',
        id,
        attributes: { name: `App ${id}`, bundleId: `com.example.app${id}`, sku: `SKU${id}` },
        links: { self: `${this.baseUrl()}/v1/apps/${id}` }
      }),
      fields
    )
  }

  /** Packs as resources, with their app, App Store and internal beta versions as includes. */
  readonly packKind: ResourceKind<PackRecord> = {
    json: (pack, fields) => this.packJson(pack, fields),
    included: (packs, include, fields) => this.includedForPacks(packs, include, fields)
  }

  /** Versions as resources, with their pack, files and releases as includes. */
  readonly versionKind: ResourceKind<VersionRecord> = {
    json: (version, fields) => this.versionJson(version, fields),
    included: (versions, include, fields) => this.includedForVersions(versions, include, fields)
  }

  readonly internalBetaReleaseKind = this.releaseKind<InternalBetaReleaseRecord>(
    (release, fields) => this.internalBetaReleaseJson(release, fields)
  )

  readonly appStoreReleaseKind = this.releaseKind<AppStoreReleaseRecord>((release, fields) =>
    this.appStoreReleaseJson(release, fields)
  )

  /** Releases as resources, with their version as the include. */
  private releaseKind<R extends { versionId: string }>(
    json: ResourceKind<R>['json']
  ): ResourceKind<R> {
    return {
      json,
      included: (releases, include, fields) =>
        include.includes('backgroundAssetVersion')
          ? releases.map((r) => this.versionJson(this.versions.get(r.versionId)!, fields))
          : []
    }
  }

  /** The `included` array for packs: their app and versions, as `include` asks. */
  includedForPacks(packs: PackRecord[], include: string[], fields: FieldSelection): Resource[] {
    const seen = new Map<string, Resource>()
    const add = (r: Resource) => seen.set(`${r.type}/${r.id}`, r)
    const addVersion = (id?: string) => id && add(this.versionJson(this.versions.get(id)!, fields))
    for (const pack of packs) {
      if (include.includes('app')) add(this.appJson(pack.appId, fields))
      if (include.includes('appStoreVersion')) addVersion(pack.appStoreVersionId)
      if (include.includes('internalBetaVersion')) addVersion(pack.internalBetaVersionId)
    }
    return [...seen.values()]
  }

  /** The `included` array for a version, for the relationships named in `include`. */
  includedForVersions(
    versions: VersionRecord[],
    include: string[],
    fields: FieldSelection
  ): Resource[] {
    const seen = new Map<string, Resource>()
    const add = (r: Resource | undefined) => r && seen.set(`${r.type}/${r.id}`, r)
    for (const v of versions) {
      for (const name of include) {
        if (name === 'backgroundAsset') add(this.packJson(this.packs.get(v.packId)!, fields))
        if (name === 'assetFile' && v.assetFileId)
          add(this.uploadFileJson(this.uploadFiles.get(v.assetFileId)!, fields))
        if (name === 'manifestFile' && v.manifestFileId)
          add(this.uploadFileJson(this.uploadFiles.get(v.manifestFileId)!, fields))
        if (name === 'internalBetaRelease' && v.internalBetaReleaseId) {
          add(
            this.internalBetaReleaseJson(
              this.internalBetaReleases.get(v.internalBetaReleaseId)!,
              fields
            )
          )
        }
        if (name === 'appStoreRelease' && v.appStoreReleaseId)
          add(this.appStoreReleaseJson(this.appStoreReleases.get(v.appStoreReleaseId)!, fields))
      }
    }
    return [...seen.values()]
  }
}
