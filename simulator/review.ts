// Review submissions with background asset version items, with Apple's rules for asset packs
// ("Submit Apple-hosted asset packs"): one draft per platform, only processed versions, one
// version per pack and at most 10 packs per submission, a version in one open submission at a
// time, and — until the app's first version is approved — packs only together with that version.
import { conflict, invalidRelationship, notFound, related } from './errors.js'
import type { ApiRequest, Reply } from './api.js'
import type { Platform, SimulatorOptions } from './options.js'
import type { Random } from './random.js'
import type { Store } from './store.js'

export type SubmissionState =
  | 'READY_FOR_REVIEW'
  | 'WAITING_FOR_REVIEW'
  | 'IN_REVIEW'
  | 'UNRESOLVED_ISSUES'
  | 'CANCELING'
  | 'COMPLETING'
  | 'COMPLETE'

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
  state: 'READY_FOR_REVIEW' | 'ACCEPTED' | 'APPROVED' | 'REJECTED' | 'REMOVED'
}

export interface SeededSubmission {
  platform: Platform
  state?: SubmissionState
  backgroundAssetVersionIds?: string[]
  appStoreVersionId?: string
}

const OPEN: SubmissionState[] = [
  'READY_FOR_REVIEW',
  'WAITING_FOR_REVIEW',
  'IN_REVIEW',
  'UNRESOLVED_ISSUES'
]
const MAX_PACKS_PER_SUBMISSION = 10

type Body = {
  data: {
    id?: string
    attributes?: Record<string, unknown>
    relationships?: Record<string, { data?: { id: string } }>
  }
}

const list = (param: string | null) => (param ? param.split(',').filter(Boolean) : [])

export class ReviewApi {
  readonly submissions = new Map<string, ReviewSubmissionRecord>()
  readonly items = new Map<string, ReviewItemRecord>()

  constructor(
    private readonly store: Store,
    private readonly options: SimulatorOptions,
    private readonly random: Random,
    private readonly baseUrl: () => string,
    private readonly now: () => number
  ) {}

  get handlers(): Record<string, (req: ApiRequest) => Reply> {
    return {
      reviewSubmissions_getCollection: (r) => this.listSubmissions(r),
      reviewSubmissions_createInstance: (r) => this.createSubmission(r),
      reviewSubmissions_getInstance: (r) =>
        this.reply(
          r,
          200,
          this.submissionJson(this.submission(r.pathParams.id), r),
          this.includedItems([this.submission(r.pathParams.id)], r)
        ),
      reviewSubmissions_updateInstance: (r) => this.updateSubmission(r),
      reviewSubmissionItems_createInstance: (r) => this.createItem(r),
      reviewSubmissions_items_getToManyRelated: (r) => this.listItems(r)
    }
  }

  seed(appId: string, seed: SeededSubmission): ReviewSubmissionRecord {
    const submission = this.newSubmission(appId, seed.platform, seed.state ?? 'READY_FOR_REVIEW')
    for (const versionId of seed.backgroundAssetVersionIds ?? [])
      this.newItem(submission, { backgroundAssetVersionId: versionId })
    if (seed.appStoreVersionId)
      this.newItem(submission, { appStoreVersionId: seed.appStoreVersionId })
    return submission
  }

  private submission(id: string): ReviewSubmissionRecord {
    const submission = this.submissions.get(id)
    if (!submission) throw notFound('reviewSubmissions', id)
    return submission
  }

  private newSubmission(
    appId: string,
    platform: Platform,
    state: SubmissionState
  ): ReviewSubmissionRecord {
    const submission: ReviewSubmissionRecord = {
      id: this.random.uuid(),
      appId,
      platform,
      state,
      itemIds: []
    }
    this.submissions.set(submission.id, submission)
    return submission
  }

  private newItem(
    submission: ReviewSubmissionRecord,
    content: Pick<ReviewItemRecord, 'backgroundAssetVersionId' | 'appStoreVersionId'>
  ): ReviewItemRecord {
    const item: ReviewItemRecord = {
      id: this.random.uuid(),
      submissionId: submission.id,
      state: 'READY_FOR_REVIEW',
      ...content
    }
    this.items.set(item.id, item)
    submission.itemIds.push(item.id)
    return item
  }

  private listSubmissions(r: ApiRequest): Reply {
    const q = r.url.searchParams
    const apps = list(q.get('filter[app]'))
    const platforms = list(q.get('filter[platform]'))
    const states = list(q.get('filter[state]'))
    const found = [...this.submissions.values()].filter(
      (s) =>
        apps.includes(s.appId) &&
        (!platforms.length || platforms.includes(s.platform)) &&
        (!states.length || states.includes(s.state))
    )
    const limit = Number(q.get('limit') ?? 50)
    const page = found.slice(0, limit)
    const self = this.link(r)
    return {
      status: 200,
      body: {
        data: page.map((s) => this.submissionJson(s, r)),
        ...this.optional('included', this.includedItems(page, r)),
        links: { self },
        meta: { paging: { total: found.length, limit } }
      }
    }
  }

  private createSubmission(r: ApiRequest): Reply {
    const { data } = r.body as Body
    const appId = data.relationships!.app.data!.id
    if (!this.store.apps.has(appId))
      throw invalidRelationship('/data/relationships/app', `There is no app with id '${appId}'.`)
    const platform = (data.attributes?.platform as Platform | null | undefined) ?? 'IOS'
    const draft = [...this.submissions.values()].find(
      (s) => s.appId === appId && s.platform === platform && s.state === 'READY_FOR_REVIEW'
    )
    if (draft) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'A submission is already being prepared',
        `The app already has a review submission in preparation for ${platform} (${draft.id}); add items to it instead.`,
        '/data/attributes/platform'
      )
    }
    const created = this.newSubmission(appId, platform, 'READY_FOR_REVIEW')
    return this.reply(
      r,
      201,
      this.submissionJson(created, r),
      [],
      `/v1/reviewSubmissions/${created.id}`
    )
  }

  private updateSubmission(r: ApiRequest): Reply {
    const { data } = r.body as Body
    const submission = this.submission(r.pathParams.id)
    if (data.id !== submission.id)
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID',
        'The provided entity id does not match the path',
        `The id '${data.id}' in the body does not match '${submission.id}'.`,
        '/data/id'
      )
    const { submitted, canceled } = (data.attributes ?? {}) as {
      submitted?: boolean | null
      canceled?: boolean | null
    }
    if (canceled) {
      if (!OPEN.includes(submission.state))
        throw conflict(
          'ENTITY_ERROR.ATTRIBUTE.INVALID',
          'The submission cannot be canceled',
          `The submission is ${submission.state}.`,
          '/data/attributes/canceled'
        )
      submission.state = 'CANCELING'
      for (const id of submission.itemIds) this.items.get(id)!.state = 'REMOVED'
    } else if (submitted) {
      if (submission.state !== 'READY_FOR_REVIEW')
        throw conflict(
          'ENTITY_ERROR.ATTRIBUTE.INVALID',
          'The submission cannot be submitted',
          `The submission is ${submission.state}.`,
          '/data/attributes/submitted'
        )
      if (!submission.itemIds.length)
        throw conflict(
          'ENTITY_ERROR.ATTRIBUTE.INVALID',
          'The submission has no items',
          'Add at least one item before submitting.',
          '/data/attributes/submitted'
        )
      submission.state = 'WAITING_FOR_REVIEW'
      submission.submittedDate = new Date(this.now()).toISOString()
    }
    return this.reply(r, 200, this.submissionJson(submission, r))
  }

  private createItem(r: ApiRequest): Reply {
    const { data } = r.body as Body
    const submissionId = data.relationships!.reviewSubmission.data!.id
    const submission = related(
      this.submissions,
      'reviewSubmission',
      submissionId,
      'review submission'
    )
    const versionId = data.relationships!.backgroundAssetVersion?.data?.id
    if (!versionId)
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.REQUIRED',
        'An item needs content',
        'This simulator accepts background asset version items.',
        '/data/relationships'
      )
    const version = related(
      this.store.versions,
      'backgroundAssetVersion',
      versionId,
      'asset pack version'
    )
    const pointer = '/data/relationships/backgroundAssetVersion'
    if (submission.state !== 'READY_FOR_REVIEW')
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The submission is not being prepared',
        `Items can only be added to a submission in READY_FOR_REVIEW; this one is ${submission.state}.`,
        '/data/relationships/reviewSubmission'
      )
    if (version.state !== 'COMPLETE')
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack version cannot be submitted',
        `Version ${version.number} is ${version.state}; only a processed (COMPLETE) version can be submitted for review.`,
        pointer
      )
    const openItems = [...this.items.values()].filter(
      (i) =>
        i.state === 'READY_FOR_REVIEW' && OPEN.includes(this.submissions.get(i.submissionId)!.state)
    )
    const elsewhere = openItems.find((i) => i.backgroundAssetVersionId === versionId)
    if (elsewhere)
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack version is already in a submission',
        `Version ${version.number} is already in review submission ${elsewhere.submissionId}.`,
        pointer
      )
    const packsHere = submission.itemIds
      .map((id) => this.items.get(id)!)
      .filter((i) => i.backgroundAssetVersionId && i.state === 'READY_FOR_REVIEW')
      .map((i) => this.store.versions.get(i.backgroundAssetVersionId!)!.packId)
    if (packsHere.includes(version.packId)) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The submission already has a version of this asset pack',
        'A review submission can include only one version of each asset pack.',
        pointer
      )
    }
    if (new Set(packsHere).size >= MAX_PACKS_PER_SUBMISSION) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The submission has too many asset packs',
        `A review submission can include up to ${MAX_PACKS_PER_SUBMISSION} asset packs.`,
        pointer
      )
    }
    if (
      !this.options.appApproved &&
      !submission.itemIds.some((id) => this.items.get(id)!.appStoreVersionId)
    ) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'Asset packs must be submitted with the first app version',
        "This app has no approved version yet. Asset packs must be submitted in the same submission as the app's first version.",
        pointer
      )
    }
    const item = this.newItem(submission, { backgroundAssetVersionId: versionId })
    return this.reply(r, 201, this.itemJson(item), [], `/v1/reviewSubmissionItems/${item.id}`)
  }

  private listItems(r: ApiRequest): Reply {
    const submission = this.submission(r.pathParams.id)
    const items = submission.itemIds.map((id) => this.items.get(id)!)
    const included = list(r.url.searchParams.get('include')).includes('backgroundAssetVersion')
      ? items
          .filter((i) => i.backgroundAssetVersionId)
          .map((i) => this.store.versionJson(this.store.versions.get(i.backgroundAssetVersionId!)!))
      : []
    return {
      status: 200,
      body: {
        data: items.map((i) => this.itemJson(i)),
        ...this.optional('included', included),
        links: { self: this.link(r) },
        meta: { paging: { total: items.length, limit: 50 } }
      }
    }
  }

  private submissionJson(s: ReviewSubmissionRecord, r: ApiRequest) {
    const self = `${this.baseUrl()}/v1/reviewSubmissions/${s.id}`
    const withItems = list(r.url.searchParams.get('include')).includes('items')
    return {
      type: 'reviewSubmissions',
      id: s.id,
      attributes: {
        platform: s.platform,
        state: s.state,
        ...(s.submittedDate ? { submittedDate: s.submittedDate } : {})
      },
      relationships: {
        app: { data: { type: 'apps', id: s.appId } },
        items: {
          links: { self: `${self}/relationships/items`, related: `${self}/items` },
          ...(withItems
            ? { data: s.itemIds.map((id) => ({ type: 'reviewSubmissionItems', id })) }
            : {})
        }
      },
      links: { self }
    }
  }

  private itemJson(i: ReviewItemRecord) {
    return {
      type: 'reviewSubmissionItems',
      id: i.id,
      attributes: { state: i.state },
      relationships: {
        ...(i.backgroundAssetVersionId
          ? {
              backgroundAssetVersion: {
                data: { type: 'backgroundAssetVersions', id: i.backgroundAssetVersionId }
              }
            }
          : {}),
        ...(i.appStoreVersionId
          ? { appStoreVersion: { data: { type: 'appStoreVersions', id: i.appStoreVersionId } } }
          : {})
      },
      links: { self: `${this.baseUrl()}/v1/reviewSubmissionItems/${i.id}` }
    }
  }

  private includedItems(submissions: ReviewSubmissionRecord[], r: ApiRequest) {
    if (!list(r.url.searchParams.get('include')).includes('items')) return []
    return submissions.flatMap((s) => s.itemIds.map((id) => this.itemJson(this.items.get(id)!)))
  }

  private link(r: ApiRequest): string {
    const search = r.url.searchParams.toString()
    return `${this.baseUrl()}${r.url.pathname}${search ? `?${search}` : ''}`
  }

  private optional(name: string, values: unknown[]) {
    return values.length ? { [name]: values } : {}
  }

  private reply(
    r: ApiRequest,
    status: number,
    data: unknown,
    included: unknown[] = [],
    selfPath?: string
  ): Reply {
    return {
      status,
      body: {
        data,
        ...this.optional('included', included),
        links: { self: selfPath ? `${this.baseUrl()}${selfPath}` : this.link(r) }
      }
    }
  }
}
