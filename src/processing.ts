// Waiting on Apple: a manifest's verdict (the upload file's assetDeliveryState) and a version's
// processing (its state), polled with backoff up to poll-interval, within processing-timeout.
import * as log from './log.js'
import {
  findIncluded,
  type AppStoreConnectClient,
  type BackgroundAssetUploadFile,
  type BackgroundAssetVersion
} from './asc/client.js'
import { cancellation } from './cancellation.js'
import { ProcessingFailedError, ProcessingTimeoutError } from './errors.js'
import { sleep } from './asc/retry.js'

/** First poll after this long (or poll-interval, if shorter); the gap then doubles up to poll-interval. */
const FIRST_POLL_MS = 2000

export interface PollOptions {
  timeoutMs: number
  pollIntervalMs: number
}

async function pollUntil<T>(
  /** What is waited on, for the log (it may depend on what was read). */
  name: (t: T) => string,
  read: () => Promise<T>,
  stateOf: (t: T) => string,
  done: (state: string) => boolean,
  options: PollOptions
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let gap = Math.min(FIRST_POLL_MS, options.pollIntervalMs)
  let last = ''
  for (;;) {
    const value = await read()
    const state = stateOf(value)
    const what = name(value)
    if (state !== last) log.info(`${what}: ${state}`)
    last = state
    if (done(state)) return value
    const left = deadline - Date.now()
    if (left <= 0) throw new ProcessingTimeoutError(what, state, options.timeoutMs)
    await sleep(Math.min(gap, left), cancellation)
    gap = Math.min(gap * 2, options.pollIntervalMs)
  }
}

/** The manifest's verdict; FAILED throws with every error and warning Apple gave. */
export async function waitForUploadFile(
  client: AppStoreConnectClient,
  id: string,
  what: string,
  options: PollOptions
): Promise<BackgroundAssetUploadFile> {
  const file = await pollUntil(
    () => what,
    () => client.getUploadFile(id),
    (f) => f.attributes?.assetDeliveryState?.state ?? 'UNKNOWN',
    (s) => s === 'COMPLETE' || s === 'FAILED',
    options
  )
  const delivery = file.attributes?.assetDeliveryState
  if (delivery?.state === 'FAILED') {
    throw new ProcessingFailedError(what, [
      ...(delivery.errors ?? []).map((e) => ({ level: 'error' as const, ...e })),
      ...(delivery.warnings ?? []).map((e) => ({ level: 'warning' as const, ...e }))
    ])
  }
  return file
}

export interface ProcessedVersion {
  version: BackgroundAssetVersion
  internalBetaState?: string
}

/** Reads the version (and its internal beta release) once. */
export async function readVersion(
  client: AppStoreConnectClient,
  id: string
): Promise<ProcessedVersion> {
  const response = await client.getVersion(id, 'internalBetaRelease')
  const release = findIncluded(
    response.included,
    response.data.relationships?.internalBetaRelease?.data
  )
  return { version: response.data, internalBetaState: release?.attributes?.state }
}

/** Polls until COMPLETE or FAILED; `onState` sees every reading (the report keeps the last one). */
export async function waitForVersion(
  client: AppStoreConnectClient,
  id: string,
  options: PollOptions,
  onState: (p: ProcessedVersion) => void
): Promise<ProcessedVersion> {
  const processed = await pollUntil(
    (p) => `Version ${p.version.attributes?.version ?? id}`,
    async () => {
      const p = await readVersion(client, id)
      onState(p)
      return p
    },
    (p) => p.version.attributes?.state ?? 'UNKNOWN',
    (s) => s === 'COMPLETE' || s === 'FAILED',
    options
  )
  const details = processed.version.attributes?.stateDetails
  if (processed.version.attributes?.state === 'FAILED') {
    throw new ProcessingFailedError(`Version ${processed.version.attributes.version}`, [
      ...(details?.errors ?? []).map((e) => ({ level: 'error' as const, ...e })),
      ...(details?.warnings ?? []).map((e) => ({ level: 'warning' as const, ...e })),
      ...(details?.infos ?? []).map((e) => ({ level: 'info' as const, ...e }))
    ])
  }
  return processed
}
