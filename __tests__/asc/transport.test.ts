// The client's guards: rate-limit header parsing, and next-page links only on the API's origin.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync } from 'node:crypto'
import { AppStoreConnectClient } from '../../src/asc/client.js'
import { parseRateLimit } from '../../src/asc/transport.js'
import { TokenProvider } from '../../src/asc/auth.js'
import { captureMasks } from '../helpers/masks.js'

const masks = captureMasks()

test('X-Rate-Limit is read as Apple sends it, every budget of it', () => {
  expect(parseRateLimit('user-hour-lim:3500;user-hour-rem:500;')).toEqual({
    'user-hour': { limit: 3500, remaining: 500 }
  })
  expect(
    parseRateLimit('user-hour-lim:3600;user-hour-rem:3580;user-minute-lim:60;user-minute-rem:0;')
  ).toEqual({
    'user-hour': { limit: 3600, remaining: 3580 },
    'user-minute': { limit: 60, remaining: 0 }
  })
  // A limit without its remaining count is no budget.
  expect(parseRateLimit('user-minute-lim:60;')).toBeUndefined()
  expect(parseRateLimit(undefined)).toBeUndefined()
})

test('a links.next on another host is refused: the API token never leaves the API origin', async () => {
  const seen: (string | undefined)[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization)
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        data: [],
        links: { self: 'x', next: 'https://elsewhere.example/v1/next?cursor=1' }
      })
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const client = AppStoreConnectClient.create(base, new TokenProvider({ keyId: 'K', privateKey }))
  try {
    await expect(client.listAssetPacks('1')).rejects.toThrow(
      /another host \(https:\/\/elsewhere\.example\); refusing to send the API token there/
    )
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatch(/^Bearer ey/)
    // The token was masked before it was sent.
    expect(masks.masked).toEqual([seen[0]!.slice('Bearer '.length)])
  } finally {
    await client.close()
    server.close()
  }
})
