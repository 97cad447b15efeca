// Validates requests and responses against Apple's OpenAPI document (spec/), with ajv.
// OpenAPI 3.0 schemas are not quite JSON Schema, so the document is adapted once at load:
// `nullable` next to `$ref` becomes an anyOf, and every object schema that lists its properties
// gets `additionalProperties: false`, because Apple refuses members the spec does not declare
// (ENTITY_ERROR.ATTRIBUTE.UNKNOWN) and the simulator must not send any either.
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import formats from 'ajv-formats'

// ajv-formats is CommonJS: its default export is the plugin itself or sits under `.default`.
const addFormats = ((formats as unknown as { default?: typeof formats }).default ??
  formats) as unknown as (ajv: Ajv) => void

export const SPEC_PATH = new URL('../spec/background-assets.openapi.json', import.meta.url)

type Json = Record<string, unknown>

interface Parameter {
  name: string
  in: 'query' | 'path'
  required?: boolean
  schema: Json
}

export interface Operation {
  method: string
  template: string
  operationId: string
  parameters: Parameter[]
  hasBody: boolean
  declaredStatuses: string[]
}

export interface MatchedOperation {
  operation: Operation
  pathParams: Record<string, string>
}

/** A problem with one message, located by a JSON pointer into the request body when it has one. */
export interface ContractProblem {
  message: string
  pointer?: string
  parameter?: string
  keyword: string
}

// `cursor` is not declared by the spec, yet Apple's own `links.next` carry it: a client that
// follows those links (as it must) sends it.
const UNDECLARED_PAGING_PARAMETERS = new Set(['cursor'])

function adaptSchema(node: unknown, insideAllOf = false): unknown {
  if (Array.isArray(node)) return node.map((n) => adaptSchema(n, insideAllOf))
  if (!node || typeof node !== 'object') return node
  const source = node as Json
  const out: Json = {}
  for (const [key, value] of Object.entries(source)) {
    if (key === 'discriminator' || key === 'deprecated' || key === 'example') continue
    out[key] = adaptSchema(value, key === 'allOf')
  }
  if (out.nullable === true && out.$ref) {
    const { nullable: _n, ...rest } = out
    return { anyOf: [rest, { type: 'null' }] }
  }
  if (out.type === 'object' && out.properties && !('additionalProperties' in out) && !insideAllOf) {
    out.additionalProperties = false
  }
  return out
}

function namesUsedInAllOf(spec: Json): Set<string> {
  const names = new Set<string>()
  const visit = (node: unknown, inAllOf: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, inAllOf))
    if (!node || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node as Json)) {
      if (key === '$ref' && inAllOf && typeof value === 'string') names.add(value.split('/').pop()!)
      visit(value, inAllOf || key === 'allOf')
    }
  }
  visit(spec, false)
  return names
}

function describe(error: ErrorObject): ContractProblem {
  const pointer = error.instancePath || '/'
  if (error.keyword === 'additionalProperties') {
    const member = (error.params as { additionalProperty: string }).additionalProperty
    return {
      keyword: error.keyword,
      pointer: `${error.instancePath}/${member}`,
      message: `${pointer}: member '${member}' is not declared by the spec`
    }
  }
  if (error.keyword === 'required') {
    const member = (error.params as { missingProperty: string }).missingProperty
    return {
      keyword: error.keyword,
      pointer: `${error.instancePath}/${member}`,
      message: `${pointer}: required member '${member}' is missing`
    }
  }
  return { keyword: error.keyword, pointer, message: `${pointer}: ${error.message}` }
}

/** The most specific problem of a oneOf failure is the useful one; ajv lists the envelope too. */
function problemsOf(errors: ErrorObject[] | null | undefined): ContractProblem[] {
  if (!errors?.length) return []
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf')
  return (specific.length ? specific : errors).map(describe)
}

export class ContractValidator {
  readonly operations: Operation[]
  private readonly ajv: Ajv
  private readonly requestValidators = new Map<string, ValidateFunction>()
  private readonly responseValidators = new Map<string, ValidateFunction>()
  private readonly parameterValidators = new Map<string, ValidateFunction>()

  private constructor(private readonly spec: Json) {
    const keepOpen = namesUsedInAllOf(spec)
    const components = spec.components as { schemas: Record<string, unknown> }
    const schemas: Json = {}
    for (const [name, schema] of Object.entries(components.schemas)) {
      schemas[name] = adaptSchema(schema, keepOpen.has(name))
    }
    this.ajv = new Ajv({ strict: false, allErrors: true, formats: { int64: true, int32: true } })
    addFormats(this.ajv)
    this.ajv.addSchema({ $id: 'asc', components: { schemas } })
    this.operations = []
    for (const [template, item] of Object.entries(spec.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters') continue
        const operation = op as Json
        this.operations.push({
          method: method.toUpperCase(),
          template,
          operationId: operation.operationId as string,
          parameters: ((operation.parameters ?? []) as Parameter[]).concat(
            (item.parameters ?? []) as Parameter[]
          ),
          hasBody: Boolean(operation.requestBody),
          declaredStatuses: Object.keys(operation.responses as Json)
        })
      }
    }
  }

  static load(path: URL | string = SPEC_PATH): ContractValidator {
    return new ContractValidator(JSON.parse(readFileSync(path, 'utf8')) as Json)
  }

  match(method: string, pathname: string): MatchedOperation | undefined {
    const parts = pathname.split('/')
    for (const operation of this.operations) {
      if (operation.method !== method) continue
      const templateParts = operation.template.split('/')
      if (templateParts.length !== parts.length) continue
      const pathParams: Record<string, string> = {}
      const same = templateParts.every((t, i) => {
        if (t.startsWith('{')) {
          pathParams[t.slice(1, -1)] = decodeURIComponent(parts[i])
          return parts[i].length > 0
        }
        return t === parts[i]
      })
      if (same) return { operation, pathParams }
    }
    return undefined
  }

  /** Query parameters: declared, well-formed, within their enums and bounds, required ones present. */
  checkQuery(operation: Operation, query: URLSearchParams): ContractProblem[] {
    const problems: ContractProblem[] = []
    const declared = new Map(
      operation.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p])
    )
    for (const name of new Set(query.keys())) {
      const parameter = declared.get(name)
      if (!parameter) {
        if (!UNDECLARED_PAGING_PARAMETERS.has(name)) {
          problems.push({
            keyword: 'parameter',
            parameter: name,
            message: `query parameter '${name}' is not declared for ${operation.method} ${operation.template}`
          })
        }
        continue
      }
      const raw = query.getAll(name).join(',')
      const type = parameter.schema.type
      const value = type === 'array' ? raw.split(',') : type === 'integer' ? Number(raw) : raw
      const validate = this.parameterValidator(operation, parameter)
      if (!validate(value)) {
        problems.push({
          keyword: 'parameter',
          parameter: name,
          message: `query parameter '${name}=${raw}' is invalid: ${this.ajv.errorsText(validate.errors)}`
        })
      }
    }
    for (const parameter of declared.values()) {
      if (parameter.required && !query.has(parameter.name)) {
        problems.push({
          keyword: 'required',
          parameter: parameter.name,
          message: `required query parameter '${parameter.name}' is missing`
        })
      }
    }
    return problems
  }

  checkRequestBody(operation: Operation, body: unknown): ContractProblem[] {
    const key = `${operation.method} ${operation.template}`
    const validate = this.cached(this.requestValidators, key, () => {
      const schema = this.operationJson(operation).requestBody as Json
      const ref = ((schema.content as Json)['application/json'] as Json).schema as Json
      return { $ref: `asc${ref.$ref as string}` }
    })
    return validate(body) ? [] : problemsOf(validate.errors)
  }

  /** Statuses the spec does not declare (an injected 500) are checked as an ErrorResponse. */
  checkResponse(operation: Operation, status: number, body: unknown): ContractProblem[] {
    const declared = operation.declaredStatuses.includes(String(status))
    const key = `${operation.method} ${operation.template} ${declared ? status : 'error'}`
    const validate = this.cached(this.responseValidators, key, () => {
      const ref = declared
        ? ((
            (
              ((this.operationJson(operation).responses as Json)[String(status)] as Json)
                .content as Json
            )['application/json'] as Json
          ).schema as Json)
        : { $ref: '#/components/schemas/ErrorResponse' }
      return { $ref: `asc${ref.$ref as string}` }
    })
    return validate(body) ? [] : problemsOf(validate.errors)
  }

  private parameterValidator(operation: Operation, parameter: Parameter): ValidateFunction {
    return this.cached(
      this.parameterValidators,
      `${operation.method} ${operation.template} ${parameter.name}`,
      () => adaptSchema(parameter.schema) as Json
    )
  }

  private cached(
    cache: Map<string, ValidateFunction>,
    key: string,
    schema: () => Json
  ): ValidateFunction {
    let validate = cache.get(key)
    if (!validate) {
      validate = this.ajv.compile(schema())
      cache.set(key, validate)
    }
    return validate
  }

  private operationJson(operation: Operation): Json {
    return (this.spec.paths as Record<string, Json>)[operation.template][
      operation.method.toLowerCase()
    ] as Json
  }
}
