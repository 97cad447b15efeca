// @actions/github (Octokit) as its own bundle (dist/github/): only the summary's provenance line
// and dispatch-event need it, at the end of a run.
export { context, getOctokit } from '@actions/github'
