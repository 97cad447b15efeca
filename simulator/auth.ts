// Bearer-token checks as Apple documents them ("Generating Tokens for API Requests"): ES256 signed
// by a known key, `kid`, `aud: appstoreconnect-v1`, `iss` for team keys or `sub: "user"` (and no
// `iss`) for individual keys, a lifetime (exp - iat) of at most 20 minutes, not expired, not
// issued in the future.
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto'
import { compactVerify, decodeProtectedHeader } from 'jose'

export interface ApiKey {
  keyId: string
  /** Team keys have an issuer; individual keys have none. */
  issuerId?: string
  publicKey: KeyObject
  privateKeyPem: string
}

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

export function generateApiKey(kind: 'team' | 'individual' = 'team'): ApiKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const keyId = [...randomBytes(10)]
    .map((b) => KEY_ID_ALPHABET[b % KEY_ID_ALPHABET.length])
    .join('')
  return {
    keyId,
    issuerId: kind === 'team' ? randomUUID() : undefined,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  }
}

/** Why a token is refused: the simulator's 401 detail says it (Apple's names only the general cause). */
export type TokenVerdict =
  { ok: true; keyId: string } | { ok: false; reason: string; keyId?: string }

export async function verifyBearer(
  header: string | undefined,
  keys: Map<string, ApiKey>,
  nowMs: number
): Promise<TokenVerdict> {
  const token = /^Bearer (.+)$/.exec(header ?? '')?.[1]
  if (!token) return { ok: false, reason: 'the request has no Authorization: Bearer header' }
  let kid: string | undefined
  try {
    const protectedHeader = decodeProtectedHeader(token)
    kid = protectedHeader.kid
    if (protectedHeader.alg !== 'ES256')
      return {
        ok: false,
        reason: `the token is signed with alg ${protectedHeader.alg}, not ES256`,
        keyId: kid
      }
  } catch {
    return { ok: false, reason: 'the bearer token is not a JWT' }
  }
  const key = kid ? keys.get(kid) : undefined
  if (!key)
    return { ok: false, reason: `the token's kid ${kid} is not a known API key`, keyId: kid }
  let claims: Record<string, unknown>
  try {
    const { payload } = await compactVerify(token, key.publicKey)
    claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
  } catch {
    return {
      ok: false,
      reason: `the token's signature does not verify with key ${kid}`,
      keyId: kid
    }
  }
  const now = Math.floor(nowMs / 1000)
  const { iat, exp, aud, iss, sub } = claims
  if (typeof iat !== 'number') return { ok: false, reason: 'the token has no iat', keyId: kid }
  if (typeof exp !== 'number') return { ok: false, reason: 'the token has no exp', keyId: kid }
  if (aud !== 'appstoreconnect-v1')
    return {
      ok: false,
      reason: `the token's aud is ${JSON.stringify(aud)}, not "appstoreconnect-v1"`,
      keyId: kid
    }
  if (key.issuerId ? iss !== key.issuerId : sub !== 'user' || iss !== undefined) {
    return {
      ok: false,
      reason: key.issuerId
        ? `the token's iss is not the issuer ID of key ${kid}`
        : `key ${kid} is an individual key: the token needs sub "user" and no iss`,
      keyId: kid
    }
  }
  if (exp - iat > 1200)
    return { ok: false, reason: `exp − iat is ${exp - iat} s, over 1200`, keyId: kid }
  if (exp <= now) return { ok: false, reason: `the token expired ${now - exp} s ago`, keyId: kid }
  if (iat > now)
    return { ok: false, reason: `the token's iat is ${iat - now} s in the future`, keyId: kid }
  return { ok: true, keyId: kid! }
}
