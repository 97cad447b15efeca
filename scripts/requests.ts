// Requests to the simulator the way a hand-written client sends them: a signed token and the
// JSON:API bodies of the create, reserve and commit calls. Shared by the tests and the benchmark.
import { importPKCS8, SignJWT } from 'jose'
import type { ApiKey } from '../simulator/index.js'

export interface TokenClaims {
  iat?: number
  exp?: number
  aud?: string
  iss?: string
  sub?: string
  kid?: string
}

export async function token(key: ApiKey, claims: TokenClaims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const { kid = key.keyId, iat = now - 10, exp = now + 600, ...rest } = claims
  const payload = {
    aud: 'appstoreconnect-v1',
    ...(key.issuerId ? { iss: key.issuerId } : { sub: 'user' }),
    ...rest
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(await importPKCS8(key.privateKeyPem, 'ES256'))
}

export const createPackBody = (appId: string, identifier: string) => ({
  data: {
    type: 'backgroundAssets',
    attributes: { assetPackIdentifier: identifier },
    relationships: { app: { data: { type: 'apps', id: appId } } }
  }
})

export const createVersionBody = (packId: string) => ({
  data: {
    type: 'backgroundAssetVersions',
    relationships: { backgroundAsset: { data: { type: 'backgroundAssets', id: packId } } }
  }
})

export const reserveBody = (
  versionId: string,
  fileSize: number,
  assetType = 'ASSET',
  fileName = 'pack.aar'
) => ({
  data: {
    type: 'backgroundAssetUploadFiles',
    attributes: { assetType, fileName, fileSize },
    relationships: {
      backgroundAssetVersion: { data: { type: 'backgroundAssetVersions', id: versionId } }
    }
  }
})

export const commitBody = (id: string, attributes: Record<string, unknown>) => ({
  data: { type: 'backgroundAssetUploadFiles', id, attributes }
})
