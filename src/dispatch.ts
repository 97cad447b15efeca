// Optional: once the version is COMPLETE, start another workflow (a TestFlight job) with a
// repository_dispatch event, through @actions/github.
import * as core from '@actions/core'
import { loadGithubClient } from './bundles/loader.js'

/** One released asset pack, as the next workflow reads it. */
export interface DispatchedPack {
  assetPackIdentifier: string
  versionId: string
  version: string
  state: string
}

/** The app and every pack; a run of one pack also has that pack's fields at the top level. */
export type DispatchPayload = { appId: string; packs: DispatchedPack[] } & Partial<DispatchedPack>

export async function sendDispatch(
  token: string,
  eventType: string,
  payload: DispatchPayload
): Promise<void> {
  const github = await loadGithubClient()
  const { owner, repo } = github.context.repo
  const octokit = github.getOctokit(token)
  try {
    await octokit.rest.repos.createDispatchEvent({
      owner,
      repo,
      event_type: eventType,
      client_payload: { ...payload }
    })
  } catch (error) {
    const status = (error as { status?: number }).status
    throw new Error(
      `dispatch-event: GitHub refused the repository_dispatch '${eventType}' to ${owner}/${repo} (${status ?? ''} ${(error as Error).message}). ` +
        'The token needs contents: write on this repository (add it to the job’s permissions).'
    )
  }
  core.info(
    `Sent repository_dispatch '${eventType}' to ${owner}/${repo} with ${payload.packs.map((p) => `${p.assetPackIdentifier} version ${p.version} (${p.versionId})`).join(', ')}.`
  )
}
