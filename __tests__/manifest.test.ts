// Local manifest checks: JSON with comments as ba-package reads it, and the documented fields.
import { canonicalJson, checkManifest, firstDifference } from '../src/manifest.js'

const valid = {
  assetPackID: 'forest',
  downloadPolicy: { prefetch: { installationEventTypes: ['firstInstallation'] } },
  fileSelectors: [{ directory: 'Levels' }],
  platforms: ['iOS', 'visionOS']
}
const problems = (m: unknown) => {
  const r = checkManifest(JSON.stringify(m), 'forest')
  return 'problems' in r ? r.problems.join(' ') : ''
}

test('a valid manifest passes and reports its platforms', () => {
  expect(checkManifest(JSON.stringify(valid), 'forest')).toEqual({
    manifest: {
      json: Buffer.from(`${JSON.stringify(valid, null, 2)}\n`),
      value: valid,
      platforms: ['iOS', 'visionOS'],
      language: undefined,
      stripped: []
    }
  })
  expect(problems({ ...valid, downloadPolicy: { onDemand: {} } })).toBe('')
  expect(
    problems({
      ...valid,
      downloadPolicy: { essential: { installationEventTypes: ['subsequentUpdate'] } }
    })
  ).toBe('')
})

test.each([
  [{ ...valid, assetPackID: undefined }, /no "assetPackID"/],
  [{ ...valid, assetPackID: 'desert' }, /must be equal/],
  [{ ...valid, downloadPolicy: {} }, /exactly one/],
  [{ ...valid, downloadPolicy: { prefetch: {} } }, /installationEventTypes/],
  [
    { ...valid, downloadPolicy: { prefetch: { installationEventTypes: ['atLaunch'] } } },
    /installationEventTypes/
  ],
  [{ ...valid, downloadPolicy: { onDemand: null } }, /ITMS-91140/],
  [{ ...valid, fileSelectors: [] }, /fileSelectors/],
  [{ ...valid, platforms: [] }, /platforms/],
  [{ ...valid, platforms: ['watchOS'] }, /not "watchOS"/],
  [{ ...valid, userInfo: { a: 1 } }, /self-hosted/],
  [{ ...valid, language: 'french' }, /not a language tag/],
  [{ ...valid, language: 'en-US-x-private' }, /no variants or extensions/],
  [{ ...valid, language: 7 }, /"language": 7/],
  [[valid], /JSON object/]
])('refused: %j', (manifest, message) => {
  expect(problems(manifest)).toMatch(message)
})

test('JSON with comments, trailing commas and a BOM is read as ba-package reads it', () => {
  const text = `\uFEFF// Fill in following the instructions in the comments.
{
  /* the pack's ID */ "assetPackID": "forest",
  "downloadPolicy": { "prefetch": { "installationEventTypes": ["firstInstallation",], }, },
  "fileSelectors": [{ "directory": "Levels" }],
  "platforms": ["iOS", "visionOS"], // two platforms
}`
  const r = checkManifest(text, 'forest')
  if (!('manifest' in r)) throw new Error(r.problems.join(' '))
  expect(r.manifest.stripped).toEqual(['a byte-order mark', 'comments', 'trailing commas'])
  expect(JSON.parse(r.manifest.json.toString())).toEqual({
    ...valid,
    downloadPolicy: { prefetch: { installationEventTypes: ['firstInstallation'] } }
  })
  const commaOnly = checkManifest('{"assetPackID": "forest",}', 'forest')
  expect('problems' in commaOnly && commaOnly.problems.join(' ')).not.toMatch(/JSON/)
})

test('a real syntax error is reported with its line and column', () => {
  expect(checkManifest('{\n  "assetPackID": "forest",\n  "platforms": [iOS]\n}', 'forest')).toEqual(
    {
      problems: ['is not valid JSON: InvalidSymbol at line 3, column 17.']
    }
  )
})

test('a language tag: a language, an optional script and region; it is the locale', () => {
  for (const language of ['fr', 'es-US', 'zh-Hant', 'zh-Hans-VN', 'es-419']) {
    const r = checkManifest(JSON.stringify({ ...valid, language }), 'forest')
    expect('manifest' in r && r.manifest.language).toBe(language)
  }
})

test('two manifests agree on what Apple acts on: the first field that differs, as values', () => {
  const reformatted = JSON.parse(JSON.stringify({ ...valid, platforms: ['visionOS', 'iOS'] }))
  expect(firstDifference(valid, reformatted)).toBeUndefined()
  // What ba-package may rewrite is not compared.
  expect(
    firstDifference(valid, { ...valid, fileSelectors: [], sourceRoot: 'x', toolsVersion: '2.0' })
  ).toBeUndefined()
  expect(firstDifference(valid, { ...valid, downloadPolicy: { onDemand: {} } })).toBe(
    'downloadPolicy'
  )
  expect(firstDifference(valid, { ...valid, language: 'fr' })).toBe('language')
  expect(firstDifference(valid, { ...valid, assetPackID: 'x', language: 'fr' })).toBe('assetPackID')
})

test('canonical JSON: keys sorted at every level, no white space', () => {
  expect(canonicalJson({ b: [{ d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[{"c":null,"d":1}]}')
})
