// Bad inputs: each is refused before the first request to App Store Connect, with an error
// annotation that names the input. Run through dist/index.js against the simulator.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { runAction } from '../../scripts/run-action.js'
import { inputsFor, setUp, tearDown, type Harness } from '../helpers/simulator.js'

let h: Harness
beforeAll(async () => {
  h = await setUp()
})
afterAll(() => tearDown(h))

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(h.dir, name)
  await writeFile(path, content)
  return path
}

const rsaKey = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString()
const sec1Key = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'sec1', format: 'pem' })
    .toString()
const manifest = (m: Record<string, unknown>) =>
  JSON.stringify({
    assetPackID: 'forest-level-2',
    downloadPolicy: { onDemand: {} },
    fileSelectors: [{ file: 'a' }],
    platforms: ['iOS'],
    ...m
  })

const cases: [string, string, () => Promise<Record<string, string>>, RegExp][] = [
  [
    'app-id',
    'missing',
    async () => ({ 'app-id': '' }),
    /app-id: is required: the app's numeric Apple ID \(App Information in App Store Connect\)\./
  ],
  [
    'app-id',
    'a bundle ID instead of the numeric Apple ID',
    async () => ({ 'app-id': 'com.example.game' }),
    /numeric Apple ID/
  ],
  [
    'asset-pack-identifier',
    'with dots',
    async () => ({ 'asset-pack-identifier': 'forest.level.2' }),
    /letters, digits and hyphens/
  ],
  [
    'asset-pack-identifier',
    'starting with a hyphen',
    async () => ({ 'asset-pack-identifier': '-forest' }),
    /'-forest' may only contain letters, digits and hyphens, and may not start or end with a hyphen/
  ],
  [
    'archive-path',
    'missing file',
    async () => ({ 'archive-path': join(h.dir, 'nope.aar') }),
    /no file at/
  ],
  [
    'archive-path',
    'an empty file',
    async () => ({ 'archive-path': await file('empty.aar', '') }),
    /is empty/
  ],
  [
    'archive-path',
    'an Android .aar (ZIP)',
    async () => ({
      'archive-path': await file('android.aar', Buffer.from('PK\x03\x04rest-of-zip', 'latin1'))
    }),
    /Android library/
  ],
  [
    'archive-path',
    'not an Apple Archive',
    async () => ({ 'archive-path': await file('text.aar', 'hello world, not an archive') }),
    /Apple Archive signature/
  ],
  [
    'archive-path',
    'a truncated compressed archive',
    async () => ({
      'archive-path': await file(
        'cut.aar',
        // A 4 MiB block size, then one block of 256 bytes whose payload is missing.
        Buffer.concat([
          Buffer.from('pbze', 'latin1'),
          Buffer.from([0, 0, 0, 0, 0, 0x40, 0, 0]),
          Buffer.from([0, 0, 0, 0, 0, 0, 1, 0]),
          Buffer.from([0, 0, 0, 0, 0, 0, 1, 0])
        ])
      )
    }),
    /compressed Apple Archive \(LZFSE\) that is cut short inside block 1 at byte 28 of 284 \(truncated\)/
  ],
  [
    'manifest-path',
    'not JSON: a missing comma, reported with line and column',
    async () => ({
      'manifest-path': await file(
        'm1.json',
        '{\n  "assetPackID": "forest-level-2"\n  "platforms": []\n}'
      )
    }),
    /'.*m1\.json' is not valid JSON: CommaExpected at line 3, column 3\./
  ],
  [
    'manifest-path',
    'assetPackID differs from asset-pack-identifier',
    async () => ({ 'manifest-path': await file('m2.json', manifest({ assetPackID: 'desert' })) }),
    /must be equal/
  ],
  [
    'manifest-path',
    'two download policies',
    async () => ({
      'manifest-path': await file(
        'm3.json',
        manifest({ downloadPolicy: { onDemand: {}, essential: {} } })
      )
    }),
    /exactly one/
  ],
  [
    'manifest-path',
    'onDemand null (ITMS-91140)',
    async () => ({
      'manifest-path': await file('m4.json', manifest({ downloadPolicy: { onDemand: null } }))
    }),
    /ITMS-91140/
  ],
  [
    'manifest-path',
    'iPadOS platform',
    async () => ({ 'manifest-path': await file('m5.json', manifest({ platforms: ['iPadOS'] })) }),
    /iPadOS is covered by iOS/
  ],
  [
    'manifest-path',
    'userInfo (self-hosted only)',
    async () => ({ 'manifest-path': await file('m6.json', manifest({ userInfo: {} })) }),
    /self-hosted/
  ],
  [
    'key-id',
    'missing',
    async () => ({ 'key-id': '' }),
    /key-id: is required: the API key ID shown next to the key in App Store Connect/
  ],
  ['issuer-id', 'not a UUID', async () => ({ 'issuer-id': 'my-team' }), /UUID/],
  [
    'private-key',
    'missing (and no path)',
    async () => ({ 'private-key': '' }),
    /private-key: is required \(or private-key-path\): the contents of the AuthKey_<key id>\.p8 file/
  ],
  [
    'private-key',
    'both key and path',
    async () => ({ 'private-key-path': await file('k.p8', h.sim.key.privateKeyPem) }),
    /only one/
  ],
  [
    'private-key',
    'garbage',
    async () => ({ 'private-key': 'not a key at all' }),
    /PEM private key/
  ],
  ['private-key', 'an RSA key', async () => ({ 'private-key': rsaKey() }), /EC P-256/],
  ['private-key', 'a SEC1 EC key', async () => ({ 'private-key': sec1Key() }), /PKCS#8/],
  [
    'private-key-path',
    'missing file',
    async () => ({ 'private-key': '', 'private-key-path': join(h.dir, 'AuthKey_X.p8') }),
    /no file at/
  ],
  [
    'create-asset-pack',
    'not a boolean',
    async () => ({ 'create-asset-pack': 'yes' }),
    /true or false/
  ],
  [
    'wait-for-processing',
    'not a boolean',
    async () => ({ 'wait-for-processing': 'sometimes' }),
    /wait-for-processing: expected true or false, got 'sometimes'\./
  ],
  [
    'processing-timeout',
    'not a duration',
    async () => ({ 'processing-timeout': 'forever' }),
    /duration/
  ],
  [
    'poll-interval',
    'longer than the timeout',
    async () => ({ 'poll-interval': '10m', 'processing-timeout': '5m' }),
    /longer than processing-timeout/
  ],
  ['upload-concurrency', 'zero', async () => ({ 'upload-concurrency': '0' }), /1 to 32/],
  [
    'upload-concurrency',
    'too many',
    async () => ({ 'upload-concurrency': '64' }),
    /upload-concurrency: expected a whole number from 1 to 32, got '64'\./
  ],
  [
    'api-base-url',
    'plain http to a remote host',
    async () => ({ 'api-base-url': 'http://api.example.com' }),
    /https/
  ],
  [
    'api-base-url',
    'with /v1',
    async () => ({ 'api-base-url': `${h.sim.baseUrl}/v1` }),
    /without \/v1/
  ]
]

test.each(cases)('%s: %s is refused before any request', async (input, _what, make, detail) => {
  const before = h.sim.requests.length
  const run = await runAction(inputsFor(h, await make()))
  expect(run.exitCode).toBe(1)
  const annotations = run.stdout.split('\n').filter((l) => l.startsWith('::error'))
  expect(annotations.some((l) => l.includes(`::${input}:`) || l.includes(`::${input} `))).toBe(true)
  expect(annotations.join('\n')).toMatch(detail)
  expect(h.sim.requests.length).toBe(before)
  expect(run.outputs).toEqual({})
})

test('every problem is reported at once, one annotation each', async () => {
  const run = await runAction(
    inputsFor(h, { 'app-id': 'x', 'upload-concurrency': '99', 'dry-run': 'maybe' })
  )
  const annotations = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('::error title=Invalid input::'))
  expect(annotations.map((l) => l.split('::')[2].split(':')[0]).sort()).toEqual([
    'app-id',
    'dry-run',
    'upload-concurrency'
  ])
})
