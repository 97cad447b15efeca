// The API key and the ES256 tokens made from it. Tokens live 19 minutes (Apple's limit is 20) and
// are replaced 5 minutes before they expire, so a wait of hours never meets a 401.
import { createPrivateKey, type KeyObject } from 'node:crypto'
import * as core from '@actions/core'
import { SignJWT } from 'jose'

const JWT_AUDIENCE = 'appstoreconnect-v1'
/** Apple refuses tokens whose exp - iat exceeds 20 minutes. */
const JWT_MAX_LIFETIME_SECONDS = 1200
/** iat is set this far in the past, so a runner clock slightly ahead of Apple's is tolerated. */
const JWT_BACKDATE_SECONDS = 60
/** A cached token is replaced when it has less than this left (or a quarter of a shorter lifetime). */
const JWT_RENEW_MARGIN_SECONDS = 300

export interface ApiKeyCredentials {
  keyId: string
  /** Absent for an individual key: its tokens carry `sub: "user"` instead of `iss`. */
  issuerId?: string
  privateKey: KeyObject
}

/** Masks every form the key may be printed in: the whole text and each base64 line of the PEM. */
function maskKeyText(text: string): void {
  core.setSecret(text)
  for (const line of text.split(/\r?\n|\\n/))
    if (line.trim().length > 8 && !line.startsWith('-----')) core.setSecret(line.trim())
}

/**
 * Parses the `.p8` text as pasted into a secret: PEM, PEM with literal `\n` sequences, or base64 of
 * the PEM. Returns the key or a sentence saying what is wrong (never echoing the key).
 */
export function parsePrivateKey(raw: string): { key: KeyObject } | { problem: string } {
  maskKeyText(raw)
  let pem = raw.trim().replace(/\\n/g, '\n')
  if (!pem.includes('-----BEGIN')) {
    const decoded = Buffer.from(pem.replace(/\s+/g, ''), 'base64').toString('utf8')
    if (!decoded.includes('-----BEGIN')) {
      return {
        problem:
          'is neither a PEM private key (-----BEGIN PRIVATE KEY-----) nor base64 of one. Paste the whole contents of the AuthKey_<key id>.p8 file.'
      }
    }
    pem = decoded.trim()
    maskKeyText(pem)
  }
  if (pem.includes('-----BEGIN EC PRIVATE KEY-----')) {
    return {
      problem:
        'is a SEC1 "EC PRIVATE KEY"; App Store Connect keys are PKCS#8 ("-----BEGIN PRIVATE KEY-----"), as in the downloaded .p8 file.'
    }
  }
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    return {
      problem:
        'could not be parsed as a PEM private key; it may be truncated or altered. Paste the whole contents of the .p8 file.'
    }
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return {
      problem: `is a ${key.asymmetricKeyType?.toUpperCase()} key; App Store Connect API keys are EC P-256 (ES256).`
    }
  }
  return { key }
}

export class TokenProvider {
  private current?: { token: string; expiresAt: number }
  /** Tokens signed so far (the summary reports renewals). */
  issued = 0

  constructor(
    private readonly credentials: ApiKeyCredentials,
    private readonly clock: () => number = Date.now,
    /** exp − iat; tests shorten it to exercise renewal without waiting 20 minutes. */
    private readonly lifetimeSeconds = JWT_MAX_LIFETIME_SECONDS
  ) {}

  /** A token with at least JWT_RENEW_MARGIN_SECONDS left; `fresh` forces a new one (after a 401). */
  async token(fresh = false): Promise<string> {
    const now = Math.floor(this.clock() / 1000)
    const lifetime = Math.min(this.lifetimeSeconds, JWT_MAX_LIFETIME_SECONDS)
    const margin = Math.min(JWT_RENEW_MARGIN_SECONDS, lifetime / 4)
    if (!fresh && this.current && this.current.expiresAt - now > margin) return this.current.token
    const iat = now - Math.min(JWT_BACKDATE_SECONDS, Math.floor(lifetime / 10))
    const exp = iat + lifetime
    const { keyId, issuerId, privateKey } = this.credentials
    const claims = issuerId
      ? { iss: issuerId, aud: JWT_AUDIENCE }
      : { sub: 'user', aud: JWT_AUDIENCE }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: keyId, typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(privateKey)
    core.setSecret(token)
    this.current = { token, expiresAt: exp }
    this.issued++
    return token
  }
}
