// Every error class of the action, each with its `name` set. Each message is meant for the person
// reading the job log.
import type { components } from './asc/generated/asc-api.js'

type AscErrorItem = components['schemas']['ErrorResponse']['errors'] extends (infer T)[] | undefined
  ? T
  : never

/** One or more inputs are wrong; nothing was sent to App Store Connect. */
export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'InputError'
  }
}

const HINTS: Record<number, string> = {
  401: 'Check that key-id, issuer-id (omitted for an individual key) and the private key belong to the same active API key, and that the runner clock is correct.',
  403: "Check the API key's role (Admin, App Manager or Developer) and that the Account Holder has accepted the latest agreements in App Store Connect.",
  404: "Check app-id: it is the app's numeric Apple ID (App Information in App Store Connect), not its bundle ID, and the API key's team must own the app.",
  409: 'Check asset-pack-identifier (letters, digits and hyphens) and, on a commit, the archive checksum.',
  429: "The API key's hourly request budget is spent; wait before re-running, or use another key for this job."
}

/** App Store Connect answered with an error document. */
export class AscApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: AscErrorItem[],
    readonly request: string
  ) {
    const first = errors[0]
    const text = first
      ? `${status} ${first.code}: ${first.title} — ${first.detail}`
      : `${status}: no error details in the response`
    const hint = HINTS[status]
    super(`${text} (${request})${hint ? `\nHint: ${hint}` : ''}`)
    this.name = 'AscApiError'
  }

  /** The JSON pointer of the first error's source, when it names one. */
  get pointer(): string | undefined {
    const source = this.errors[0]?.source
    return source && 'pointer' in source ? source.pointer : undefined
  }
}

/** A request that changes state got no usable answer: it may or may not have taken effect. */
export class UncertainOutcomeError extends Error {
  constructor(
    readonly request: string,
    readonly cause: unknown
  ) {
    super(
      `${request} got no usable answer (${describeCause(cause)}); it may or may not have taken effect`
    )
    this.name = 'UncertainOutcomeError'
  }
}

/** Apple reported the upload or the version as FAILED; the messages are Apple's. */
export class ProcessingFailedError extends Error {
  constructor(
    readonly what: string,
    readonly messages: {
      level: 'error' | 'warning' | 'info'
      code?: string
      description?: string
    }[]
  ) {
    const lines = messages.map(
      (m) => `  ${m.level}: ${m.code ?? '(no code)'} — ${m.description ?? '(no description)'}`
    )
    super(
      `${what} FAILED in App Store Connect:\n${lines.join('\n') || '  (Apple gave no details)'}`
    )
    this.name = 'ProcessingFailedError'
  }
}

export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code
    return code ? `${code}: ${cause.message}` : cause.message
  }
  return String(cause)
}

/** The run was cancelled (SIGINT/SIGTERM from the runner). */
export class CancelledError extends Error {
  constructor(readonly signal: string) {
    super(`Cancelled (${signal}).`)
    this.name = 'CancelledError'
  }
}

/** One or more packs of a run of several failed; each pack's own error is in `failed`. */
export class PacksFailedError extends Error {
  constructor(readonly failed: { identifier: string; failure?: Error }[]) {
    super(
      `${failed.length} asset pack(s) failed: ${failed.map((p) => `${p.identifier} (${p.failure?.message.split('\n')[0]})`).join('; ')}`
    )
    this.name = 'PacksFailedError'
  }
}

/** A reservation's upload operations cannot be used as they are (gaps, overlaps, expired, http). */
export class UploadPlanError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UploadPlanError'
  }
}

/** A part attempt that made no progress for stall-timeout. */
export class StallError extends Error {
  constructor(seconds: number) {
    super(`no progress for ${seconds} s`)
    this.name = 'StallError'
  }
}

/** The upload storage answered a part with 5xx or 429: worth another attempt. */
export class StorageRetryableStatus extends Error {
  constructor(failure: string) {
    super(failure)
    this.name = 'StorageRetryableStatus'
  }
}

/** Apple was still processing when processing-timeout ran out. */
export class ProcessingTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly lastState: string,
    timeoutMs: number
  ) {
    super(
      `${what} was still ${lastState} after ${Math.round(timeoutMs / 1000)} s (processing-timeout). App Store Connect goes on processing it: ` +
        're-run later (the version is reused) or raise processing-timeout. Apple asks to contact them if processing takes over 24 hours.'
    )
    this.name = 'ProcessingTimeoutError'
  }
}
