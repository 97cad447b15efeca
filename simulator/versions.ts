// Versions of a pack: numbered 1, 2, 3 as Apple assigns them; listed (filters, sort, fields,
// include, no order without a sort), read, created (not on an archived pack); and the internal
// beta releases processing makes.
import { conflict, notFound, related } from './errors.js'
import {
  fieldSelection,
  includes,
  list,
  type ApiRequest,
  type Handler,
  type JsonApi,
  type Reply,
  type Schemas
} from './jsonapi.js'
import type { PackRecord, Store, VersionRecord } from './store.js'
import type { Random } from './random.js'

export class Versions {
  constructor(
    private readonly store: Store,
    private readonly random: Random,
    private readonly api: JsonApi,
    private readonly now: () => number
  ) {}

  get handlers(): Record<string, Handler> {
    return {
      backgroundAssets_versions_getToManyRelated: (r: ApiRequest) => this.list(r),
      backgroundAssets_versions_getToManyRelationship: (r: ApiRequest) =>
        this.api.linkages(
          r,
          this.store.versionsOf(this.store.pack(r.pathParams.id).id),
          'backgroundAssetVersions'
        ),
      backgroundAssetVersions_createInstance: (
        r: ApiRequest<Schemas['BackgroundAssetVersionCreateRequest']>
      ) => this.create(r),
      backgroundAssetVersions_getInstance: (r: ApiRequest) => this.get(r),
      backgroundAssetVersionInternalBetaReleases_getInstance: (r: ApiRequest) =>
        this.getInternalBetaRelease(r),
      backgroundAssetVersionExternalBetaReleases_getInstance: (r: ApiRequest) => {
        throw notFound('backgroundAssetVersionExternalBetaReleases', r.pathParams.id)
      },
      backgroundAssetVersionAppStoreReleases_getInstance: (r: ApiRequest) => {
        throw notFound('backgroundAssetVersionAppStoreReleases', r.pathParams.id)
      }
    }
  }

  newVersion(pack: PackRecord): VersionRecord {
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

  private list(r: ApiRequest): Reply {
    const q = r.url.searchParams
    let versions = this.store.versionsOf(this.store.pack(r.pathParams.id).id)
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
    return this.api.page(
      r,
      versions,
      (v) => this.store.versionJson(v, fields),
      (items) => this.store.includedForVersions(items, includes(r), fields)
    )
  }

  private get(r: ApiRequest): Reply {
    const version = this.store.version(r.pathParams.id)
    const fields = fieldSelection(r.url)
    const included = this.store.includedForVersions([version], includes(r), fields)
    return this.api.single(r, this.store.versionJson(version, fields), { included })
  }

  private create(r: ApiRequest<Schemas['BackgroundAssetVersionCreateRequest']>): Reply {
    const packId = r.body.data.relationships.backgroundAsset.data.id
    const pack = related(this.store.packs, 'backgroundAsset', packId, 'asset pack')
    if (pack.archived) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack is archived',
        `The asset pack '${pack.identifier}' is archived and accepts no new versions.`,
        '/data/relationships/backgroundAsset'
      )
    }
    return this.api.created(r, this.store.versionJson(this.newVersion(pack)))
  }

  private getInternalBetaRelease(r: ApiRequest): Reply {
    const release = this.store.internalBetaReleases.get(r.pathParams.id)
    if (!release) throw notFound('backgroundAssetVersionInternalBetaReleases', r.pathParams.id)
    const fields = fieldSelection(r.url)
    const included = includes(r).includes('backgroundAssetVersion')
      ? [this.store.versionJson(this.store.versions.get(release.versionId)!, fields)]
      : []
    return this.api.single(r, this.store.internalBetaReleaseJson(release, fields), { included })
  }
}
