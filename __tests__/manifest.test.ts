// Local manifest checks (asset-pack-format.md).
import { checkManifest } from '../src/manifest.js'

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
    manifest: { text: JSON.stringify(valid), platforms: ['iOS', 'visionOS'] }
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
  [[valid], /JSON object/]
])('refused: %j', (manifest, message) => {
  expect(problems(manifest)).toMatch(message)
})

test('JSON with comments (the ba-package template) is explained', () => {
  const r = checkManifest('// template\n{}', 'forest')
  expect('problems' in r && r.problems[0]).toMatch(/comments/)
})
