// A reservation's upload operations as a plan of parts: checked to tile the file exactly, use
// https (plain http only on loopback) and stay valid long enough, before a byte is sent.
import type { BackgroundAssetUploadFile } from '../asc/client.js'
import { isLoopbackHost } from '../asc/http.js'
import { UploadPlanError } from '../errors.js'

export interface PartPlan {
  partNumber: number
  offset: number
  length: number
  method: string
  url: string
  headers: Record<string, string>
}

/** An operation must stay valid at least this long after the check, or the reservation is renewed. */
const EXPIRY_MARGIN_MS = 5 * 60_000

/**
 * The reservation's operations, sorted by offset, once they are known to cover [0, fileSize)
 * exactly, use http(s) URLs, and have not expired. Anything else is refused before a byte is sent.
 */
export function planParts(
  file: BackgroundAssetUploadFile,
  fileSize: number,
  now = Date.now()
): PartPlan[] {
  const operations = file.attributes?.uploadOperations ?? []
  if (!operations.length)
    throw new UploadPlanError(`The reservation ${file.id} has no upload operations.`)
  const parts = operations.map((op, i): PartPlan => {
    if (typeof op.offset !== 'number' || typeof op.length !== 'number' || !op.url || !op.method) {
      throw new UploadPlanError(
        `Upload operation ${i + 1} of reservation ${file.id} lacks an offset, length, method or URL.`
      )
    }
    const url = new URL(op.url)
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new UploadPlanError(
        `Upload operation ${op.partNumber ?? i + 1} has a non-https URL; refusing to send the archive over plain http.`
      )
    }
    if (op.expiration && Date.parse(op.expiration) - EXPIRY_MARGIN_MS < now) {
      throw new UploadPlanError(
        `Upload operation ${op.partNumber ?? i + 1} expired at ${op.expiration}; the reservation must be renewed.`
      )
    }
    const headers: Record<string, string> = {}
    for (const h of op.requestHeaders ?? []) if (h.name) headers[h.name] = h.value ?? ''
    return {
      partNumber: op.partNumber ?? i + 1,
      offset: op.offset,
      length: op.length,
      method: op.method,
      url: op.url,
      headers
    }
  })
  parts.sort((a, b) => a.offset - b.offset)
  let expected = 0
  for (const part of parts) {
    if (part.offset > expected)
      throw new UploadPlanError(
        `The upload operations leave bytes ${expected}–${part.offset - 1} uncovered (gap before part ${part.partNumber}).`
      )
    if (part.offset < expected)
      throw new UploadPlanError(
        `Upload operation part ${part.partNumber} overlaps the previous one at byte ${part.offset}.`
      )
    expected = part.offset + part.length
  }
  if (expected !== fileSize)
    throw new UploadPlanError(
      `The upload operations cover ${expected} bytes, but the file has ${fileSize}.`
    )
  if (new Set(parts.map((p) => p.partNumber)).size !== parts.length)
    throw new UploadPlanError('Two upload operations share a part number.')
  return parts
}
