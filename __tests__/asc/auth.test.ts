// Tokens: claims Apple requires, and renewal before expiry so a wait of hours never meets a 401.
import { generateKeyPairSync } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { parsePrivateKey, TokenProvider } from '../../src/asc/auth.js'
import { captureMasks } from '../helpers/masks.js'

const masks = captureMasks()

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

test('team-key tokens: ES256, kid, iss, aud, lifetime within 20 minutes, iat slightly in the past', async () => {
  const now = 1_800_000_000_000
  const tokens = new TokenProvider(
    { keyId: 'ABC123DEFG', issuerId: '57246542-96fe-1a63-e053-0824d011072a', privateKey },
    () => now
  )
  const token = await tokens.token()
  expect(masks.masked).toEqual([token])
  expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'ABC123DEFG', typ: 'JWT' })
  const claims = decodeJwt(token)
  expect(claims).toMatchObject({
    iss: '57246542-96fe-1a63-e053-0824d011072a',
    aud: 'appstoreconnect-v1'
  })
  expect(claims.sub).toBeUndefined()
  expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(1200)
  expect(claims.iat!).toBeLessThan(now / 1000)
})

test('individual-key tokens carry sub "user" and no iss', async () => {
  const claims = decodeJwt(await new TokenProvider({ keyId: 'K', privateKey }).token())
  expect(claims.sub).toBe('user')
  expect(claims.iss).toBeUndefined()
})

test('a token is reused while it has over 5 minutes left, renewed after; hours of waiting never use an expired one', async () => {
  let now = 1_800_000_000_000
  const tokens = new TokenProvider({ keyId: 'K', privateKey }, () => now)
  const first = await tokens.token()
  now += 10 * 60_000
  expect(await tokens.token()).toBe(first)
  for (let minute = 0; minute < 6 * 60; minute++) {
    now += 60_000
    const exp = decodeJwt(await tokens.token()).exp!
    expect(exp * 1000 - now).toBeGreaterThan(5 * 60_000)
  }
  expect(tokens.issued).toBeGreaterThan(20)
})

test('keys: PEM, base64 of PEM and literal \\n are accepted; others explained', () => {
  expect('key' in parsePrivateKey(pem)).toBe(true)
  // The whole text and every base64 line of it are masked, whichever way a log might show them.
  const bodyLines = pem.split('\n').filter((line) => line && !line.startsWith('-----'))
  expect(masks.masked).toEqual([pem, ...bodyLines])
  expect('key' in parsePrivateKey(Buffer.from(pem).toString('base64'))).toBe(true)
  expect('key' in parsePrivateKey(pem.replace(/\n/g, '\\n'))).toBe(true)
  expect(parsePrivateKey('nonsense')).toEqual({
    problem: expect.stringContaining('PEM private key')
  })
})
