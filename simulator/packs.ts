// Asset packs: list (filter, sort, fields, include), read, create (identifier characters, one per
// identifier, 100 per app), archive; and the seeding of packs with versions for tests.
import { conflict, invalidAttribute, invalidParameter, invalidRelationship } from './errors.js'
import {
  list,
  requireSameId,
  type ApiRequest,
  type Handler,
  type Reply,
  type Schemas
} from './jsonapi.js'
import type { AppStoreReleases } from './app-store-releases.js'
import type { SimulatorContext } from './context.js'
import type { SeededPack } from './options.js'
import type { PackRecord } from './store.js'
import type { Processing } from './processing.js'
import type { Uploads } from './uploads.js'
import type { Versions } from './versions.js'

/** The parts that make what a seeded pack holds. */
export interface SeedParts {
  versions: Versions
  uploads: Uploads
  processing: Processing
  releases: AppStoreReleases
}

const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/
const MAX_PACKS_PER_APP = 100

export class Packs {
  constructor(private readonly sim: SimulatorContext) {}

  get handlers(): Record<string, Handler> {
    return {
      apps_backgroundAssets_getToManyRelated: (r: ApiRequest) => this.list(r),
      apps_backgroundAssets_getToManyRelationship: (r: ApiRequest) =>
        this.sim.api.linkages(r, this.sim.store.packsOfApp(r.pathParams.id), 'backgroundAssets'),
      backgroundAssets_createInstance: (r: ApiRequest<Schemas['BackgroundAssetCreateRequest']>) =>
        this.create(r),
      backgroundAssets_getInstance: (r: ApiRequest) => this.get(r),
      backgroundAssets_updateInstance: (r: ApiRequest<Schemas['BackgroundAssetUpdateRequest']>) =>
        this.update(r)
    }
  }

  newPack(appId: string, identifier: string): PackRecord {
    const pack: PackRecord = {
      id: this.sim.random.uuid(),
      appId,
      identifier,
      archived: false,
      createdDate: new Date(this.sim.now()).toISOString()
    }
    this.sim.store.packs.set(pack.id, pack)
    return pack
  }

  /** A pack with versions, as a test describes it (archives held as checksums, no bytes). */
  seed(seed: SeededPack, { versions, uploads, processing, releases }: SeedParts): PackRecord {
    const pack = this.newPack(this.sim.options.appId, seed.identifier)
    pack.archived = seed.archived ?? false
    for (const v of seed.versions ?? []) {
      const version = versions.newVersion(pack)
      version.state = v.state
      version.platforms = v.platforms ?? this.sim.options.defaultPlatforms
      if (v.locale) version.locale = v.locale
      if (v.appStoreState) releases.set(version, v.appStoreState)
      // Versions are seeded oldest first, so the newest distributed one ends as the pack's.
      if (v.appStoreState === 'READY_FOR_DISTRIBUTION') pack.appStoreVersionId = version.id
      if (v.archive) {
        const file = uploads.newUploadFile(
          version,
          'ASSET',
          v.archive.fileName ?? 'pack.aar',
          v.archive.fileSize
        )
        file.deliveryState =
          v.state === 'COMPLETE' ? 'COMPLETE' : v.state === 'FAILED' ? 'FAILED' : 'UPLOAD_COMPLETE'
        const sha = this.sim.options.checksums.fileAlgorithm === 'SHA_256' && v.archive.sha256
        file.committedChecksums = {
          file: sha
            ? { hash: v.archive.sha256!, algorithm: 'SHA_256' }
            : { hash: v.archive.md5, algorithm: 'MD5' }
        }
        version.assetFileId = file.id
      }
      if (v.state === 'COMPLETE') processing.release(version)
    }
    return pack
  }

  private list(r: ApiRequest): Reply {
    const q = r.url.searchParams
    let packs = this.sim.store.packsOfApp(r.pathParams.id)
    const identifiers = list(q.get('filter[assetPackIdentifier]'))
    const bad = identifiers.find((i) => !IDENTIFIER.test(i))
    if (bad)
      throw invalidParameter(
        'filter[assetPackIdentifier]',
        `'${bad}' is not a valid value for the filter 'assetPackIdentifier'.`
      )
    if (identifiers.length) packs = packs.filter((p) => identifiers.includes(p.identifier))
    const archived = list(q.get('filter[archived]'))
    if (archived.length) packs = packs.filter((p) => archived.includes(String(p.archived)))
    const locales = list(q.get('filter[versions.locale]'))
    if (locales.length)
      packs = packs.filter((p) =>
        this.sim.store.versionsOf(p.id).some((v) => v.locale && locales.includes(v.locale))
      )
    const [sort] = list(q.get('sort'))
    if (sort) {
      const key = sort.replace('-', '') as 'assetPackIdentifier' | 'createdDate'
      const value = (p: PackRecord) => (key === 'createdDate' ? p.createdDate : p.identifier)
      packs.sort((a, b) => value(a).localeCompare(value(b)) * (sort.startsWith('-') ? -1 : 1))
    }
    return this.sim.api.pageOf(r, packs, this.sim.store.packKind)
  }

  private get(r: ApiRequest): Reply {
    return this.sim.api.one(r, this.sim.store.pack(r.pathParams.id), this.sim.store.packKind)
  }

  private create(r: ApiRequest<Schemas['BackgroundAssetCreateRequest']>): Reply {
    const { data } = r.body
    const identifier = data.attributes.assetPackIdentifier
    const appId = data.relationships.app.data.id
    if (!this.sim.store.apps.has(appId)) {
      throw invalidRelationship('/data/relationships/app', `There is no app with id '${appId}'.`)
    }
    if (!IDENTIFIER.test(identifier)) {
      throw invalidAttribute(
        '/data/attributes/assetPackIdentifier',
        `'${identifier}' is not a valid asset pack identifier: use letters, digits and hyphens, not starting or ending with a hyphen.`
      )
    }
    const existing = this.sim.store.packsOfApp(appId)
    if (existing.some((p) => p.identifier === identifier)) {
      throw conflict(
        'ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE',
        'The provided entity includes an attribute with a value that has already been used',
        `The asset pack identifier '${identifier}' is already used by this app.`,
        '/data/attributes/assetPackIdentifier'
      )
    }
    if (existing.length >= MAX_PACKS_PER_APP) {
      throw conflict(
        'ENTITY_ERROR.LIMIT_EXCEEDED',
        'The app has too many asset packs',
        `An app can have at most ${MAX_PACKS_PER_APP} asset packs.`
      )
    }
    return this.sim.api.created(r, this.sim.store.packJson(this.newPack(appId, identifier)))
  }

  private update(r: ApiRequest<Schemas['BackgroundAssetUpdateRequest']>): Reply {
    const { data } = r.body
    const pack = this.sim.store.pack(r.pathParams.id)
    requireSameId(data, pack.id)
    const archived = data.attributes?.archived
    if (typeof archived === 'boolean') {
      if (pack.archived && !archived)
        throw invalidAttribute(
          '/data/attributes/archived',
          'An archived asset pack cannot be unarchived.'
        )
      pack.archived = archived
    }
    return this.sim.api.single(r, this.sim.store.packJson(pack))
  }
}
