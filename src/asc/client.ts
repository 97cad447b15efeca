// The App Store Connect API over undici: JSON:API requests, Apple's error documents, the one
// retry policy, paging, and the rate-limit header. Only this module talks to the API.
import * as core from '@actions/core'
import { request, type Dispatcher } from 'undici'
import type { TokenProvider } from './auth.js'
import { cancellation } from '../cancellation.js'
import { AscApiError, UncertainOutcomeError } from '../errors.js'
import type { components } from './generated/asc-api.js'
import {
  API_RETRY,
  RATE_BURST_RETRY,
  RATE_LIMIT_RETRY,
  backoffMs,
  isNetworkError,
  isRetryableStatus,
  scaledMs,
  sleep
} from './retry.js'
import { createDispatcher, explainFailure, proxyFor } from './http.js'

type Schemas = components['schemas']
export type Platform = Schemas['Platform']
export type BackgroundAsset = Schemas['BackgroundAsset']
export type BackgroundAssetVersion = Schemas['BackgroundAssetVersion']
export type BackgroundAssetUploadFile = Schemas['BackgroundAssetUploadFile']
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

export type Query = Record<string, string | number>

export interface RateBudget {
  limit: number
  remaining: number
}

/** The budgets of an `X-Rate-Limit` header by name: `user-hour`, and on some endpoints `user-minute`. */
export type RateLimit = Record<string, RateBudget>

interface CallOptions {
  /** Safe to repeat after a 5xx or a network error (reads, and writes made idempotent by the caller). */
  idempotent: boolean
  body?: unknown
}

/** Page size for list requests (the spec's maximum). */
const PAGE_LIMIT = 200

/** Low remaining budget: space requests out rather than run into 429s. */
const LOW_BUDGET_SHARE = 0.05

/** Every `<name>-lim:<n>;<name>-rem:<n>` pair of the header; undefined when it has none. */
export function parseRateLimit(header: string | string[] | undefined): RateLimit | undefined {
  const text = Array.isArray(header) ? header.join(';') : (header ?? '')
  const values = new Map<string, number>()
  for (const [, name, value] of text.matchAll(/([\w-]+?-(?:lim|rem)):(\d+)/g))
    values.set(name, Number(value))
  const budgets: RateLimit = {}
  for (const [name, limit] of values) {
    const remaining = values.get(name.replace(/-lim$/, '-rem'))
    if (name.endsWith('-lim') && remaining !== undefined)
      budgets[name.slice(0, -4)] = { limit, remaining }
  }
  return Object.keys(budgets).length ? budgets : undefined
}

const PERIODS: Record<string, string> = { 'user-hour': 'this hour', 'user-minute': 'this minute' }

function isLow(budget: RateBudget | undefined): boolean {
  return !!budget && budget.remaining <= budget.limit * LOW_BUDGET_SHARE
}

export class AppStoreConnectClient {
  /** The last X-Rate-Limit seen. */
  rateLimit?: RateLimit
  /** Requests sent, and how many of them were retries. */
  requests = 0
  retries = 0

  private constructor(
    private readonly baseUrl: URL,
    private readonly tokens: TokenProvider,
    private readonly dispatcher: Dispatcher
  ) {}

  static create(baseUrl: URL, tokens: TokenProvider): AppStoreConnectClient {
    const agent = createDispatcher({
      keepAliveTimeout: 30_000,
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
      connections: 4
    })
    return new AppStoreConnectClient(baseUrl, tokens, agent)
  }

  async close(): Promise<void> {
    await this.dispatcher.close()
  }

  // ---- operations used by the pipeline ------------------------------------------------------

  /** Every asset pack of the app, with only what the lookup and Apple's limits need. */
  async listAssetPacks(appId: string): Promise<BackgroundAsset[]> {
    const packs: BackgroundAsset[] = []
    for await (const page of this.pages<Schemas['BackgroundAssetsResponse']>(
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
      await this.call<Schemas['BackgroundAssetResponse']>(
        'POST',
        '/v1/backgroundAssets',
        {},
        { idempotent: false, body }
      )
    ).data
  }

  /** Every page of a pack's versions, with the asked-for relationships included. */
  async *versionPages(packId: string, query: Query): AsyncGenerator<VersionsResponse> {
    yield* this.pages<VersionsResponse>(`/v1/backgroundAssets/${packId}/versions`, {
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
      await this.call<Schemas['BackgroundAssetVersionResponse']>(
        'POST',
        '/v1/backgroundAssetVersions',
        {},
        { idempotent: false, body }
      )
    ).data
  }

  async getVersion(id: string, include?: string): Promise<VersionResponse> {
    return this.call<VersionResponse>(
      'GET',
      `/v1/backgroundAssetVersions/${id}`,
      include ? { include } : {},
      { idempotent: true }
    )
  }

  async listUploadFiles(versionId: string): Promise<BackgroundAssetUploadFile[]> {
    const files: BackgroundAssetUploadFile[] = []
    for await (const page of this.pages<Schemas['BackgroundAssetUploadFilesResponse']>(
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
        await this.call<Schemas['BackgroundAssetUploadFileResponse']>(
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
        await this.call<Schemas['BackgroundAssetUploadFileResponse']>(
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
      await this.call<Schemas['BackgroundAssetUploadFileResponse']>(
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
    for await (const page of this.pages<Schemas['ReviewSubmissionsResponse']>(
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
      await this.call<Schemas['ReviewSubmissionResponse']>(
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
    for await (const page of this.pages<Schemas['ReviewSubmissionItemsResponse']>(
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
      await this.call<Schemas['ReviewSubmissionItemResponse']>(
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
      await this.call<Schemas['ReviewSubmissionResponse']>(
        'PATCH',
        `/v1/reviewSubmissions/${id}`,
        {},
        { idempotent: false, body }
      )
    ).data
  }

  // ---- JSON:API plumbing ---------------------------------------------------------------------

  /** Follows `links.next` to the end, only ever on the API's own origin (the token goes along). */
  async *pages<T extends { links: { next?: string } }>(
    path: string,
    query: Query
  ): AsyncGenerator<T> {
    let next: string | undefined = this.url(path, query).toString()
    while (next) {
      const url = new URL(next)
      if (url.origin !== this.baseUrl.origin)
        throw new Error(
          `App Store Connect returned a next-page link on another host (${url.origin}); refusing to send the API token there.`
        )
      const page: T = await this.call<T>(
        'GET',
        url.pathname,
        Object.fromEntries(url.searchParams),
        { idempotent: true }
      )
      yield page
      next = page.links.next
    }
  }

  private url(path: string, query: Query): URL {
    const url = new URL(`${this.baseUrl.pathname.replace(/\/$/, '')}${path}`, this.baseUrl)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v))
    return url
  }

  private maskUploadUrls(file: BackgroundAssetUploadFile): BackgroundAssetUploadFile {
    for (const op of file.attributes?.uploadOperations ?? []) if (op.url) core.setSecret(op.url)
    return file
  }

  private async call<T>(
    method: string,
    path: string,
    query: Query,
    options: CallOptions
  ): Promise<T> {
    const url = this.url(path, query)
    const label = `${method} ${url.pathname}`
    let rateLimited = 0
    let failures = 0
    let renewed = false
    let freshToken = false
    for (;;) {
      await this.paceForBudget()
      this.requests++
      let status: number
      let text: string
      try {
        const token = await this.tokens.token(freshToken)
        freshToken = false
        const response = await request(url, {
          method: method as Dispatcher.HttpMethod,
          dispatcher: this.dispatcher,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(options.body ? { 'content-type': 'application/json' } : {})
          },
          body: options.body ? JSON.stringify(options.body) : undefined,
          signal: cancellation
        })
        status = response.statusCode
        text = await response.body.text()
        this.rateLimit = parseRateLimit(response.headers['x-rate-limit']) ?? this.rateLimit
      } catch (error) {
        if (cancellation.aborted) throw cancellation.reason
        if (!isNetworkError(error)) {
          if (!proxyFor(url)) throw error
          throw new Error(`${label} failed: ${explainFailure(error, url)}`)
        }
        if (!options.idempotent) throw new UncertainOutcomeError(label, error)
        if (++failures >= API_RETRY.attempts)
          throw new Error(`${label} failed ${failures} times: ${explainFailure(error, url)}`)
        await this.retryAfter(
          label,
          failures,
          API_RETRY.attempts,
          explainFailure(error, url),
          backoffMs(failures, API_RETRY)
        )
        continue
      }
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T
      const error = new AscApiError(status, parseErrors(text), label)
      if (status === 401 && !renewed) {
        // One fresh token settles a token that expired in flight; a second 401 is the key or the clock.
        renewed = freshToken = true
        this.retries++
        continue
      }
      // With hourly budget left, a 429 is a per-minute limit's burst: the rolling minute frees
      // capacity continuously, so seconds of backoff do. Only a spent hour is paced by the hour.
      const hourly = !this.rateLimit || isLow(this.rateLimit['user-hour'])
      const policy = hourly ? RATE_LIMIT_RETRY : RATE_BURST_RETRY
      if (status === 429 && ++rateLimited < policy.attempts) {
        await this.retryAfter(
          label,
          rateLimited,
          policy.attempts,
          `429 rate limit, ${hourly ? 'hourly budget' : 'a short burst'}: ${this.budgetText()}`,
          backoffMs(rateLimited, policy)
        )
        continue
      }
      if (isRetryableStatus(status) && status !== 429) {
        if (!options.idempotent) throw new UncertainOutcomeError(label, error)
        if (++failures < API_RETRY.attempts) {
          await this.retryAfter(
            label,
            failures,
            API_RETRY.attempts,
            `${status}`,
            backoffMs(failures, API_RETRY)
          )
          continue
        }
      }
      throw error
    }
  }

  private async retryAfter(
    label: string,
    attempt: number,
    attempts: number,
    reason: string,
    delayMs: number
  ): Promise<void> {
    this.retries++
    core.info(
      `${label}: attempt ${attempt} of ${attempts} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`
    )
    await sleep(delayMs, cancellation)
  }

  /** The budgets that are low (or the hour's, when none is), for the log. */
  private budgetText(): string {
    if (!this.rateLimit) return 'no X-Rate-Limit seen'
    const budgets = Object.entries(this.rateLimit)
    const low = budgets.filter(([, b]) => isLow(b))
    const shown = low.length ? low : budgets.filter(([name]) => name === 'user-hour')
    return shown
      .map(
        ([name, b]) => `${b.remaining} of ${b.limit} requests left ${PERIODS[name] ?? `(${name})`}`
      )
      .join(', ')
  }

  /** With under 5% of the hourly budget left, spread the rest over the hour instead of spending it now. */
  private async paceForBudget(): Promise<void> {
    const budget = this.rateLimit?.['user-hour']
    if (!isLow(budget)) return
    const delayMs = scaledMs(
      Math.min(30_000, Math.ceil(3_600_000 / Math.max(budget!.remaining, 1)))
    )
    core.info(
      `Rate limit budget low (${this.budgetText()}); waiting ${(delayMs / 1000).toFixed(1)} s before the next request`
    )
    await sleep(delayMs, cancellation)
  }
}

function parseErrors(text: string): AscApiError['errors'] {
  try {
    const parsed = JSON.parse(text) as { errors?: AscApiError['errors'] }
    if (Array.isArray(parsed.errors)) return parsed.errors
  } catch {
    // Not JSON (a proxy's error page): reported below as an error without details.
  }
  return []
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
