// JSON:API as App Store Connect speaks it: documents with `links.self`, pages with `links.next`
// and `meta.paging`, sparse fieldsets (`fields[type]=a,b`), `include` lists, linkages. Every
// handler builds its answers with these, so all endpoints page and link alike.
import type { components } from '../src/asc/generated/asc-api.js'
import { conflict } from './errors.js'

/** The spec's schemas: request bodies and resources are typed with them. */
export type Schemas = components['schemas']

export interface Reply {
  status: number
  body: unknown
}

export interface ApiRequest<Body = unknown> {
  url: URL
  pathParams: Record<string, string>
  /** Validated against the operation's request schema before the handler runs. */
  body: Body
}

export type Handler = (request: ApiRequest<never>) => Promise<Reply> | Reply

export type Resource = {
  type: string
  id: string
  attributes?: Record<string, unknown>
  relationships?: Record<string, unknown>
  links: { self: string }
}

/** Sparse fieldsets: `fields[type]=a,b` keeps only those attributes and relationships. */
export type FieldSelection = Map<string, Set<string>>

/** A comma-separated query parameter as a list. */
export function list(param: string | null): string[] {
  return param ? param.split(',').filter(Boolean) : []
}

export function fieldSelection(url: URL): FieldSelection {
  const fields: FieldSelection = new Map()
  for (const [name, value] of url.searchParams) {
    const type = /^fields\[(.+)\]$/.exec(name)?.[1]
    if (type) fields.set(type, new Set(list(value)))
  }
  return fields
}

/** The relationships an `include` names. */
export function includes(r: ApiRequest): string[] {
  return list(r.url.searchParams.get('include'))
}

export function select(resource: Resource, fields: FieldSelection): Resource {
  const wanted = fields.get(resource.type)
  if (!wanted) return resource
  const pick = (o?: Record<string, unknown>) =>
    o ? Object.fromEntries(Object.entries(o).filter(([k]) => wanted.has(k))) : undefined
  const attributes = pick(resource.attributes)
  const relationships = pick(resource.relationships)
  return {
    type: resource.type,
    id: resource.id,
    ...(attributes && Object.keys(attributes).length ? { attributes } : {}),
    ...(relationships && Object.keys(relationships).length ? { relationships } : {}),
    links: resource.links
  }
}

export const toOne = <T extends string>(type: T, id?: string) => (id ? { data: { type, id } } : {})

/**
 * A resource built to the spec's schema `K`: the compiler checks its members against the schema
 * (no undeclared attribute, the right types), then the helpers take it as a plain resource.
 */
export function resource<K extends keyof Schemas>(value: Schemas[K]): Resource {
  return value as unknown as Resource
}

/** How one kind of resource is shown: its JSON form and what `include` can add to it. */
export interface ResourceKind<T> {
  json(item: T, fields: FieldSelection): Resource
  included(items: T[], include: string[], fields: FieldSelection): Resource[]
}

/** Builds documents whose links point at this server. */
export class JsonApi {
  constructor(private readonly baseUrl: () => string) {}

  /** The request's own URL, query percent-encoded as Apple's links are (`filter%5Bstate%5D=…`). */
  selfLink(r: ApiRequest, query: URLSearchParams = r.url.searchParams): string {
    const search = query.toString()
    return `${this.baseUrl()}${r.url.pathname}${search ? `?${search}` : ''}`
  }

  /** A single-resource document; `selfPath` for a created resource (its own URL, not the POST's). */
  single(
    r: ApiRequest,
    data: unknown,
    options: { status?: number; included?: unknown[]; selfPath?: string } = {}
  ): Reply {
    const included = options.included ?? []
    return {
      status: options.status ?? 200,
      body: {
        data,
        ...(included.length ? { included } : {}),
        links: {
          self: options.selfPath ? `${this.baseUrl()}${options.selfPath}` : this.selfLink(r)
        }
      }
    }
  }

  created(r: ApiRequest, data: Resource): Reply {
    return this.single(r, data, { status: 201, selfPath: new URL(data.links.self).pathname })
  }

  /** One page of `items` (`limit`, default 50; a `cursor` for the next), with `links.next`. */
  page<T>(
    r: ApiRequest,
    items: T[],
    toJson: (item: T) => unknown,
    included?: (items: T[]) => unknown[]
  ): Reply {
    const limit = Number(r.url.searchParams.get('limit') ?? 50)
    const start =
      Number(Buffer.from(r.url.searchParams.get('cursor') ?? '', 'base64url').toString()) || 0
    const slice = items.slice(start, start + limit)
    const links: Record<string, string> = { self: this.selfLink(r) }
    const paging: Record<string, unknown> = { total: items.length, limit }
    if (start + limit < items.length) {
      const cursor = Buffer.from(String(start + limit)).toString('base64url')
      const next = new URLSearchParams(r.url.searchParams)
      next.set('cursor', cursor)
      links.next = this.selfLink(r, next)
      paging.nextCursor = cursor
    }
    const extra = included?.(slice) ?? []
    return {
      status: 200,
      body: {
        data: slice.map(toJson),
        ...(extra.length ? { included: extra } : {}),
        links,
        meta: { paging }
      }
    }
  }

  /** A page of resources with the sparse fields and the includes the request asks for. */
  pageOf<T>(r: ApiRequest, items: T[], kind: ResourceKind<T>): Reply {
    const fields = fieldSelection(r.url)
    return this.page(
      r,
      items,
      (item) => kind.json(item, fields),
      (slice) => kind.included(slice, includes(r), fields)
    )
  }

  /** One resource, likewise. */
  one<T>(r: ApiRequest, item: T, kind: ResourceKind<T>): Reply {
    const fields = fieldSelection(r.url)
    return this.single(r, kind.json(item, fields), {
      included: kind.included([item], includes(r), fields)
    })
  }

  linkages<T extends { id: string }>(r: ApiRequest, items: T[], type: string): Reply {
    return this.page(r, items, (item) => ({ type, id: item.id }))
  }
}

/** An update's `data.id` must be the path's. */
export function requireSameId(data: { id?: string }, id: string): void {
  if (data.id !== id)
    throw conflict(
      'ENTITY_ERROR.ATTRIBUTE.INVALID',
      'The provided entity id does not match the path',
      `The id '${data.id}' in the body does not match '${id}' in the path.`,
      '/data/id'
    )
}
