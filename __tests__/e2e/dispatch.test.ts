// dispatch-event: a repository_dispatch through @actions/github to a fake GitHub API on 127.0.0.1.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runAction } from '../../scripts/run-action.js'
import { IDENTIFIER, inputsFor, setUp } from '../helpers/simulator.js'

interface Received {
  method: string
  path: string
  authorization?: string
  body: Record<string, unknown>
}

async function fakeGitHub(status = 204) {
  const received: Received[] = []
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    received.push({
      method: req.method!,
      path: req.url!,
      authorization: req.headers.authorization,
      body: body ? JSON.parse(body) : {}
    })
    res
      .writeHead(status, { 'Content-Type': 'application/json' })
      .end(
        status === 204 ? '' : JSON.stringify({ message: 'Resource not accessible by integration' })
      )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

const TOKEN = 'ghs_FakeToken0123456789abcdefghijklmnop'

test('a COMPLETE version sends repository_dispatch with the payload and the token, never printed', async () => {
  const h = await setUp()
  const github = await fakeGitHub()
  try {
    const run = await runAction(
      inputsFor(h, { 'dispatch-event': 'asset-pack-ready', 'github-token': TOKEN }),
      {
        env: { GITHUB_API_URL: github.url, GITHUB_REPOSITORY: 'octo/game' }
      }
    )
    expect(run.exitCode).toBe(0)
    expect(github.received).toEqual([
      {
        method: 'POST',
        path: '/repos/octo/game/dispatches',
        authorization: `token ${TOKEN}`,
        body: {
          event_type: 'asset-pack-ready',
          client_payload: {
            appId: h.sim.appId,
            assetPackIdentifier: IDENTIFIER,
            versionId: run.outputs['version-id'],
            version: '1',
            state: 'COMPLETE',
            packs: [
              {
                assetPackIdentifier: IDENTIFIER,
                versionId: run.outputs['version-id'],
                version: '1',
                state: 'COMPLETE'
              }
            ]
          }
        }
      }
    ])
    const printed = (run.stdout + run.stderr)
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
    expect(printed.join('\n')).not.toContain(TOKEN)
    expect(run.stdout).toContain(`::add-mask::${TOKEN}`)
  } finally {
    await github.close()
  }
})

test('a refused dispatch fails the step with the permission it needs; the outputs stay', async () => {
  const h = await setUp()
  const github = await fakeGitHub(403)
  try {
    const run = await runAction(
      inputsFor(h, { 'dispatch-event': 'asset-pack-ready', 'github-token': TOKEN }),
      {
        env: {
          GITHUB_API_URL: github.url,
          GITHUB_REPOSITORY: 'octo/game',
          ASSET_PACK_RELEASE_BACKOFF_SCALE: '0.01'
        }
      }
    )
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toMatch(
      /dispatch-event: GitHub refused the repository_dispatch 'asset-pack-ready' to octo\/game \(403/
    )
    expect(run.stdout).toMatch(/contents: write/)
    expect(run.outputs.state).toBe('COMPLETE')
  } finally {
    await github.close()
  }
})

test('dispatch-event without wait-for-processing or a repository is refused before any request', async () => {
  const h = await setUp()
  const run = await runAction(
    inputsFor(h, {
      'dispatch-event': 'ready',
      'github-token': TOKEN,
      'wait-for-processing': 'false'
    })
  )
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toMatch(/dispatch-event: needs wait-for-processing: true/)
  expect(run.stdout).toMatch(/dispatch-event: needs GITHUB_REPOSITORY/)
  expect(h.sim.requests).toEqual([])
})
