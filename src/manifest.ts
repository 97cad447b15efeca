// Local checks of the Manifest.json an asset pack was built from, as Apple documents it and as
// live uploads have shown (asset-pack-format.md): caught here, before any request.

const POLICIES = ['essential', 'prefetch', 'onDemand'] as const
const INSTALLATION_EVENTS = new Set(['firstInstallation', 'subsequentUpdate'])
const PLATFORMS = new Set(['iOS', 'macOS', 'tvOS', 'visionOS'])

export interface CheckedManifest {
  text: string
  platforms: string[]
}

/** Returns the problems (sentences without the input name) or the parsed manifest. */
export function checkManifest(
  text: string,
  assetPackIdentifier: string
): { problems: string[] } | { manifest: CheckedManifest } {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    const comments = /^\s*\/\//m.test(text)
      ? ' It has // comments: remove them (the ba-package template has some).'
      : ''
    return { problems: [`is not valid JSON (${(e as Error).message}).${comments}`] }
  }
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
  const policy = m.downloadPolicy
  const keys =
    policy && typeof policy === 'object' && !Array.isArray(policy) ? Object.keys(policy) : undefined
  if (!keys || keys.length !== 1 || !POLICIES.includes(keys[0] as (typeof POLICIES)[number])) {
    problems.push(
      'needs a "downloadPolicy" object with exactly one of "essential", "prefetch" or "onDemand".'
    )
  } else {
    const value = (policy as Record<string, unknown>)[keys[0]]
    if (keys[0] === 'onDemand') {
      if (
        !value ||
        typeof value !== 'object' ||
        Array.isArray(value) ||
        Object.keys(value).length
      ) {
        problems.push(
          'has "downloadPolicy.onDemand" that is not the empty object {} (Apple refuses null with ITMS-91140).'
        )
      }
    } else {
      const events = (value as Record<string, unknown> | null)?.installationEventTypes
      if (
        !Array.isArray(events) ||
        !events.length ||
        !events.every((e) => INSTALLATION_EVENTS.has(String(e)))
      ) {
        problems.push(
          `needs "downloadPolicy.${keys[0]}.installationEventTypes": a non-empty list of "firstInstallation" and/or "subsequentUpdate".`
        )
      }
    }
  }
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
  if ('userInfo' in m)
    problems.push(
      'has "userInfo", which only self-hosted asset packs may use; Apple-hosted packs are refused with it.'
    )
  return problems.length ? { problems } : { manifest: { text, platforms } }
}
