// Optional last step: submit the COMPLETE versions for App Store review. Apple's only API route is
// a review submission with a backgroundAssetVersion item: reuse the app's open draft for the
// platform (submitted with whatever it already holds) or create one, add the versions, submit.
// Only what needs review goes in: a version already in review, accepted or live (its App Store
// release says so) is left out. External TestFlight review of asset packs has no API.
import * as log from './log.js'
import type {
  AppStoreConnectClient,
  AppStoreReleaseState,
  BackgroundAssetVersion,
  ReviewSubmission,
  ReviewSubmissionState,
  Platform
} from './asc/client.js'
import { AscApiError } from './errors.js'
import { MAX_PACKS_PER_REVIEW } from './constants.js'

export interface ReviewResult {
  /** The submission the versions are in; undefined when none needed review. */
  submission?: ReviewSubmission
  /** The versions were already in this open submission (a re-run): nothing was changed. */
  alreadySubmitted: boolean
  /** An existing draft was used (and submitted with the items it held). */
  reusedDraft: boolean
  /** Versions added to the submission by this run. */
  added: ReviewCandidate[]
  /** Versions left out: already in review, accepted or live. */
  leftOut: ReviewCandidate[]
}

/** A COMPLETE version to submit, with its pack. */
export interface ReviewCandidate {
  packId: string
  identifier: string
  version: BackgroundAssetVersion
  /** Its App Store release's state; undefined when it has none (never submitted). */
  appStoreState?: AppStoreReleaseState
}

/**
 * App Store release states of a version that is not submitted again: waiting for or in review,
 * accepted, on its way to or on the App Store, or replaced there. Any other (no release,
 * PREPARE_FOR_SUBMISSION, READY_FOR_REVIEW, REJECTED) goes in.
 */
const SETTLED: AppStoreReleaseState[] = [
  'WAITING_FOR_REVIEW',
  'IN_REVIEW',
  'ACCEPTED',
  'PROCESSING_FOR_DISTRIBUTION',
  'READY_FOR_DISTRIBUTION',
  'SUPERSEDED'
]

/** Whether a version goes into the review submission (see SETTLED). */
export function needsReview(appStoreState: AppStoreReleaseState | undefined): boolean {
  return !appStoreState || !SETTLED.includes(appStoreState)
}

/** States in which a submission still holds its items for review. */
const OPEN: ReviewSubmissionState[] = [
  'READY_FOR_REVIEW',
  'WAITING_FOR_REVIEW',
  'IN_REVIEW',
  'UNRESOLVED_ISSUES'
]

const label = ({ version, identifier }: ReviewCandidate) =>
  `version ${version.attributes?.version} of '${identifier}'`

/** The versions' one platform for the submission: the input's, or each version's only one. */
export function reviewPlatformFor(
  candidates: ReviewCandidate[],
  requested: Platform | undefined
): Platform {
  const found = new Set<Platform>()
  for (const candidate of candidates) {
    const platforms = candidate.version.attributes?.platforms ?? []
    const version = label(candidate)
    if (requested) {
      if (platforms.length && !platforms.includes(requested))
        throw new Error(
          `review-platform: ${version} is for ${platforms.join(', ')}, not ${requested}.`
        )
      continue
    }
    if (platforms.length !== 1)
      throw new Error(
        `review-platform: ${version} is for ${platforms.join(', ') || 'no platform'}; a review submission is for one platform — set review-platform (${platforms.join(' or ') || 'IOS, MAC_OS, TV_OS, VISION_OS'}).`
      )
    found.add(platforms[0])
  }
  if (requested) return requested
  if (found.size > 1)
    throw new Error(
      `submit-for-review: the versions are for different platforms (${[...found].join(', ')}), and Apple's review submission is for one platform. Release each platform's packs in their own step.`
    )
  return [...found][0]
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

/** Where each version already is (a re-run): the open submission holding it, if any. */
async function placedVersions(
  client: AppStoreConnectClient,
  appId: string,
  candidates: ReviewCandidate[]
): Promise<Map<string, ReviewSubmission>> {
  const open = await client.listReviewSubmissions(appId, OPEN)
  const placed = new Map<string, ReviewSubmission>()
  for (const { version } of candidates) {
    // A rejected item no longer holds its version: it goes into a submission again.
    const item = open.items.find(
      (i) =>
        i.relationships?.backgroundAssetVersion?.data?.id === version.id &&
        i.attributes?.state !== 'REMOVED' &&
        i.attributes?.state !== 'REJECTED'
    )
    const submission =
      item &&
      open.submissions.find((s) => s.relationships?.items?.data?.some((i) => i.id === item.id))
    if (submission) placed.set(version.id, submission)
  }
  return placed
}

/** Apple's draft rules: one version per pack, at most 10 packs in a submission. */
async function checkDraft(
  client: AppStoreConnectClient,
  draft: ReviewSubmission,
  platform: Platform,
  adding: ReviewCandidate[]
): Promise<void> {
  const { versions } = await client.listReviewSubmissionItems(draft.id)
  const ours = new Set(adding.map((c) => c.version.id))
  for (const candidate of adding) {
    const sibling = versions.find(
      (v) => v.relationships?.backgroundAsset?.data?.id === candidate.packId && !ours.has(v.id)
    )
    if (sibling)
      throw new Error(
        `The app's ${platform} review draft ${draft.id} already holds version ${sibling.attributes?.version} of '${candidate.identifier}', and Apple takes one version per pack in a submission. ` +
          'Remove that item in App Store Connect (or submit the draft first), then run again.'
      )
  }
  const held = versions.filter((v) => !ours.has(v.id)).length
  if (held + adding.length > MAX_PACKS_PER_REVIEW)
    throw new Error(
      `The app's ${platform} review draft ${draft.id} holds ${held} asset pack version(s); with these ${adding.length} it would hold ${held + adding.length}, and Apple's review submissions hold at most ${MAX_PACKS_PER_REVIEW} asset packs. Submit or trim the draft in App Store Connect, then run again.`
    )
}

// Long on purpose: Apple's review rules (only what needs review, reuse the draft, one open
// submission per version, cancel only what this run created) are a sequence whose order matters.
/** Puts every version that needs review in one review submission and submits it once. */
export async function submitForReview(
  client: AppStoreConnectClient,
  appId: string,
  candidates: ReviewCandidate[],
  platform: Platform | undefined
): Promise<ReviewResult> {
  const leftOut = candidates.filter((c) => !needsReview(c.appStoreState))
  for (const c of leftOut)
    log.info(
      `${capitalized(label(c))} is ${c.appStoreState} on the App Store: left out of the review submission.`
    )
  const needed = candidates.filter((c) => needsReview(c.appStoreState))
  // A re-run: versions may already be in an open submission (a submitted one, or the draft).
  const placed = await placedVersions(client, appId, candidates)
  const submitted = (c: ReviewCandidate) =>
    placed.get(c.version.id)?.attributes?.state !== 'READY_FOR_REVIEW' && placed.has(c.version.id)
  if (needed.every(submitted)) {
    const submission = [...placed.values()].find((s) => s.attributes?.state !== 'READY_FOR_REVIEW')
    if (submission)
      log.info(
        `${needed.length === 1 ? `Version ${needed[0].version.attributes?.version} is` : 'The versions are'} already in review submission ${submission.id} (${submission.attributes?.state}); nothing to do.`
      )
    else
      log.info(
        'Nothing to submit for App Store review: every version is already in review, accepted or live.'
      )
    return { submission, alreadySubmitted: !!submission, reusedDraft: false, added: [], leftOut }
  }
  for (const [versionId, s] of placed)
    if (s.attributes?.state !== 'READY_FOR_REVIEW')
      log.info(
        `Version ${versionId} is already in review submission ${s.id} (${s.attributes?.state}); left there.`
      )
  const drafts = await client.listReviewSubmissions(appId, ['READY_FOR_REVIEW'], platform)
  let submission = drafts.submissions[0]
  const created = !submission
  const adding = needed.filter((c) => !placed.has(c.version.id))
  if (submission) {
    await checkDraft(client, submission, platform!, adding)
    log.info(
      `Adding ${adding.map(label).join(', ') || 'nothing more'} to the app's open ${platform} review draft ${submission.id}.`
    )
  } else {
    submission = await client.createReviewSubmission(appId, platform!)
    log.info(`Created review submission ${submission.id} for ${platform}.`)
  }
  try {
    for (const { version } of adding)
      await client.addBackgroundAssetVersionToReview(submission.id, version.id)
  } catch (error) {
    // Never touch a draft someone else prepared; withdraw only what this run made.
    if (created) {
      await client.updateReviewSubmission(submission.id, { canceled: true }).then(
        () => log.info(`Canceled review submission ${submission.id}, which this run had created.`),
        (e: unknown) =>
          log.warning(`Could not cancel review submission ${submission.id}: ${String(e)}`)
      )
    }
    throw error instanceof AscApiError ? explain(error) : error
  }
  const result = await client.updateReviewSubmission(submission.id, { submitted: true })
  log.info(`Submitted review submission ${result.id}: ${result.attributes?.state}.`)
  return {
    submission: result,
    alreadySubmitted: false,
    reusedDraft: !created,
    added: needed,
    leftOut
  }
}

const capitalized = (text: string) => text[0].toUpperCase() + text.slice(1)
