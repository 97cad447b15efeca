// @actions/github (Octokit) as its own bundle (dist/github/): only dispatch-event needs it, at the
// end of a run.
export { context, getOctokit } from '@actions/github'
