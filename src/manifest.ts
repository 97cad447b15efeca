// Local checks of the Manifest.json an asset pack was built from, as Apple documents it and as
// live uploads have shown: caught here, before any request. The file is read as ba-package reads
// it: JSON with comments (the template `ba-package template` writes has `//` comments), trailing
// commas and a byte-order mark allowed. App Store Connect gets it re-serialised as plain JSON.
import type { Platform } from './asc/client.js'
import { parse, printParseErrorCode, stripComments, visit, type ParseError } from 'jsonc-parser'

const POLICIES = ['essential', 'prefetch', 'onDemand'] as const
const INSTALLATION_EVENTS = new Set(['firstInstallation', 'subsequentUpdate'])
/**
 * App Store Connect's platforms (the spec's `Platform`) and the manifest's names for them: a
 * platform the spec adds fails to compile until it is named here.
 */
export const MANIFEST_PLATFORM_NAMES: Record<Platform, string> = {
  IOS: 'iOS',
  MAC_OS: 'macOS',
  TV_OS: 'tvOS',
  VISION_OS: 'visionOS'
}
const PLATFORMS = new Set(Object.values(MANIFEST_PLATFORM_NAMES))
const BOM = '\uFEFF'
/** BCP-47 as Apple takes it for asset packs: a language, an optional script, an optional region. */
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?$/
/**
 * The fields Apple acts on, in the order a difference is reported. `fileSelectors`, `sourceRoot`
 * and `toolsVersion` are not compared: ba-package may rewrite them in the archive's copy.
 */
const COMPARED_FIELDS = ['assetPackID', 'downloadPolicy', 'platforms', 'language'] as const

export interface CheckedManifest {
  /** The manifest as plain JSON: what the preflight sends. */
  json: Buffer
  /** The parsed manifest, to compare with the one inside the archive. */
  value: Record<string, unknown>
  platforms: string[]
  /** `language` (Xcode 27): a localized pack's BCP-47 tag, the version's locale. */
  language?: string
  /** What the file had that plain JSON has not (comments, trailing commas, a byte-order mark). */
  stripped: string[]
}

/** "line 3, column 14" of an offset into the text. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n')
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`
}

/** Parses JSON with comments; problems name the place of every syntax error. */
export function parseJsonc(
  text: string
): { value: unknown; stripped: string[] } | { problems: string[] } {
  const stripped: string[] = []
  if (text.startsWith(BOM)) stripped.push('a byte-order mark')
  const body = text.startsWith(BOM) ? text.slice(1) : text
  const errors: ParseError[] = []
  const value: unknown = parse(body, errors, { allowTrailingComma: true, allowEmptyContent: false })
  if (errors.length) {
    const where = errors
      .slice(0, 3)
      .map((e) => `${printParseErrorCode(e.error)} at ${lineAndColumn(body, e.offset)}`)
    return { problems: [`is not valid JSON: ${where.join('; ')}.`] }
  }
  let comments = false
  visit(body, { onComment: () => (comments = true) })
  if (comments) stripped.push('comments')
  try {
    // Without its comments, what still stops JSON.parse can only be a trailing comma.
    JSON.parse(stripComments(body))
  } catch {
    stripped.push('trailing commas')
  }
  return { value, stripped }
}

/** Returns the problems (sentences without the input name) or the parsed manifest. */
export function checkManifest(
  text: string,
  assetPackIdentifier: string
): { problems: string[] } | { manifest: CheckedManifest } {
  const read = parseJsonc(text)
  if ('problems' in read) return read
  const parsed = read.value
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    return { problems: ['must be a JSON object.'] }
  const m = parsed as Record<string, unknown>
  const problems: string[] = []
  if (typeof m.assetPackID !== 'string' || !m.assetPackID)
    problems.push('has no "assetPackID" string.')
  else if (m.assetPackID !== assetPackIdentifier) {
    problems.push(
      `has "assetPackID": "${m.assetPackID}", but asset-pack-identifier is "${assetPackIdentifier}"; they must be equal.`
    )
  }
  const policyProblem = downloadPolicyProblem(m.downloadPolicy)
  if (policyProblem) problems.push(policyProblem)
  if (
    !Array.isArray(m.fileSelectors) ||
    !m.fileSelectors.length ||
    !m.fileSelectors.every((s) => s && typeof s === 'object' && !Array.isArray(s))
  ) {
    problems.push(
      'needs "fileSelectors": a non-empty list of objects such as {"file": "path"} or {"directory": "path"}.'
    )
  }
  const platforms = Array.isArray(m.platforms) ? m.platforms.map(String) : []
  const unknown = platforms.filter((p) => !PLATFORMS.has(p))
  if (!platforms.length || unknown.length) {
    problems.push(
      `needs "platforms": a non-empty list of "iOS", "macOS", "tvOS", "visionOS"${unknown.length ? ` (not ${unknown.map((u) => JSON.stringify(u)).join(', ')}; iPadOS is covered by iOS)` : ''}.`
    )
  }
  if ('language' in m && !(typeof m.language === 'string' && LANGUAGE_TAG.test(m.language)))
    problems.push(
      `has "language": ${JSON.stringify(m.language)}, which is not a language tag: expected a BCP-47 language code with an optional script and region, such as "fr", "es-US", "zh-Hant" or "zh-Hans-VN" (no variants or extensions).`
    )
  if ('userInfo' in m)
    problems.push(
      'has "userInfo", which only self-hosted asset packs may use; Apple-hosted packs are refused with it.'
    )
  return problems.length
    ? { problems }
    : {
        manifest: {
          json: Buffer.from(`${JSON.stringify(parsed, null, 2)}\n`),
          value: m,
          platforms,
          language: typeof m.language === 'string' ? m.language : undefined,
          stripped: read.stripped
        }
      }
}

/** What is wrong with `downloadPolicy`, if anything: exactly one policy, with its own rules. */
function downloadPolicyProblem(policy: unknown): string | undefined {
  const keys =
    policy && typeof policy === 'object' && !Array.isArray(policy) ? Object.keys(policy) : undefined
  if (!keys || keys.length !== 1 || !POLICIES.includes(keys[0] as (typeof POLICIES)[number]))
    return 'needs a "downloadPolicy" object with exactly one of "essential", "prefetch" or "onDemand".'
  const value = (policy as Record<string, unknown>)[keys[0]]
  if (keys[0] === 'onDemand') {
    const empty =
      value && typeof value === 'object' && !Array.isArray(value) && !Object.keys(value).length
    return empty
      ? undefined
      : 'has "downloadPolicy.onDemand" that is not the empty object {} (Apple refuses null with ITMS-91140).'
  }
  const events = (value as Record<string, unknown> | null)?.installationEventTypes
  const valid =
    Array.isArray(events) &&
    events.length &&
    events.every((e) => INSTALLATION_EVENTS.has(String(e)))
  return valid
    ? undefined
    : `needs "downloadPolicy.${keys[0]}.installationEventTypes": a non-empty list of "firstInstallation" and/or "subsequentUpdate".`
}

/** JSON with every object's keys sorted and no white space: the same value, the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** A field's value as compared: platforms as a set (their order means nothing to Apple). */
function comparable(key: (typeof COMPARED_FIELDS)[number], value: unknown): string {
  return canonicalJson(
    key === 'platforms' && Array.isArray(value) ? [...value].map(String).sort() : value
  )
}

/** The first field Apple acts on where two manifests differ, if any. */
export function firstDifference(
  a: Record<string, unknown>,
  b: Record<string, unknown>
): string | undefined {
  return COMPARED_FIELDS.find((key) => comparable(key, a[key]) !== comparable(key, b[key]))
}
