// Reads and checks every input before any request. Each problem becomes one sentence that names
// the input; all of them are reported together. The asset packs themselves are pack-entries.ts.
import { readFile } from 'node:fs/promises'
import * as core from '@actions/core'
import { parsePrivateKey, type ApiKeyCredentials } from './asc/auth.js'
import type { Platform } from './asc/client.js'
import { DEFAULTS, Inputs, MAX_UPLOAD_CONCURRENCY } from './constants.js'
import { InputError } from './errors.js'
import { isLoopbackHost, proxyProblems } from './asc/http.js'
import { input, Problems, readFileInput } from './input-reading.js'
import { MANIFEST_PLATFORM_NAMES } from './manifest.js'
import {
  declaredPlatforms,
  describeEntry,
  entryField,
  readEntries,
  type PackEntry
} from './pack-entries.js'

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
  /** Keep the pack's newest version when the archive holds the same content (no new version). */
  skipUnchanged: boolean
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const TRUE = ['true', 'True', 'TRUE']
const FALSE = ['false', 'False', 'FALSE']

function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  return m ? Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS] : undefined
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
  const skipUnchanged = readBoolean(Inputs.SkipUnchanged, problems)
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
  for (const { archive } of entries) {
    for (const note of archive?.notes ?? []) core.info(note)
    for (const warning of archive?.warnings ?? []) core.warning(warning)
  }
  return {
    appId,
    entries,
    fromPacksInput,
    credentials: credentials!,
    createAssetPack,
    reuseExisting,
    skipUnchanged,
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
