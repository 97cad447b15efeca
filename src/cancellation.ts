// Cancellation: the runner sends SIGINT, then SIGTERM, when a job is cancelled or times out.
// Every request, part upload and wait listens to one signal, so the run stops at once, saves
// its resume ledger, writes the job summary and exits non-zero — within 5 seconds.
import * as core from '@actions/core'
import { CancelledError } from './errors.js'

/** The last resort if cleanup hangs: the runner kills a step that ignores its signals. */
const HARD_EXIT_MS = 4500

const controller = new AbortController()

/** Aborted when the run is cancelled; its reason is a CancelledError. */
export const cancellation: AbortSignal = controller.signal

export function listenForCancellation(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (controller.signal.aborted) return
      core.info(`Received ${signal}: stopping, saving progress for a re-run.`)
      controller.abort(new CancelledError(signal))
      setTimeout(() => process.exit(1), HARD_EXIT_MS).unref()
    })
  }
}
