// JSON:API errors as App Store Connect sends them (ErrorResponse: status, code, title, detail, source).
import { randomUUID } from 'node:crypto'

export interface ErrorSource {
  pointer?: string
  parameter?: string
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly source?: ErrorSource
  ) {
    super(`${status} ${code}: ${detail}`)
  }

  toJson(): { errors: Record<string, unknown>[] } {
    return {
      errors: [
        {
          id: randomUUID(),
          status: String(this.status),
          code: this.code,
          title: this.title,
          detail: this.detail,
          ...(this.source ? { source: this.source } : {})
        }
      ]
    }
  }
}

export const notFound = (type: string, id: string, parameter = 'id') =>
  new ApiError(
    404,
    'NOT_FOUND',
    'The specified resource does not exist',
    `There is no resource of type '${type}' with id '${id}'`,
    { parameter }
  )

/** Apple's 401 names the general cause; the simulator, a developer's tool, adds why this token failed. */
export const notAuthorized = (reason: string) =>
  new ApiError(
    401,
    'NOT_AUTHORIZED',
    'Authentication credentials are missing or invalid.',
    `Provide a properly configured and signed bearer token, and make sure that it has not expired. This one was refused because ${reason}. Learn more about Generating Tokens for API Requests https://developer.apple.com/go/?id=api-generating-tokens`
  )

export const rateLimited = () =>
  new ApiError(
    429,
    'RATE_LIMIT_EXCEEDED',
    'The request rate limit has been reached.',
    "We've received too many requests for this API. Please wait and try again or slow down your request rate."
  )

export const invalidParameter = (parameter: string, detail: string) =>
  new ApiError(400, 'PARAMETER_ERROR.INVALID', 'A parameter has an invalid value', detail, {
    parameter
  })

export const invalidAttribute = (pointer: string, detail: string) =>
  new ApiError(409, 'ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.', detail, {
    pointer
  })

export const conflict = (code: string, title: string, detail: string, pointer?: string) =>
  new ApiError(409, code, title, detail, pointer ? { pointer } : undefined)

export const serverError = (status: number) =>
  new ApiError(
    status,
    'UNEXPECTED_ERROR',
    'An unexpected error occurred.',
    'An unexpected error occurred on the server side. If this issue continues, contact us at https://developer.apple.com/contact/.'
  )

export const invalidRelationship = (pointer: string, detail: string) =>
  conflict(
    'ENTITY_ERROR.RELATIONSHIP.INVALID',
    'The provided entity includes a relationship with an invalid value',
    detail,
    pointer
  )

/** The resource a request's relationship names, or the 409 Apple answers when there is none. */
export function related<T>(
  resources: Map<string, T>,
  relationship: string,
  id: string,
  noun: string
): T {
  const found = resources.get(id)
  if (found === undefined)
    throw invalidRelationship(
      `/data/relationships/${relationship}`,
      `There is no ${noun} with id '${id}'.`
    )
  return found
}
