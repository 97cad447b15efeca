// App Store releases of versions: one per version, made when the version first joins a review
// submission, its state moved by the review; an approved version becomes its pack's App Store
// version, and the one before it is superseded.
import type { ApiRequest, Handler } from './jsonapi.js'
import type { SimulatorContext } from './context.js'
import type { AppStoreReleaseState } from './options.js'
import type { AppStoreReleaseRecord, ReviewSubmissionRecord, VersionRecord } from './store.js'

export class AppStoreReleases {
  constructor(private readonly sim: SimulatorContext) {}

  get handlers(): Record<string, Handler> {
    return {
      backgroundAssetVersionAppStoreReleases_getInstance: (r: ApiRequest) =>
        this.sim.api.one(
          r,
          this.sim.store.appStoreRelease(r.pathParams.id),
          this.sim.store.appStoreReleaseKind
        )
    }
  }

  /** The version's release, now in `state`; made on first use (one release per version). */
  set(version: VersionRecord, state: AppStoreReleaseState): AppStoreReleaseRecord {
    const existing = this.sim.store.appStoreReleaseOf(version)
    if (existing) {
      existing.state = state
      return existing
    }
    const release = { id: this.sim.random.uuid(), versionId: version.id, state }
    this.sim.store.appStoreReleases.set(release.id, release)
    version.appStoreReleaseId = release.id
    return release
  }

  /**
   * Moves the releases of the versions a submission still holds (items READY_FOR_REVIEW) to
   * `state`. Items rejected or removed earlier keep their release's state: a rejected version stays
   * REJECTED when its submission is withdrawn, as it would on the App Store Connect page.
   */
  forSubmission(submission: ReviewSubmissionRecord, state: AppStoreReleaseState): void {
    for (const version of this.pendingVersions(submission)) this.set(version, state)
  }

  /** The versions of a submission's items that still await a verdict. */
  pendingVersions(submission: ReviewSubmissionRecord): VersionRecord[] {
    return this.sim.store
      .itemsOf(submission)
      .filter((i) => i.backgroundAssetVersionId && i.state === 'READY_FOR_REVIEW')
      .map((i) => this.sim.store.version(i.backgroundAssetVersionId!))
  }

  /** An approved version: READY_FOR_DISTRIBUTION and its pack's App Store version. */
  distribute(version: VersionRecord): void {
    const pack = this.sim.store.pack(version.packId)
    const previous = pack.appStoreVersionId && this.sim.store.versions.get(pack.appStoreVersionId)
    if (previous && previous !== version) this.set(previous, 'SUPERSEDED')
    this.set(version, 'READY_FOR_DISTRIBUTION')
    pack.appStoreVersionId = version.id
  }
}
