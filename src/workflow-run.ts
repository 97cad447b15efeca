// Which workflow run a release belongs to. Every attempt of one run (GITHUB_RUN_ID, any
// GITHUB_RUN_ATTEMPT) releasing a pack is one release, even when the job rebuilt the archive
// (ba-package output is not byte-reproducible: the packaging time is in it). The run is written
// into the name of the archive's reservation, the one field of the upload the action chooses, so
// a later attempt finds the version from App Store Connect itself, with no cache, and people can
// see in App Store Connect which run made a version.

export interface WorkflowRun {
  runId: string
  attempt: number
}

/** Longest reservation file name: a common file-system limit, since Apple documents none. */
const MAX_FILE_NAME = 255
const ARCHIVE_ENDING = /\.aar$/i
const RUN_SUFFIX = / \(run (\d+) attempt (\d+)\)(\.aar)?$/i

/** The run this process is part of, or undefined outside GitHub Actions. */
export function currentRun(env: NodeJS.ProcessEnv = process.env): WorkflowRun | undefined {
  const runId = env.GITHUB_RUN_ID
  if (!runId || !/^\d+$/.test(runId)) return undefined
  return { runId, attempt: Number(env.GITHUB_RUN_ATTEMPT) || 1 }
}

/**
 * `forest-level-2.aar` reserved by attempt 2 of run 555000111 is named
 * `forest-level-2 (run 555000111 attempt 2).aar`: the user's name first, the `.aar` ending kept,
 * shortened to fit when the user's name is very long. Outside a run the name is unchanged.
 */
export function reservationFileName(fileName: string, run: WorkflowRun | undefined): string {
  if (!run) return fileName
  const ending = ARCHIVE_ENDING.exec(fileName)?.[0] ?? ''
  const stem = fileName.slice(0, fileName.length - ending.length)
  const suffix = ` (run ${run.runId} attempt ${run.attempt})${ending}`
  return `${stem.slice(0, MAX_FILE_NAME - suffix.length)}${suffix}`
}

/** The run a reservation's file name names, if it names one. */
export function runOfFileName(fileName: string | undefined): WorkflowRun | undefined {
  const match = RUN_SUFFIX.exec(fileName ?? '')
  return match ? { runId: match[1], attempt: Number(match[2]) } : undefined
}
