// Optional last step: submit the COMPLETE version for App Store review. Apple's only API route is a
// review submission with a backgroundAssetVersion item: reuse the app's open draft for the
// platform (submitted with whatever it already holds) or create one, add the version, submit.
// External TestFlight review of asset packs has no API.
import * as core from '@actions/core'
import type {
  AppStoreConnectClient,
  BackgroundAssetVersion,
  ReviewSubmission,
  ReviewSubmissionState,
  Platform
} from './asc/client.js'
import { AscApiError } from './errors.js'

export interface ReviewResult {
  submission: ReviewSubmission
  /** The version was already in this open submission (a re-run): nothing was changed. */
  alreadySubmitted: boolean
  /** An existing draft was used (and submitted with the items it held). */
  reusedDraft: boolean
}

/** States in which a submission still holds its items for review. */
const OPEN: ReviewSubmissionState[] = [
  'READY_FOR_REVIEW',
  'WAITING_FOR_REVIEW',
  'IN_REVIEW',
  'UNRESOLVED_ISSUES'
]

/** The version's platform for the submission: the input's, or the version's only one. */
export function reviewPlatformFor(
  version: BackgroundAssetVersion,
  requested: Platform | undefined
): Platform {
  const platforms = version.attributes?.platforms ?? []
  if (requested) {
    if (platforms.length && !platforms.includes(requested)) {
      throw new Error(
        `review-platform: version ${version.attributes?.version} is for ${platforms.join(', ')}, not ${requested}.`
      )
    }
    return requested
  }
  if (platforms.length !== 1) {
    throw new Error(
      `review-platform: version ${version.attributes?.version} is for ${platforms.join(', ') || 'no platform'}; a review submission is for one platform — set review-platform (${platforms.join(' or ') || 'IOS, MAC_OS, TV_OS, VISION_OS'}).`
    )
  }
  return platforms[0]
}

function explain(error: AscApiError): Error {
  const detail = error.errors.map((e) => e.detail).join(' ')
  if (/first (app )?version|approved version/i.test(detail)) {
    return new Error(
      `${error.message}\nThe app has no approved version yet: until it has, Apple reviews asset packs only together with the app's first version. ` +
        'Add this asset pack version to the app version’s submission in App Store Connect (the app’s Asset Packs → Add for Review), then submit them together.'
    )
  }
  return error
}

// Long on purpose: Apple's review rules (reuse the draft, one open submission per version, cancel
// only what this run created) are a sequence whose order matters.
export async function submitForReview(
  client: AppStoreConnectClient,
  appId: string,
  packId: string,
  version: BackgroundAssetVersion,
  platform: Platform
): Promise<ReviewResult> {
  // A re-run: the version may already be in an open submission.
  const open = await client.listReviewSubmissions(appId, OPEN)
  const mine = open.items.find(
    (item) =>
      item.relationships?.backgroundAssetVersion?.data?.id === version.id &&
      item.attributes?.state !== 'REMOVED'
  )
  if (mine) {
    const submission = open.submissions.find((s) =>
      s.relationships?.items?.data?.some((i) => i.id === mine.id)
    )
    if (submission) {
      core.info(
        `Version ${version.attributes?.version} is already in review submission ${submission.id} (${submission.attributes?.state}); nothing to do.`
      )
      return { submission, alreadySubmitted: true, reusedDraft: false }
    }
  }
  const drafts = await client.listReviewSubmissions(appId, ['READY_FOR_REVIEW'], platform)
  let submission = drafts.submissions[0]
  const created = !submission
  if (submission) {
    const { versions } = await client.listReviewSubmissionItems(submission.id)
    const sibling = versions.find(
      (v) => v.relationships?.backgroundAsset?.data?.id === packId && v.id !== version.id
    )
    if (sibling) {
      throw new Error(
        `The app's ${platform} review draft ${submission.id} already holds version ${sibling.attributes?.version} of this asset pack, and Apple takes one version per pack in a submission. ` +
          'Remove that item in App Store Connect (or submit the draft first), then run again.'
      )
    }
    core.info(
      `Adding version ${version.attributes?.version} to the app's open ${platform} review draft ${submission.id}.`
    )
  } else {
    submission = await client.createReviewSubmission(appId, platform)
    core.info(`Created review submission ${submission.id} for ${platform}.`)
  }
  try {
    await client.addBackgroundAssetVersionToReview(submission.id, version.id)
  } catch (error) {
    // Never touch a draft someone else prepared; withdraw only what this run made.
    if (created) {
      await client.updateReviewSubmission(submission.id, { canceled: true }).then(
        () => core.info(`Canceled review submission ${submission.id}, which this run had created.`),
        (e: unknown) =>
          core.warning(`Could not cancel review submission ${submission.id}: ${String(e)}`)
      )
    }
    throw error instanceof AscApiError ? explain(error) : error
  }
  const submitted = await client.updateReviewSubmission(submission.id, { submitted: true })
  core.info(`Submitted review submission ${submitted.id}: ${submitted.attributes?.state}.`)
  return { submission: submitted, alreadySubmitted: false, reusedDraft: !created }
}
