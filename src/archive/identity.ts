// The content identity: what an app reads from the pack, not the bytes that carry it. ba-package
// stamps the packaging time into every archive and a fresh checkout gives every file a new mtime,
// so two builds of the same assets never have the same bytes; their identity is the same.
//
// contentId = SHA-256 of the text "asset-pack-content 1\n" followed by one line per entry, sorted:
// the JSON array [type, path, link target or null, digest or null] and "\n", where the digest is
// the hex SHA-256 of the entry's data (`DAT`), or for the archive's Manifest.json the hex SHA-256
// of the manifest as canonical JSON (parsed, keys sorted, no spaces), so its formatting does not
// count but every value does (`toolsVersion` too: a new ba-package is a new version).
// Not in it: times, owner ids, mode, flags, extended attributes, checksum and size fields, entry
// order, the container (raw, LZFSE, zlib) and its block size.
import { createHash } from 'node:crypto'

const VERSION_LINE = 'asset-pack-content 1\n'

/** One entry as the identity sees it. */
export interface IdentityEntry {
  type?: string
  path?: string
  link?: string
  /** Hex SHA-256 of the entry's data, or of the canonical manifest; undefined without data. */
  digest?: string
}

export const sha256Hex = (data: string | Uint8Array) =>
  createHash('sha256').update(data).digest('hex')

export function contentIdentity(entries: IdentityEntry[]): string {
  const lines = entries
    .map((e) => JSON.stringify([e.type ?? null, e.path ?? null, e.link ?? null, e.digest ?? null]))
    .sort()
  const hash = createHash('sha256').update(VERSION_LINE)
  for (const line of lines) hash.update(`${line}\n`)
  return hash.digest('hex')
}
