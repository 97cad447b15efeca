// Review submissions with background asset version items, with Apple's rules for asset packs
// ("Submit Apple-hosted asset packs"): one draft per platform, only processed versions, one
// version per pack and at most 10 packs per submission, a version in one open submission at a
// time, and — until the app's first version is approved — packs only together with that version.
// Each version's App Store release follows its items: READY_FOR_REVIEW when added, then
// WAITING_FOR_REVIEW when submitted, PREPARE_FOR_SUBMISSION when canceled.
import type { AppStoreReleases } from './app-store-releases.js'
import { conflict, invalidRelationship, related } from './errors.js'
import {
  includes,
  list,
  requireSameId,
  type ApiRequest,
  type Handler,
  type Reply,
  type Schemas
} from './jsonapi.js'
import type { SimulatorContext } from './context.js'
import type { AppStoreReleaseState, Platform } from './options.js'
import type {
  ReviewItemRecord,
  ReviewSubmissionRecord,
  SubmissionState,
  VersionRecord
} from './store.js'

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
// A version can (re)join a submission while its release has had no verdict, or was rejected;
// Apple's page offers no submission for a version already accepted or distributed.
const SUBMITTABLE: AppStoreReleaseState[] = [
  'PREPARE_FOR_SUBMISSION',
  'READY_FOR_REVIEW',
  'REJECTED'
]
// A seeded submission's versions get releases in its state where the two kinds of state share it.
const SHARED_STATES: AppStoreReleaseState[] = [
  'READY_FOR_REVIEW',
  'WAITING_FOR_REVIEW',
  'IN_REVIEW'
]

export class Review {
  constructor(
    private readonly sim: SimulatorContext,
    private readonly releases: AppStoreReleases
  ) {}

  get handlers(): Record<string, Handler> {
    return {
      reviewSubmissions_getCollection: (r: ApiRequest) => this.listSubmissions(r),
      reviewSubmissions_createInstance: (r: ApiRequest<Schemas['ReviewSubmissionCreateRequest']>) =>
        this.createSubmission(r),
      reviewSubmissions_getInstance: (r: ApiRequest) => {
        const submission = this.sim.store.reviewSubmission(r.pathParams.id)
        return this.sim.api.single(r, this.submissionJson(submission, r), {
          included: this.includedItems([submission], r)
        })
      },
      reviewSubmissions_updateInstance: (r: ApiRequest<Schemas['ReviewSubmissionUpdateRequest']>) =>
        this.updateSubmission(r),
      reviewSubmissionItems_createInstance: (
        r: ApiRequest<Schemas['ReviewSubmissionItemCreateRequest']>
      ) => this.createItem(r),
      reviewSubmissions_items_getToManyRelated: (r: ApiRequest) => this.listItems(r)
    }
  }

  seed(appId: string, seed: SeededSubmission): ReviewSubmissionRecord {
    const submission = this.newSubmission(appId, seed.platform, seed.state ?? 'READY_FOR_REVIEW')
    for (const versionId of seed.backgroundAssetVersionIds ?? [])
      this.newItem(submission, { backgroundAssetVersionId: versionId })
    if (seed.appStoreVersionId)
      this.newItem(submission, { appStoreVersionId: seed.appStoreVersionId })
    const state = SHARED_STATES.find((s) => s === submission.state)
    if (state) this.releases.forSubmission(submission, state)
    return submission
  }

  private newSubmission(
    appId: string,
    platform: Platform,
    state: SubmissionState
  ): ReviewSubmissionRecord {
    const submission: ReviewSubmissionRecord = {
      id: this.sim.random.uuid(),
      appId,
      platform,
      state,
      itemIds: []
    }
    this.sim.store.reviewSubmissions.set(submission.id, submission)
    return submission
  }

  private newItem(
    submission: ReviewSubmissionRecord,
    content: Pick<ReviewItemRecord, 'backgroundAssetVersionId' | 'appStoreVersionId'>
  ): ReviewItemRecord {
    const item: ReviewItemRecord = {
      id: this.sim.random.uuid(),
      submissionId: submission.id,
      state: 'READY_FOR_REVIEW',
      ...content
    }
    this.sim.store.reviewItems.set(item.id, item)
    submission.itemIds.push(item.id)
    return item
  }

  private listSubmissions(r: ApiRequest): Reply {
    const q = r.url.searchParams
    const apps = list(q.get('filter[app]'))
    const platforms = list(q.get('filter[platform]'))
    const states = list(q.get('filter[state]'))
    const found = [...this.sim.store.reviewSubmissions.values()].filter(
      (s) =>
        apps.includes(s.appId) &&
        (!platforms.length || platforms.includes(s.platform)) &&
        (!states.length || states.includes(s.state))
    )
    return this.sim.api.page(
      r,
      found,
      (s) => this.submissionJson(s, r),
      (page) => this.includedItems(page, r)
    )
  }

  private createSubmission(r: ApiRequest<Schemas['ReviewSubmissionCreateRequest']>): Reply {
    const { data } = r.body
    const appId = data.relationships.app.data.id
    if (!this.sim.store.apps.has(appId))
      throw invalidRelationship('/data/relationships/app', `There is no app with id '${appId}'.`)
    const platform = data.attributes?.platform ?? 'IOS'
    const draft = [...this.sim.store.reviewSubmissions.values()].find(
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
    return this.sim.api.created(r, this.submissionJson(created, r))
  }

  private updateSubmission(r: ApiRequest<Schemas['ReviewSubmissionUpdateRequest']>): Reply {
    const { data } = r.body
    const submission = this.sim.store.reviewSubmission(r.pathParams.id)
    requireSameId(data, submission.id)
    const { submitted, canceled } = data.attributes ?? {}
    if (canceled) {
      if (!OPEN.includes(submission.state))
        throw conflict(
          'ENTITY_ERROR.ATTRIBUTE.INVALID',
          'The submission cannot be canceled',
          `The submission is ${submission.state}.`,
          '/data/attributes/canceled'
        )
      submission.state = 'CANCELING'
      this.releases.forSubmission(submission, 'PREPARE_FOR_SUBMISSION')
      for (const item of this.sim.store.itemsOf(submission)) item.state = 'REMOVED'
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
      submission.submittedDate = new Date(this.sim.now()).toISOString()
      this.releases.forSubmission(submission, 'WAITING_FOR_REVIEW')
    }
    return this.sim.api.single(r, this.submissionJson(submission, r))
  }

  private createItem(r: ApiRequest<Schemas['ReviewSubmissionItemCreateRequest']>): Reply {
    const { data } = r.body
    const submissionId = data.relationships.reviewSubmission.data.id
    const submission = related(
      this.sim.store.reviewSubmissions,
      'reviewSubmission',
      submissionId,
      'review submission'
    )
    const versionId = data.relationships.backgroundAssetVersion?.data?.id
    if (!versionId)
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.REQUIRED',
        'An item needs content',
        'This simulator accepts background asset version items.',
        '/data/relationships'
      )
    const version = related(
      this.sim.store.versions,
      'backgroundAssetVersion',
      versionId,
      'asset pack version'
    )
    this.checkAddable(submission, version)
    const item = this.newItem(submission, { backgroundAssetVersionId: versionId })
    this.releases.set(version, 'READY_FOR_REVIEW')
    return this.sim.api.created(r, this.sim.store.reviewItemJson(item))
  }

  // Long on purpose: Apple's rules one after another; the first one broken is the answer.
  /** Apple's rules for a version joining a submission; the first one broken is the answer. */
  private checkAddable(submission: ReviewSubmissionRecord, version: VersionRecord): void {
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
    const openItems = [...this.sim.store.reviewItems.values()].filter(
      (i) =>
        i.state === 'READY_FOR_REVIEW' &&
        OPEN.includes(this.sim.store.reviewSubmissions.get(i.submissionId)!.state)
    )
    const elsewhere = openItems.find((i) => i.backgroundAssetVersionId === version.id)
    if (elsewhere)
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack version is already in a submission',
        `Version ${version.number} is already in review submission ${elsewhere.submissionId}.`,
        pointer
      )
    const release = this.sim.store.appStoreReleaseOf(version)
    if (release && !SUBMITTABLE.includes(release.state))
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack version cannot be submitted again',
        `Version ${version.number}'s App Store release is ${release.state}; a version can be submitted until it is accepted.`,
        pointer
      )
    const packsHere = this.sim.store
      .itemsOf(submission)
      .filter((i) => i.backgroundAssetVersionId && i.state === 'READY_FOR_REVIEW')
      .map((i) => this.sim.store.versions.get(i.backgroundAssetVersionId!)!.packId)
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
      !this.sim.options.appApproved &&
      !this.sim.store.itemsOf(submission).some((i) => i.appStoreVersionId)
    ) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'Asset packs must be submitted with the first app version',
        "This app has no approved version yet. Asset packs must be submitted in the same submission as the app's first version.",
        pointer
      )
    }
  }

  private listItems(r: ApiRequest): Reply {
    const submission = this.sim.store.reviewSubmission(r.pathParams.id)
    const items = this.sim.store.itemsOf(submission)
    const withVersions = includes(r).includes('backgroundAssetVersion')
    return this.sim.api.page(
      r,
      items,
      (i) => this.sim.store.reviewItemJson(i),
      (page) =>
        withVersions
          ? page
              .filter((i) => i.backgroundAssetVersionId)
              .map((i) =>
                this.sim.store.versionJson(
                  this.sim.store.versions.get(i.backgroundAssetVersionId!)!
                )
              )
          : []
    )
  }

  private submissionJson(s: ReviewSubmissionRecord, r: ApiRequest) {
    return this.sim.store.reviewSubmissionJson(s, includes(r).includes('items'))
  }

  private includedItems(submissions: ReviewSubmissionRecord[], r: ApiRequest) {
    if (!includes(r).includes('items')) return []
    return submissions.flatMap((s) =>
      this.sim.store.itemsOf(s).map((i) => this.sim.store.reviewItemJson(i))
    )
  }
}
