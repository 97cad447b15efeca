// The files people really have, end to end through dist/index.js against the simulator: Apple's
// manifest template (comments, trailing commas), a byte-order mark, multi-entry and compressed
// archives, and archives cut short, which are refused before any request.
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { runAction } from '../../scripts/run-action.js'
import { fileEntryHeader, sampleManifest } from '../../scripts/sample-pack.js'
import { IDENTIFIER, inputsFor, setUp, type Harness } from '../helpers/simulator.js'

const manifests = (h: Harness) =>
  [...h.sim.store.uploadFiles.values()].filter((f) => f.assetType === 'MANIFEST')

/** A manifest as `ba-package template` writes it, filled in: comments and trailing commas kept. */
const filledInTemplate = `// Asset pack manifest. Fill in the fields following the instructions in the comments.
{
  // The asset pack's ID: the same string the app code asks for.
  "assetPackID": "${IDENTIFIER}",
  /* Exactly one download policy: essential, prefetch or onDemand. */
  "downloadPolicy": {
    "prefetch": {
      "installationEventTypes": ["firstInstallation", "subsequentUpdate",],
    },
  },
  "fileSelectors": [
    { "directory": "Levels/Forest" }, // recursive
  ],
  "platforms": ["iOS",],
}
`

test('a filled-in template with comments and trailing commas is released; Apple gets plain JSON', async () => {
  const h = await setUp()
  await writeFile(h.pack.manifestPath, filledInTemplate)
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  expect(run.stdout).toContain(
    'Manifest.json has comments and trailing commas: App Store Connect receives it as plain JSON with the same content.'
  )
  const [received] = manifests(h)
  // Plain JSON (JSON.parse would throw on a comment) with the template's content.
  expect(JSON.parse(received.receivedText!)).toEqual(sampleManifest(IDENTIFIER))
  expect(received.receivedText).not.toMatch(/\/\/|\/\*/)
  expect(received.fileSize).toBe(Buffer.byteLength(received.receivedText!))
})

test('a manifest saved with a UTF-8 byte-order mark is released', async () => {
  const h = await setUp()
  await writeFile(h.pack.manifestPath, `\uFEFF${JSON.stringify(sampleManifest(IDENTIFIER))}`)
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.outputs.state).toBe('COMPLETE')
  expect(run.stdout).toContain('Manifest.json has a byte-order mark')
  expect(manifests(h)[0].receivedText!.charCodeAt(0)).toBe('{'.charCodeAt(0))
})

test('a real syntax error in the manifest is reported with line and column, before any request', async () => {
  const h = await setUp()
  await writeFile(
    h.pack.manifestPath,
    `{\n  "assetPackID": "${IDENTIFIER}"\n  "platforms": ["iOS"]\n}`
  )
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(
    /::error title=Invalid input::manifest-path: '.*Manifest\.json' is not valid JSON: CommaExpected at line 3, column 3\./
  )
  expect(h.sim.requests).toEqual([])
})

/** Three entries (the manifest, two level files) written with real entry headers. */
async function threeEntryArchive(h: Harness): Promise<Buffer> {
  const manifest = Buffer.from(JSON.stringify(sampleManifest(IDENTIFIER)))
  const level = (n: number) => Buffer.alloc(40_000 + n, n)
  const bytes = Buffer.concat([
    fileEntryHeader('manifest.json', manifest.length),
    manifest,
    fileEntryHeader('Levels/Forest/level-6.bin', level(6).length),
    level(6),
    fileEntryHeader('Levels/Forest/level-7.bin', level(7).length),
    level(7)
  ])
  await writeFile(h.pack.archivePath, bytes)
  return bytes
}

test('a valid multi-entry archive is accepted and released', async () => {
  const h = await setUp()
  const bytes = await threeEntryArchive(h)
  const run = await runAction(inputsFor(h))
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toContain(
    `forest-level-2.aar: ${(bytes.length / 1024).toFixed(1)} KiB Apple Archive (AA01)`
  )
  expect(run.outputs.state).toBe('COMPLETE')
})

test.each([
  [
    'inside an entry’s data',
    1000,
    /is cut short inside the entry for `Levels\/Forest\/level-7\.bin` at byte \d+ of \d+\./
  ],
  [
    'inside an entry header',
    40_007 + 20,
    /is cut short inside the header of entry 3 at byte \d+ of \d+\./
  ]
])(
  'an archive cut %s is refused before any request, saying where',
  async (_where, cutBy, message) => {
    const h = await setUp()
    const bytes = await threeEntryArchive(h)
    await writeFile(h.pack.archivePath, bytes.subarray(0, bytes.length - cutBy))
    const run = await runAction(inputsFor(h))
    expect(run.exitCode).toBe(1)
    const annotation = run.stdout.split('\n').find((l) => l.startsWith('::error'))
    expect(annotation).toMatch(
      /^::error title=Invalid input::archive-path: '.*forest-level-2\.aar' is an Apple Archive \(AA01\) that /
    )
    expect(annotation).toMatch(message)
    expect(h.sim.requests).toEqual([])
  }
)

test('a zlib-compressed Apple Archive is named so and released', async () => {
  const h = await setUp()
  // pbzz: header (magic, 4 MiB block size), then one block (raw size, compressed size, payload).
  const raw = await threeEntryArchive(h)
  const compressed = deflateSync(raw)
  const header = Buffer.alloc(12)
  header.write('pbzz', 0, 'latin1')
  header.writeBigUInt64BE(4n * 1024n * 1024n, 4)
  const block = Buffer.alloc(16)
  block.writeBigUInt64BE(BigInt(raw.length), 0)
  block.writeBigUInt64BE(BigInt(compressed.length), 8)
  const path = join(h.dir, 'compressed.aar')
  const file = await open(path, 'w')
  await file.writeFile(Buffer.concat([header, block, compressed]))
  await file.close()
  const run = await runAction(inputsFor(h, { 'archive-path': path }))
  expect(run.exitCode).toBe(0)
  expect(run.stdout).toMatch(
    /compressed\.aar: [\d.]+ (KiB|bytes) compressed Apple Archive \(zlib\)/
  )
  expect(run.outputs.state).toBe('COMPLETE')
})
