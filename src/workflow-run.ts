// Which workflow run a release belongs to, and what content it holds. Every attempt of one run
// (GITHUB_RUN_ID, any GITHUB_RUN_ATTEMPT) releasing a pack is one release, even when the job
// rebuilt the archive (ba-package output is not byte-reproducible: the packaging time is in it).
// The run and the archive's content identity are written into the name of the archive's
// reservation, the one field of the upload the action chooses, so any later run on any runner
// reads them back from App Store Connect itself, with no cache, and people can see in App Store
// Connect which run made a version.

export interface WorkflowRun {
  runId: string
  attempt: number
}

/** Longest reservation file name: a common file-system limit, since Apple documents none. */
const MAX_FILE_NAME = 255
const ARCHIVE_ENDING = /\.aar$/i
/** Hex digits of the content identity in the name: 128 bits, enough to never collide by chance. */
export const CONTENT_IN_NAME = 32
const SUFFIX = new RegExp(
  ` \\((?:run (\\d+) attempt (\\d+))?(?:, )?(?:content ([0-9a-f]{${CONTENT_IN_NAME}}))?\\)(?:\\.aar)?$`,
  'i'
)

/** What a reservation's file name says: the run that made it and the content it holds. */
export interface ReservationName {
  run?: WorkflowRun
  /** The first CONTENT_IN_NAME hex digits of the archive's content identity. */
  content?: string
}

/** The run this process is part of, or undefined outside GitHub Actions. */
export function currentRun(env: NodeJS.ProcessEnv = process.env): WorkflowRun | undefined {
  const runId = env.GITHUB_RUN_ID
  if (!runId || !/^\d+$/.test(runId)) return undefined
  return { runId, attempt: Number(env.GITHUB_RUN_ATTEMPT) || 1 }
}

/**
 * `forest-level-2.aar` with content 9f86d081… reserved by attempt 2 of run 555000111 is named
 * `forest-level-2 (run 555000111 attempt 2, content 9f86d081884c7d65a1b2c3d4e5f60718).aar`: the
 * user's name first, the `.aar` ending kept, shortened to fit when the user's name is very long.
 * Outside a run only the content is added; without either, the name is unchanged.
 */
export function reservationFileName(
  fileName: string,
  run: WorkflowRun | undefined,
  contentId?: string
): string {
  const said = [
    run && `run ${run.runId} attempt ${run.attempt}`,
    contentId && `content ${contentId.slice(0, CONTENT_IN_NAME)}`
  ].filter(Boolean)
  if (!said.length) return fileName
  const ending = ARCHIVE_ENDING.exec(fileName)?.[0] ?? ''
  const stem = fileName.slice(0, fileName.length - ending.length)
  const suffix = ` (${said.join(', ')})${ending}`
  return `${stem.slice(0, MAX_FILE_NAME - suffix.length)}${suffix}`
}

/** The run and content a reservation's file name names, when it names them. */
export function parseReservationName(fileName: string | undefined): ReservationName {
  const match = SUFFIX.exec(fileName ?? '')
  if (!match) return {}
  return {
    run: match[1] ? { runId: match[1], attempt: Number(match[2]) } : undefined,
    content: match[3]?.toLowerCase()
  }
}

/** Whether a version's archive holds the content `contentId` names (by its name's digits). */
export function holdsContent(name: ReservationName, contentId: string | undefined): boolean {
  return !!name.content && !!contentId && contentId.startsWith(name.content)
}
