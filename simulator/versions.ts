// Versions of a pack: numbered 1, 2, 3 as Apple assigns them; listed (filters, sort, fields,
// include, no order without a sort), read, created (not on an archived pack); and the internal
// beta releases processing makes, read.
import { conflict, notFound, related } from './errors.js'
import { list, type ApiRequest, type Handler, type Reply, type Schemas } from './jsonapi.js'
import type { SimulatorContext } from './context.js'
import type { PackRecord, VersionRecord } from './store.js'

export class Versions {
  constructor(private readonly sim: SimulatorContext) {}

  get handlers(): Record<string, Handler> {
    return {
      backgroundAssets_versions_getToManyRelated: (r: ApiRequest) => this.list(r),
      backgroundAssets_versions_getToManyRelationship: (r: ApiRequest) =>
        this.sim.api.linkages(
          r,
          this.sim.store.versionsOf(this.sim.store.pack(r.pathParams.id).id),
          'backgroundAssetVersions'
        ),
      backgroundAssetVersions_createInstance: (
        r: ApiRequest<Schemas['BackgroundAssetVersionCreateRequest']>
      ) => this.create(r),
      backgroundAssetVersions_getInstance: (r: ApiRequest) => this.get(r),
      backgroundAssetVersionInternalBetaReleases_getInstance: (r: ApiRequest) =>
        this.sim.api.one(
          r,
          this.sim.store.internalBetaRelease(r.pathParams.id),
          this.sim.store.internalBetaReleaseKind
        ),
      backgroundAssetVersionExternalBetaReleases_getInstance: (r: ApiRequest) => {
        throw notFound('backgroundAssetVersionExternalBetaReleases', r.pathParams.id)
      }
    }
  }

  newVersion(pack: PackRecord): VersionRecord {
    const number =
      this.sim.store.versionsOf(pack.id).reduce((max, v) => Math.max(max, v.number), 0) + 1
    const version: VersionRecord = {
      id: this.sim.random.uuid(),
      packId: pack.id,
      number,
      state: 'AWAITING_UPLOAD',
      platforms: [],
      createdDate: new Date(this.sim.now()).toISOString()
    }
    this.sim.store.versions.set(version.id, version)
    return version
  }

  private list(r: ApiRequest): Reply {
    const q = r.url.searchParams
    let versions = this.sim.store.versionsOf(this.sim.store.pack(r.pathParams.id).id)
    // Apple's filters are lists: a version matches when its value is one of the list's.
    const filter = (name: string, value: (v: VersionRecord) => string | undefined) => {
      const wanted = list(q.get(`filter[${name}]`))
      if (wanted.length) versions = versions.filter((v) => wanted.some((w) => w === value(v)))
    }
    filter('state', (v) => v.state)
    filter('version', (v) => String(v.number))
    filter('locale', (v) => v.locale)
    filter('appStoreRelease.state', (v) => this.sim.store.appStoreReleaseOf(v)?.state)
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
    return this.sim.api.pageOf(r, versions, this.sim.store.versionKind)
  }

  private get(r: ApiRequest): Reply {
    return this.sim.api.one(r, this.sim.store.version(r.pathParams.id), this.sim.store.versionKind)
  }

  private create(r: ApiRequest<Schemas['BackgroundAssetVersionCreateRequest']>): Reply {
    const packId = r.body.data.relationships.backgroundAsset.data.id
    const pack = related(this.sim.store.packs, 'backgroundAsset', packId, 'asset pack')
    if (pack.archived) {
      throw conflict(
        'ENTITY_ERROR.RELATIONSHIP.INVALID',
        'The asset pack is archived',
        `The asset pack '${pack.identifier}' is archived and accepts no new versions.`,
        '/data/relationships/backgroundAsset'
      )
    }
    return this.sim.api.created(r, this.sim.store.versionJson(this.newVersion(pack)))
  }
}
