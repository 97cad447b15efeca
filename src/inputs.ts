// Reads and checks every input before any request. Each problem becomes one sentence that names
// the input; all of them are reported together.
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import * as core from '@actions/core'
import { parseDocument } from 'yaml'
import { identifyArchive } from './archive.js'
import { parsePrivateKey, type ApiKeyCredentials } from './asc/auth.js'
import type { Platform } from './asc/client.js'
import { DEFAULTS, Inputs, MAX_UPLOAD_CONCURRENCY, PACKS_OUTPUT_KEYS } from './constants.js'
import { InputError } from './errors.js'
import { formatSize } from './format.js'
import { isLoopbackHost, proxyProblems } from './asc/http.js'
import { checkManifest, MANIFEST_PLATFORM_NAMES, type CheckedManifest } from './manifest.js'

export interface ArchiveFile {
  path: string
  fileName: string
  size: number
  /** What the file is, for the log, such as `Apple Archive (AA01)`. */
  kind: string
}

export interface ManifestFile extends CheckedManifest {
  path: string
  fileName: string
}

/** One asset pack of the run: an archive to upload, or an existing version to hand over. */
export interface PackEntry {
  /** The asset pack ID: the manifest's assetPackID and App Store Connect's assetPackIdentifier. */
  assetPackIdentifier: string
  /** The archive to upload; exactly one of this and `versionId` is set. */
  archive?: ArchiveFile
  /** The Manifest.json the archive was built from, when given: checked, then sent as the preflight. */
  manifest?: ManifestFile
  /** An existing version of the pack to wait for and hand over, instead of an upload. */
  versionId?: string
}

/** Every input of the run: the entries (one, or the `packs` list) and what applies to all. */
export interface RunInputs extends SharedInputs {
  entries: PackEntry[]
  /** The entries came from the `packs` input (its names, such as packs[2].archive-path, in errors). */
  fromPacksInput: boolean
}

/** One entry's view of the inputs: its own, and those that apply to every entry. */
export type ActionInputs = SharedInputs & PackEntry

export interface SharedInputs {
  /** The app's numeric Apple ID. */
  appId: string
  credentials: ApiKeyCredentials
  createAssetPack: boolean
  reuseExisting: boolean
  waitForProcessing: boolean
  processingTimeoutMs: number
  pollIntervalMs: number
  uploadConcurrency: number
  /** A part whose bytes stop moving this long is aborted and sent again. */
  stallTimeoutMs: number
  /** Submit the COMPLETE version for App Store review. */
  submitForReview: boolean
  /** The review submission's platform; undefined: the version's single platform. */
  reviewPlatform?: Platform
  /** A repository_dispatch event type to send once the version is COMPLETE, with its token. */
  dispatch?: { eventType: string; token: string }
  dryRun: boolean
  /** API root without a trailing slash, e.g. https://api.appstoreconnect.apple.com */
  apiBaseUrl: URL
}

const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const TRUE = ['true', 'True', 'TRUE']
const FALSE = ['false', 'False', 'FALSE']

function input(name: Inputs): string {
  return core.getInput(name) || (DEFAULTS as Record<string, string>)[name] || ''
}

function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  return m ? Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS] : undefined
}

class Problems {
  readonly list: string[] = []
  /** `name` is an input, or a field of one `packs` entry such as packs[2].archive-path. */
  add(name: string, sentence: string): void {
    this.list.push(`${name}: ${sentence}`)
  }
}

/** An entry's fields as its errors name them: the input itself, or `packs[i].<key>`. */
type FieldName = (key: EntryKey) => string
type EntryKey =
  Inputs.AssetPackIdentifier | Inputs.ArchivePath | Inputs.ManifestPath | Inputs.VersionId
const ENTRY_KEYS: EntryKey[] = [
  Inputs.AssetPackIdentifier,
  Inputs.ArchivePath,
  Inputs.ManifestPath,
  Inputs.VersionId
]
/** Keys of the `packs` output an entry may carry, ignored, so an earlier job's output can be given
 * as it is. */
const OUTPUT_ONLY_KEYS: string[] = PACKS_OUTPUT_KEYS.filter(
  (key) => !ENTRY_KEYS.includes(key as EntryKey)
)
/** Apple's limits: asset packs per app, and per review submission. */
const MAX_ENTRIES = 100
export const MAX_PACKS_PER_REVIEW = 10

/** How errors name an entry's field: the single-pack input, or `packs[i].<key>` (from 1). */
export function entryField(
  run: Pick<RunInputs, 'fromPacksInput'>,
  index: number,
  key: Inputs
): string {
  return run.fromPacksInput ? `${Inputs.Packs}[${index + 1}].${key}` : key
}

/** An entry's raw text fields, before they are checked. */
type RawEntry = Partial<Record<EntryKey, string>>

function readBoolean(name: Inputs, problems: Problems): boolean {
  const value = input(name)
  if (TRUE.includes(value)) return true
  if (!FALSE.includes(value)) problems.add(name, `expected true or false, got '${value}'.`)
  return false
}

function readDuration(name: Inputs, problems: Problems, maxMs: number): number {
  const text = input(name)
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0 || ms > maxMs) {
    problems.add(
      name,
      `expected a duration such as 90, 90s, 45m or 2h (at most ${maxMs / 3_600_000}h), got '${text}'.`
    )
    return 0
  }
  return ms
}

async function readFileInput(
  name: string,
  path: string,
  problems: Problems
): Promise<number | undefined> {
  try {
    const info = await stat(path)
    if (!info.isFile()) problems.add(name, `'${path}' is not a file.`)
    else if (info.size === 0) problems.add(name, `'${path}' is empty.`)
    else return info.size
  } catch {
    problems.add(name, `no file at '${path}' (relative paths start at ${process.cwd()}).`)
  }
  return undefined
}

/** Exactly one of archive-path (an upload) and version-id (an existing version). */
function readTarget(raw: RawEntry, field: FieldName, problems: Problems): void {
  const { [Inputs.ArchivePath]: archivePath, [Inputs.VersionId]: versionId } = raw
  if (!archivePath && !versionId)
    problems.add(
      field(Inputs.ArchivePath),
      `or ${field(Inputs.VersionId)} is required: archive-path is the .aar built by ba-package to upload; version-id an existing version of the pack to hand over.`
    )
  else if (archivePath && versionId)
    problems.add(
      field(Inputs.ArchivePath),
      `and ${field(Inputs.VersionId)} are both set; give one: archive-path uploads a new archive, version-id hands over an existing version.`
    )
  else if (versionId && !/^[A-Za-z0-9-]+$/.test(versionId))
    problems.add(
      field(Inputs.VersionId),
      `expected the version's resource ID (letters, digits and hyphens, as the version-id output gives it), got '${versionId}'.`
    )
  else if (versionId && raw[Inputs.ManifestPath])
    problems.add(
      field(Inputs.ManifestPath),
      'goes with archive-path: a manifest is checked before its archive is uploaded, and version-id uploads nothing.'
    )
}

async function readArchive(
  path: string,
  name: string,
  problems: Problems
): Promise<ArchiveFile | undefined> {
  const size = await readFileInput(name, path, problems)
  if (size === undefined) return undefined
  const identified = await identifyArchive(path, size)
  if ('problem' in identified) return void problems.add(name, `'${path}' ${identified.problem}`)
  return { path, fileName: basename(path), size, kind: identified.kind }
}

async function readManifest(
  path: string,
  name: string,
  identifier: string,
  problems: Problems
): Promise<ManifestFile | undefined> {
  if ((await readFileInput(name, path, problems)) === undefined) return undefined
  const checked = checkManifest(await readFile(path, 'utf8'), identifier)
  if ('problems' in checked) {
    for (const p of checked.problems) problems.add(name, `'${path}' ${p}`)
    return undefined
  }
  return { ...checked.manifest, path, fileName: basename(path) }
}

async function readCredentials(problems: Problems): Promise<ApiKeyCredentials | undefined> {
  const keyText = core.getInput(Inputs.PrivateKey, { trimWhitespace: false })
  const keyPath = input(Inputs.PrivateKeyPath)
  const keyId = input(Inputs.KeyId)
  const issuerId = input(Inputs.IssuerId)
  if (!keyId)
    problems.add(
      Inputs.KeyId,
      'is required: the API key ID shown next to the key in App Store Connect (Users and Access → Integrations).'
    )
  else if (!/^[A-Za-z0-9]+$/.test(keyId))
    problems.add(
      Inputs.KeyId,
      `expected the key ID (letters and digits, such as 2X9R4HXF34), got '${keyId}'.`
    )
  if (issuerId && !UUID.test(issuerId))
    problems.add(
      Inputs.IssuerId,
      `expected the issuer ID, a UUID such as 57246542-96fe-1a63-e053-0824d011072a, got '${issuerId}'. Omit it for an individual key.`
    )
  let text: string | undefined
  let source = Inputs.PrivateKey
  if (keyText.trim() && keyPath) {
    problems.add(Inputs.PrivateKey, 'and private-key-path are both set; give only one.')
  } else if (keyText.trim()) {
    text = keyText
  } else if (keyPath) {
    source = Inputs.PrivateKeyPath
    if ((await readFileInput(Inputs.PrivateKeyPath, keyPath, problems)) !== undefined)
      text = await readFile(keyPath, 'utf8')
  } else {
    problems.add(
      Inputs.PrivateKey,
      'is required (or private-key-path): the contents of the AuthKey_<key id>.p8 file, PEM or base64 of the PEM.'
    )
  }
  if (text === undefined) return undefined
  const parsed = parsePrivateKey(text)
  if ('problem' in parsed) return void problems.add(source, parsed.problem)
  return { keyId, issuerId: issuerId || undefined, privateKey: parsed.key }
}

/** An entry's platforms, as its manifest declares them (none known without a manifest). */
function declaredPlatforms(entry: PackEntry): Platform[] | undefined {
  const names = Object.keys(MANIFEST_PLATFORM_NAMES) as Platform[]
  return entry.manifest?.platforms
    .map((name) => names.find((p) => MANIFEST_PLATFORM_NAMES[p] === name))
    .filter((p): p is Platform => !!p)
}

// Long on purpose: review-platform's checks against every manifest, one message per case.
function readReviewPlatform(
  submit: boolean,
  wait: boolean,
  entries: PackEntry[],
  field: (index: number, key: Inputs) => string,
  problems: Problems
): Platform | undefined {
  const text = input(Inputs.ReviewPlatform)
  const names = Object.keys(MANIFEST_PLATFORM_NAMES) as Platform[]
  const platform = text
    ? (names.find((p) => p === text) ??
      void problems.add(
        Inputs.ReviewPlatform,
        `expected one of ${names.join(', ')}, got '${text}'.`
      ))
    : undefined
  if (!submit) return platform
  if (!wait)
    problems.add(
      Inputs.SubmitForReview,
      'needs wait-for-processing: true: only a processed (COMPLETE) version can be submitted for review.'
    )
  if (entries.length > MAX_PACKS_PER_REVIEW)
    problems.add(
      Inputs.SubmitForReview,
      `cannot take ${entries.length} asset packs: Apple's review submissions hold at most ${MAX_PACKS_PER_REVIEW} asset packs (one version each). Submit at most ${MAX_PACKS_PER_REVIEW} packs per step.`
    )
  // The manifests name the versions' platforms: a choice that is missing or impossible shows now.
  const declared = entries.map(declaredPlatforms)
  if (!platform) {
    if (declared.some((d) => d && d.length > 1)) {
      const which = entries.filter((_, i) => (declared[i]?.length ?? 0) > 1)
      problems.add(
        Inputs.ReviewPlatform,
        `is needed: ${which.length === entries.length && entries.length === 1 ? 'the manifest declares' : `the manifest of ${which.map((e) => e.assetPackIdentifier).join(', ')} declares`} ${declared.find((d) => d && d.length > 1)!.join(', ')}, and a review submission is for one platform.`
      )
      return platform
    }
    const single = [...new Set(declared.flatMap((d) => d ?? []))]
    if (single.length > 1)
      problems.add(
        Inputs.SubmitForReview,
        `the packs are for different platforms (${single
          .map(
            (p) =>
              `${p}: ${entries
                .filter((_, i) => declared[i]?.includes(p))
                .map((e) => e.assetPackIdentifier)
                .join(', ')}`
          )
          .join(
            '; '
          )}), and Apple's review submission is for one platform. Release each platform's packs in their own step.`
      )
    return platform
  }
  declared.forEach((d, i) => {
    if (d && !d.includes(platform))
      problems.add(
        entries.length === 1 ? Inputs.ReviewPlatform : field(i, Inputs.ManifestPath),
        entries.length === 1
          ? `is ${platform}, but the manifest declares only ${d.join(', ')}.`
          : `declares only ${d.join(', ')}, but review-platform is ${platform}.`
      )
  })
  return platform
}

function readDispatch(wait: boolean, problems: Problems): ActionInputs['dispatch'] {
  const eventType = input(Inputs.DispatchEvent)
  const token = input(Inputs.GithubToken)
  if (token) core.setSecret(token)
  if (!eventType) return undefined
  if (!/^[\w.:-]{1,100}$/.test(eventType))
    problems.add(
      Inputs.DispatchEvent,
      `expected an event type of letters, digits, '.', ':', '_' or '-' (at most 100), got '${eventType}'.`
    )
  if (!wait)
    problems.add(
      Inputs.DispatchEvent,
      'needs wait-for-processing: true: the event is sent once the version is COMPLETE.'
    )
  if (!token)
    problems.add(
      Inputs.GithubToken,
      'is required with dispatch-event (the default is the job’s GITHUB_TOKEN).'
    )
  if (!/^[^/]+\/[^/]+$/.test(process.env.GITHUB_REPOSITORY ?? ''))
    problems.add(
      Inputs.DispatchEvent,
      'needs GITHUB_REPOSITORY (owner/repo), which the runner sets.'
    )
  return { eventType, token }
}

function readApiBaseUrl(problems: Problems): URL {
  const text = input(Inputs.ApiBaseUrl).replace(/\/+$/, '')
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    problems.add(
      Inputs.ApiBaseUrl,
      `expected a URL such as https://api.appstoreconnect.apple.com, got '${text}'.`
    )
    return new URL(DEFAULTS[Inputs.ApiBaseUrl])
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    problems.add(
      Inputs.ApiBaseUrl,
      `must use https (plain http only for 127.0.0.1 or localhost), got '${text}'.`
    )
  } else if (url.search || url.hash || url.pathname.endsWith('/v1')) {
    problems.add(
      Inputs.ApiBaseUrl,
      `expected the API root without /v1, a query or a fragment (such as https://api.appstoreconnect.apple.com), got '${text}'.`
    )
  }
  return url
}

function readIdentifier(identifier: string | undefined, name: string, problems: Problems): void {
  if (!identifier)
    problems.add(name, "is required: the asset pack ID (the manifest's assetPackID).")
  else if (!IDENTIFIER.test(identifier))
    problems.add(
      name,
      `'${identifier}' may only contain letters, digits and hyphens, and may not start or end with a hyphen (App Store Connect refuses dots and underscores).`
    )
}

/** One entry: its identifier, then its archive and manifest read from disk, or its version-id. */
async function readEntry(raw: RawEntry, field: FieldName, problems: Problems): Promise<PackEntry> {
  const assetPackIdentifier = raw[Inputs.AssetPackIdentifier] ?? ''
  readIdentifier(assetPackIdentifier, field(Inputs.AssetPackIdentifier), problems)
  readTarget(raw, field, problems)
  const archivePath = raw[Inputs.ArchivePath]
  const manifestPath = raw[Inputs.ManifestPath]
  const upload = archivePath && !raw[Inputs.VersionId]
  return {
    assetPackIdentifier,
    archive: upload
      ? await readArchive(archivePath, field(Inputs.ArchivePath), problems)
      : undefined,
    manifest:
      upload && manifestPath
        ? await readManifest(
            manifestPath,
            field(Inputs.ManifestPath),
            assetPackIdentifier,
            problems
          )
        : undefined,
    versionId: upload ? undefined : raw[Inputs.VersionId] || undefined
  }
}

const describeValue = (value: unknown) =>
  Array.isArray(value) ? 'a list' : value === null ? 'nothing' : `a ${typeof value}`

/**
 * The `packs` input: a YAML list (JSON is YAML too) of mappings with the entry keys. Returns the
 * raw entries, or undefined after adding why the text is not such a list.
 */
function parsePacks(text: string, problems: Problems): RawEntry[] | undefined {
  const document = parseDocument(text, { uniqueKeys: true })
  if (document.errors.length) {
    // The first line of yaml's message names the problem and where ("… at line 2, column 19").
    for (const error of document.errors)
      problems.add(
        Inputs.Packs,
        `is not valid YAML: ${error.message.split('\n')[0].replace(/:$/, '')}.`
      )
    return undefined
  }
  const value: unknown = document.toJS()
  if (!Array.isArray(value) || !value.length) {
    problems.add(
      Inputs.Packs,
      `expected a YAML list of asset packs (each with asset-pack-identifier and archive-path or version-id), got ${Array.isArray(value) ? 'an empty list' : describeValue(value)}.`
    )
    return undefined
  }
  return value.map((item: unknown, i) => {
    const at = `${Inputs.Packs}[${i + 1}]`
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      problems.add(
        at,
        `expected a mapping with the keys ${ENTRY_KEYS.join(', ')}, got ${describeValue(item)}.`
      )
      return {}
    }
    const raw: RawEntry = {}
    for (const [key, v] of Object.entries(item as Record<string, unknown>)) {
      if (ENTRY_KEYS.includes(key as EntryKey)) {
        if (typeof v === 'string' || typeof v === 'number') {
          if (String(v).trim()) raw[key as EntryKey] = String(v).trim()
        } else if (v !== null)
          problems.add(`${at}.${key}`, `expected text, got ${describeValue(v)}.`)
      } else if (!OUTPUT_ONLY_KEYS.includes(key)) {
        problems.add(at, `unknown key '${key}'; expected ${ENTRY_KEYS.join(', ')}.`)
      }
    }
    return raw
  })
}

/** The entries: the `packs` list, or the single-entry inputs; never both. */
async function readEntries(
  problems: Problems
): Promise<{ entries: PackEntry[]; fromPacksInput: boolean }> {
  const packsText = input(Inputs.Packs).trim()
  if (!packsText) {
    const raw: RawEntry = {}
    for (const key of ENTRY_KEYS) if (input(key)) raw[key] = input(key)
    return { entries: [await readEntry(raw, (key) => key, problems)], fromPacksInput: false }
  }
  const mixed = ENTRY_KEYS.filter((key) => input(key))
  for (const key of mixed)
    problems.add(
      key,
      `must be empty when packs is set: give it in each entry of packs (packs[1].${key}), or use the single-pack inputs without packs.`
    )
  const raws = parsePacks(packsText, problems) ?? []
  if (raws.length > MAX_ENTRIES)
    problems.add(
      Inputs.Packs,
      `lists ${raws.length} asset packs; Apple allows at most ${MAX_ENTRIES} per app.`
    )
  const entries = await Promise.all(
    raws.map((raw, i) =>
      readEntry(raw, (key) => entryField({ fromPacksInput: true }, i, key), problems)
    )
  )
  entries.forEach((entry, i) => {
    const first = entries.findIndex((e) => e.assetPackIdentifier === entry.assetPackIdentifier)
    if (entry.assetPackIdentifier && first < i)
      problems.add(
        `${Inputs.Packs}[${i + 1}].${Inputs.AssetPackIdentifier}`,
        `'${entry.assetPackIdentifier}' is also packs[${first + 1}]; each asset pack appears once (a run releases one version per pack).`
      )
  })
  return { entries, fromPacksInput: true }
}

function describeEntry(entry: PackEntry): string {
  const { archive, manifest } = entry
  return `${archive ? `${archive.fileName}: ${formatSize(archive.size)} ${archive.kind}` : `version ${entry.versionId} of ${entry.assetPackIdentifier}`}${manifest ? `; ${manifest.fileName} for ${manifest.platforms.join(', ')}` : ''}`
}

// Long on purpose: one line per input, in action.yml's order, so every input is checked in one
// place and every problem reported together; the checks themselves are the helpers above.
export async function getInputs(): Promise<RunInputs> {
  const problems = new Problems()
  const appId = input(Inputs.AppId)
  if (!appId)
    problems.add(
      Inputs.AppId,
      "is required: the app's numeric Apple ID (App Information in App Store Connect)."
    )
  else if (!/^\d+$/.test(appId))
    problems.add(
      Inputs.AppId,
      `expected the app's numeric Apple ID (such as 1234567890), not '${appId}'; the bundle ID does not work here.`
    )
  const { entries, fromPacksInput } = await readEntries(problems)
  const credentials = await readCredentials(problems)
  const createAssetPack = readBoolean(Inputs.CreateAssetPack, problems)
  const reuseExisting = readBoolean(Inputs.ReuseExisting, problems)
  const waitForProcessing = readBoolean(Inputs.WaitForProcessing, problems)
  const dryRun = readBoolean(Inputs.DryRun, problems)
  const processingTimeoutMs = readDuration(Inputs.ProcessingTimeout, problems, 72 * 3_600_000)
  const pollIntervalMs = readDuration(Inputs.PollInterval, problems, 3_600_000)
  if (processingTimeoutMs && pollIntervalMs > processingTimeoutMs)
    problems.add(
      Inputs.PollInterval,
      `(${input(Inputs.PollInterval)}) is longer than processing-timeout (${input(Inputs.ProcessingTimeout)}).`
    )
  const concurrencyText = input(Inputs.UploadConcurrency)
  const uploadConcurrency = Number(concurrencyText)
  if (
    !/^\d+$/.test(concurrencyText) ||
    uploadConcurrency < 1 ||
    uploadConcurrency > MAX_UPLOAD_CONCURRENCY
  ) {
    problems.add(
      Inputs.UploadConcurrency,
      `expected a whole number from 1 to ${MAX_UPLOAD_CONCURRENCY}, got '${concurrencyText}'.`
    )
  }
  const stallTimeoutMs = readDuration(Inputs.StallTimeout, problems, 3_600_000)
  const submitForReview = readBoolean(Inputs.SubmitForReview, problems)
  const reviewPlatform = readReviewPlatform(
    submitForReview,
    waitForProcessing,
    entries,
    (i, key) => entryField({ fromPacksInput }, i, key),
    problems
  )
  const dispatch = readDispatch(waitForProcessing, problems)
  const apiBaseUrl = readApiBaseUrl(problems)
  problems.list.push(...proxyProblems())
  if (problems.list.length) throw new InputError(problems.list)
  const key = `API key ${credentials!.keyId} (${credentials!.issuerId ? 'team' : 'individual'})${dryRun ? '; dry run' : ''}`
  if (entries.length === 1) core.info(`${describeEntry(entries[0])}; ${key}`)
  else {
    core.info(`${entries.length} asset packs; ${key}`)
    for (const entry of entries)
      core.info(`  ${entry.assetPackIdentifier}: ${describeEntry(entry)}`)
  }
  return {
    appId,
    entries,
    fromPacksInput,
    credentials: credentials!,
    createAssetPack,
    reuseExisting,
    waitForProcessing,
    processingTimeoutMs,
    pollIntervalMs,
    uploadConcurrency,
    stallTimeoutMs,
    submitForReview,
    reviewPlatform,
    dispatch,
    dryRun,
    apiBaseUrl
  }
}
