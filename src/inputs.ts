// Reads and checks every input before any request. Each problem becomes one sentence that names
// the input; all of them are reported together.
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import * as core from '@actions/core'
import { identifyArchive } from './archive.js'
import { parsePrivateKey, type ApiKeyCredentials } from './asc/auth.js'
import type { Platform } from './asc/client.js'
import { DEFAULTS, Inputs, MAX_UPLOAD_CONCURRENCY } from './constants.js'
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

export interface ActionInputs {
  /** The app's numeric Apple ID. */
  appId: string
  /** The asset pack ID: the manifest's assetPackID and App Store Connect's assetPackIdentifier. */
  assetPackIdentifier: string
  /** The archive to upload; exactly one of this and `versionId` is set. */
  archive?: ArchiveFile
  /** The Manifest.json the archive was built from, when given: checked, then sent as the preflight. */
  manifest?: ManifestFile
  /** An existing version of the pack to wait for and hand over, instead of an upload. */
  versionId?: string
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
  add(name: Inputs, sentence: string): void {
    this.list.push(`${name}: ${sentence}`)
  }
}

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
  name: Inputs,
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
function readTarget(problems: Problems): { archivePath?: string; versionId?: string } {
  const archivePath = input(Inputs.ArchivePath)
  const versionId = input(Inputs.VersionId)
  if (!archivePath && !versionId)
    problems.add(
      Inputs.ArchivePath,
      'or version-id is required: archive-path is the .aar built by ba-package to upload; version-id an existing version of the pack to hand over.'
    )
  else if (archivePath && versionId)
    problems.add(
      Inputs.ArchivePath,
      'and version-id are both set; give one: archive-path uploads a new archive, version-id hands over an existing version.'
    )
  else if (versionId && !/^[A-Za-z0-9-]+$/.test(versionId))
    problems.add(
      Inputs.VersionId,
      `expected the version's resource ID (letters, digits and hyphens, as the version-id output gives it), got '${versionId}'.`
    )
  else if (versionId && input(Inputs.ManifestPath))
    problems.add(
      Inputs.ManifestPath,
      'goes with archive-path: a manifest is checked before its archive is uploaded, and version-id uploads nothing.'
    )
  return { archivePath: archivePath || undefined, versionId: versionId || undefined }
}

async function readArchive(path: string, problems: Problems): Promise<ArchiveFile | undefined> {
  const size = await readFileInput(Inputs.ArchivePath, path, problems)
  if (size === undefined) return undefined
  const identified = await identifyArchive(path, size)
  if ('problem' in identified)
    return void problems.add(Inputs.ArchivePath, `'${path}' ${identified.problem}`)
  return { path, fileName: basename(path), size, kind: identified.kind }
}

async function readManifest(
  identifier: string,
  problems: Problems
): Promise<ManifestFile | undefined> {
  const path = input(Inputs.ManifestPath)
  if (!path) return undefined
  if ((await readFileInput(Inputs.ManifestPath, path, problems)) === undefined) return undefined
  const checked = checkManifest(await readFile(path, 'utf8'), identifier)
  if ('problems' in checked) {
    for (const p of checked.problems) problems.add(Inputs.ManifestPath, `'${path}' ${p}`)
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

function readReviewPlatform(
  submit: boolean,
  wait: boolean,
  manifest: ManifestFile | undefined,
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
  // The manifest names the version's platforms: a choice that is missing or impossible shows now.
  const declared = manifest?.platforms
    .map((name) => names.find((p) => MANIFEST_PLATFORM_NAMES[p] === name))
    .filter((p): p is Platform => !!p)
  if (declared && !platform && declared.length > 1) {
    problems.add(
      Inputs.ReviewPlatform,
      `is needed: the manifest declares ${declared.join(', ')}, and a review submission is for one platform.`
    )
  } else if (declared && platform && !declared.includes(platform)) {
    problems.add(
      Inputs.ReviewPlatform,
      `is ${platform}, but the manifest declares only ${declared.join(', ')}.`
    )
  }
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

// Long on purpose: one line per input, in action.yml's order, so every input is checked in one
// place and every problem reported together; the checks themselves are the helpers above.
export async function getInputs(): Promise<ActionInputs> {
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
  const assetPackIdentifier = input(Inputs.AssetPackIdentifier)
  if (!assetPackIdentifier)
    problems.add(
      Inputs.AssetPackIdentifier,
      "is required: the asset pack ID (the manifest's assetPackID)."
    )
  else if (!IDENTIFIER.test(assetPackIdentifier)) {
    problems.add(
      Inputs.AssetPackIdentifier,
      `'${assetPackIdentifier}' may only contain letters, digits and hyphens, and may not start or end with a hyphen (App Store Connect refuses dots and underscores).`
    )
  }
  const target = readTarget(problems)
  const archive = target.archivePath ? await readArchive(target.archivePath, problems) : undefined
  const manifest = target.archivePath
    ? await readManifest(assetPackIdentifier, problems)
    : undefined
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
  const reviewPlatform = readReviewPlatform(submitForReview, waitForProcessing, manifest, problems)
  const dispatch = readDispatch(waitForProcessing, problems)
  const apiBaseUrl = readApiBaseUrl(problems)
  problems.list.push(...proxyProblems())
  if (problems.list.length) throw new InputError(problems.list)
  core.info(
    `${archive ? `${archive.fileName}: ${formatSize(archive.size)} ${archive.kind}` : `version ${target.versionId} of ${assetPackIdentifier}`}` +
      `${manifest ? `; ${manifest.fileName} for ${manifest.platforms.join(', ')}` : ''}; API key ${credentials!.keyId} (${credentials!.issuerId ? 'team' : 'individual'})${dryRun ? '; dry run' : ''}`
  )
  return {
    appId,
    assetPackIdentifier,
    archive,
    manifest,
    versionId: target.versionId,
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
