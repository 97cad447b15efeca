// Apple's review verdicts, which the App Store Connect API does not expose: a control surface for
// tests (methods) and for a person running `npm run simulator` (a loopback HTTP route off /v1).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppStoreReleases } from './app-store-releases.js'
import { ApiError, conflict } from './errors.js'
import type { SimulatorContext } from './context.js'
import type { LoggedRequest } from './router.js'
import type { ReviewSubmissionRecord, SubmissionState } from './store.js'

const IN_REVIEW: SubmissionState[] = ['WAITING_FOR_REVIEW', 'IN_REVIEW']
const LOOPBACK = /^(?:127\.|::1$|::ffff:127\.)/

/**
 * `POST /simulator/review-submissions/{id}/approve`, `/reject` or `/start-review`: gives a
 * submitted review submission Apple's verdict (or starts its review). No token: it answers only
 * loopback clients. Answers `{ id, state, appStoreReleases: [{ id, backgroundAssetVersion, state }] }`,
 * or an error document (404 unknown submission, 409 not in review).
 */
const CONTROL_ROUTE = /^\/simulator\/review-submissions\/([^/]+)\/(approve|reject|start-review)$/

export class Verdicts {
  constructor(
    private readonly sim: SimulatorContext,
    private readonly releases: AppStoreReleases
  ) {}

  /** Review begins: the submission and its versions' releases are IN_REVIEW. */
  startReview(id: string): ReviewSubmissionRecord {
    const submission = this.inReview(id, ['WAITING_FOR_REVIEW'])
    submission.state = 'IN_REVIEW'
    this.releases.forSubmission(submission, 'IN_REVIEW')
    return submission
  }

  /**
   * Approved: each version is distributed (READY_FOR_DISTRIBUTION, its pack's App Store version),
   * the items APPROVED, the submission COMPLETE. An approved app version item makes the app
   * approved, so its packs may go to review on their own from then on.
   */
  approve(id: string): ReviewSubmissionRecord {
    const submission = this.inReview(id)
    for (const version of this.releases.pendingVersions(submission))
      this.releases.distribute(version)
    for (const item of this.pendingItems(submission)) {
      item.state = 'APPROVED'
      if (item.appStoreVersionId) this.sim.options.appApproved = true
    }
    submission.state = 'COMPLETE'
    return submission
  }

  /** Rejected: the releases and items REJECTED, the submission UNRESOLVED_ISSUES. */
  reject(id: string): ReviewSubmissionRecord {
    const submission = this.inReview(id)
    this.releases.forSubmission(submission, 'REJECTED')
    for (const item of this.pendingItems(submission)) item.state = 'REJECTED'
    submission.state = 'UNRESOLVED_ISSUES'
    return submission
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    log: LoggedRequest
  ): Promise<void> {
    req.resume()
    if (!LOOPBACK.test(req.socket.remoteAddress ?? ''))
      throw new ApiError(
        403,
        'FORBIDDEN_ERROR',
        'Loopback only',
        'Control routes answer loopback clients only.'
      )
    const [, id, action] = CONTROL_ROUTE.exec(url.pathname) ?? []
    if (!action || req.method !== 'POST')
      throw new ApiError(
        404,
        'NOT_FOUND',
        'No such control route',
        'Control routes: POST /simulator/review-submissions/{id}/approve, /reject or /start-review.'
      )
    const verdicts: Record<string, (id: string) => ReviewSubmissionRecord> = {
      approve: (id) => this.approve(id),
      reject: (id) => this.reject(id),
      'start-review': (id) => this.startReview(id)
    }
    const submission = verdicts[action](decodeURIComponent(id))
    const text = JSON.stringify({
      id: submission.id,
      state: submission.state,
      appStoreReleases: this.sim.store.itemsOf(submission).flatMap((i) => {
        const version =
          i.backgroundAssetVersionId && this.sim.store.versions.get(i.backgroundAssetVersionId)
        const release = version && this.sim.store.appStoreReleaseOf(version)
        return release
          ? [{ id: release.id, backgroundAssetVersion: release.versionId, state: release.state }]
          : []
      })
    })
    log.status = 200
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(text)
  }

  private inReview(id: string, from = IN_REVIEW): ReviewSubmissionRecord {
    const submission = this.sim.store.reviewSubmission(id)
    if (!from.includes(submission.state))
      throw conflict(
        'STATE_ERROR',
        'The submission is not in review',
        `The submission is ${submission.state}; only one that is ${from.join(' or ')} can get this verdict.`
      )
    return submission
  }

  private pendingItems(submission: ReviewSubmissionRecord) {
    return this.sim.store.itemsOf(submission).filter((i) => i.state === 'READY_FOR_REVIEW')
  }
}
