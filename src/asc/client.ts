// The App Store Connect client: the Background Assets and review operations the pipeline uses,
// typed with the spec's schemas. Requests, retries, paging and rate limits are the transport's.
import * as core from '@actions/core'
import type { TokenProvider } from './auth.js'
import type { components } from './generated/asc-api.js'
import { createDispatcher } from './http.js'
import { Transport, type Query } from './transport.js'

type Schemas = components['schemas']
export type Platform = Schemas['Platform']
export type BackgroundAsset = Schemas['BackgroundAsset']
export type BackgroundAssetVersion = Schemas['BackgroundAssetVersion']
export type BackgroundAssetUploadFile = Schemas['BackgroundAssetUploadFile']
export type AppStoreReleaseState = Schemas['BackgroundAssetVersionAppStoreReleaseState']
export type UploadFileUpdateAttributes = NonNullable<
  Schemas['BackgroundAssetUploadFileUpdateRequest']['data']['attributes']
>
export type VersionsResponse = Schemas['BackgroundAssetVersionsResponse']
export type VersionResponse = Schemas['BackgroundAssetVersionResponse']
export type ReviewSubmission = Schemas['ReviewSubmission']
export type ReviewSubmissionItem = Schemas['ReviewSubmissionItem']
export type ReviewSubmissionState = NonNullable<
  NonNullable<ReviewSubmission['attributes']>['state']
>
export interface ReviewSubmissionsPage {
  submissions: ReviewSubmission[]
  items: ReviewSubmissionItem[]
}
type Included = NonNullable<VersionsResponse['included']>[number]

/** Page size for list requests (the spec's maximum). */
const PAGE_LIMIT = 200

export class AppStoreConnectClient {
  private constructor(private readonly transport: Transport) {}

  static create(baseUrl: URL, tokens: TokenProvider): AppStoreConnectClient {
    const agent = createDispatcher({
      keepAliveTimeout: 30_000,
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
      connections: 4
    })
    return new AppStoreConnectClient(new Transport(baseUrl, tokens, agent))
  }

  /** Requests sent, and how many of them were retries. */
  get requests(): number {
    return this.transport.requests
  }

  get retries(): number {
    return this.transport.retries
  }

  async close(): Promise<void> {
    await this.transport.close()
  }

  // ---- operations used by the pipeline ------------------------------------------------------

  /** Every asset pack of the app, with only what the lookup and Apple's limits need. */
  async listAssetPacks(appId: string): Promise<BackgroundAsset[]> {
    const packs: BackgroundAsset[] = []
    for await (const page of this.transport.pages<Schemas['BackgroundAssetsResponse']>(
      `/v1/apps/${appId}/backgroundAssets`,
      { 'fields[backgroundAssets]': 'archived,assetPackIdentifier,usedBytes', limit: PAGE_LIMIT }
    ))
      packs.push(...page.data)
    return packs
  }

  async createAssetPack(appId: string, identifier: string): Promise<BackgroundAsset> {
    const body: Schemas['BackgroundAssetCreateRequest'] = {
      data: {
        type: 'backgroundAssets',
        attributes: { assetPackIdentifier: identifier },
        relationships: { app: { data: { type: 'apps', id: appId } } }
      }
    }
    return (
      await this.transport.call<Schemas['BackgroundAssetResponse']>(
        'POST',
        '/v1/backgroundAssets',
        {},
        { idempotent: false, body }
      )
    ).data
  }

  /** Every page of a pack's versions, with the asked-for relationships included. */
  async *versionPages(packId: string, query: Query): AsyncGenerator<VersionsResponse> {
    yield* this.transport.pages<VersionsResponse>(`/v1/backgroundAssets/${packId}/versions`, {
      limit: PAGE_LIMIT,
      ...query
    })
  }

  async createVersion(packId: string): Promise<BackgroundAssetVersion> {
    // The create request has no attributes: Apple assigns the version number.
    const body: Schemas['BackgroundAssetVersionCreateRequest'] = {
      data: {
        type: 'backgroundAssetVersions',
        relationships: { backgroundAsset: { data: { type: 'backgroundAssets', id: packId } } }
      }
    }
    return (
      await this.transport.call<Schemas['BackgroundAssetVersionResponse']>(
        'POST',
        '/v1/backgroundAssetVersions',
        {},
        { idempotent: false, body }
      )
    ).data
  }

  async getVersion(id: string, include?: string): Promise<VersionResponse> {
    return this.transport.call<VersionResponse>(
      'GET',
      `/v1/backgroundAssetVersions/${id}`,
      include ? { include } : {},
      { idempotent: true }
    )
  }

  async listUploadFiles(versionId: string): Promise<BackgroundAssetUploadFile[]> {
    const files: BackgroundAssetUploadFile[] = []
    for await (const page of this.transport.pages<Schemas['BackgroundAssetUploadFilesResponse']>(
      `/v1/backgroundAssetVersions/${versionId}/backgroundAssetUploadFiles`,
      { limit: PAGE_LIMIT }
    )) {
      files.push(...page.data)
    }
    return files
  }

  async reserveUploadFile(
    versionId: string,
    assetType: 'ASSET' | 'MANIFEST',
    fileName: string,
    fileSize: number
  ): Promise<BackgroundAssetUploadFile> {
    const body: Schemas['BackgroundAssetUploadFileCreateRequest'] = {
      data: {
        type: 'backgroundAssetUploadFiles',
        attributes: { assetType, fileName, fileSize },
        relationships: {
          backgroundAssetVersion: { data: { type: 'backgroundAssetVersions', id: versionId } }
        }
      }
    }
    return this.maskUploadUrls(
      (
        await this.transport.call<Schemas['BackgroundAssetUploadFileResponse']>(
          'POST',
          '/v1/backgroundAssetUploadFiles',
          {},
          { idempotent: false, body }
        )
      ).data
    )
  }

  async getUploadFile(id: string): Promise<BackgroundAssetUploadFile> {
    return this.maskUploadUrls(
      (
        await this.transport.call<Schemas['BackgroundAssetUploadFileResponse']>(
          'GET',
          `/v1/backgroundAssetUploadFiles/${id}`,
          {},
          { idempotent: true }
        )
      ).data
    )
  }

  /** The caller makes a commit safe to repeat by re-reading the upload file first. */
  async updateUploadFile(
    id: string,
    attributes: UploadFileUpdateAttributes,
    idempotent: boolean
  ): Promise<BackgroundAssetUploadFile> {
    const body: Schemas['BackgroundAssetUploadFileUpdateRequest'] = {
      data: { type: 'backgroundAssetUploadFiles', id, attributes }
    }
    return (
      await this.transport.call<Schemas['BackgroundAssetUploadFileResponse']>(
        'PATCH',
        `/v1/backgroundAssetUploadFiles/${id}`,
        {},
        { idempotent, body }
      )
    ).data
  }

  // ---- review submissions ------------------------------------------------------------------

  /** An app's review submissions in the given states (and platform), with their items. */
  async listReviewSubmissions(
    appId: string,
    states: ReviewSubmissionState[],
    platform?: string
  ): Promise<ReviewSubmissionsPage> {
    const query: Query = {
      'filter[app]': appId,
      'filter[state]': states.join(','),
      include: 'items',
      'limit[items]': 50,
      limit: PAGE_LIMIT
    }
    if (platform) query['filter[platform]'] = platform
    const submissions: ReviewSubmission[] = []
    const items: ReviewSubmissionItem[] = []
    for await (const page of this.transport.pages<Schemas['ReviewSubmissionsResponse']>(
      '/v1/reviewSubmissions',
      query
    )) {
      submissions.push(...page.data)
      items.push(
        ...((page.included ?? []).filter(
          (r) => r.type === 'reviewSubmissionItems'
        ) as ReviewSubmissionItem[])
      )
    }
    return { submissions, items }
  }

  async createReviewSubmission(appId: string, platform: Platform): Promise<ReviewSubmission> {
    const body: Schemas['ReviewSubmissionCreateRequest'] = {
      data: {
        type: 'reviewSubmissions',
        attributes: { platform },
        relationships: { app: { data: { type: 'apps', id: appId } } }
      }
    }
    return (
      await this.transport.call<Schemas['ReviewSubmissionResponse']>(
        'POST',
        '/v1/reviewSubmissions',
        {},
        { idempotent: false, body }
      )
    ).data
  }

  /** A submission's items with their background asset versions (to see which pack each is of). */
  async listReviewSubmissionItems(
    submissionId: string
  ): Promise<{ items: ReviewSubmissionItem[]; versions: BackgroundAssetVersion[] }> {
    const items: ReviewSubmissionItem[] = []
    const versions: BackgroundAssetVersion[] = []
    for await (const page of this.transport.pages<Schemas['ReviewSubmissionItemsResponse']>(
      `/v1/reviewSubmissions/${submissionId}/items`,
      { include: 'backgroundAssetVersion', limit: PAGE_LIMIT }
    )) {
      items.push(...page.data)
      versions.push(
        ...((page.included ?? []).filter(
          (r) => r.type === 'backgroundAssetVersions'
        ) as BackgroundAssetVersion[])
      )
    }
    return { items, versions }
  }

  async addBackgroundAssetVersionToReview(
    submissionId: string,
    versionId: string
  ): Promise<ReviewSubmissionItem> {
    const body: Schemas['ReviewSubmissionItemCreateRequest'] = {
      data: {
        type: 'reviewSubmissionItems',
        relationships: {
          reviewSubmission: { data: { type: 'reviewSubmissions', id: submissionId } },
          backgroundAssetVersion: { data: { type: 'backgroundAssetVersions', id: versionId } }
        }
      }
    }
    return (
      await this.transport.call<Schemas['ReviewSubmissionItemResponse']>(
        'POST',
        '/v1/reviewSubmissionItems',
        {},
        { idempotent: false, body }
      )
    ).data
  }

  /** Submits (`submitted: true`) or cancels (`canceled: true`) a review submission. */
  async updateReviewSubmission(
    id: string,
    attributes: { submitted: true } | { canceled: true }
  ): Promise<ReviewSubmission> {
    const body: Schemas['ReviewSubmissionUpdateRequest'] = {
      data: { type: 'reviewSubmissions', id, attributes }
    }
    return (
      await this.transport.call<Schemas['ReviewSubmissionResponse']>(
        'PATCH',
        `/v1/reviewSubmissions/${id}`,
        {},
        { idempotent: false, body }
      )
    ).data
  }

  private maskUploadUrls(file: BackgroundAssetUploadFile): BackgroundAssetUploadFile {
    for (const op of file.attributes?.uploadOperations ?? []) if (op.url) core.setSecret(op.url)
    return file
  }
}

/** The resource of `included` a to-one relationship points at. */
export function findIncluded<T extends Included['type']>(
  included: Included[] | undefined,
  linkage: { type: T; id: string } | undefined
): Extract<Included, { type: T }> | undefined {
  return linkage
    ? (included?.find((r) => r.type === linkage.type && r.id === linkage.id) as
        Extract<Included, { type: T }> | undefined)
    : undefined
}
