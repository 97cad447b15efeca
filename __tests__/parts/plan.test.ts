// planParts: the reservation's operations must tile the file exactly, be unexpired and https.
import { planParts } from '../../src/parts/plan.js'
import type { BackgroundAssetUploadFile } from '../../src/asc/client.js'

const later = new Date(Date.now() + 3600_000).toISOString()
const file = (
  ops: { offset: number; length: number; partNumber?: number; url?: string; expiration?: string }[]
): BackgroundAssetUploadFile => ({
  type: 'backgroundAssetUploadFiles',
  id: 'f1',
  attributes: {
    uploadOperations: ops.map((o, i) => ({
      method: 'PUT',
      url: o.url ?? `https://storage.example/p${i}`,
      offset: o.offset,
      length: o.length,
      partNumber: o.partNumber ?? i + 1,
      expiration: o.expiration ?? later,
      requestHeaders: [{ name: 'Content-Type', value: 'application/octet-stream' }]
    }))
  }
})

test('shuffled operations that tile the file are sorted by offset, with their headers', () => {
  const parts = planParts(
    file([
      { offset: 10, length: 5 },
      { offset: 0, length: 10 }
    ]),
    15
  )
  expect(parts.map((p) => [p.offset, p.length, p.partNumber])).toEqual([
    [0, 10, 2],
    [10, 5, 1]
  ])
  expect(parts[0].headers).toEqual({ 'Content-Type': 'application/octet-stream' })
})

test.each([
  [
    'a gap',
    [
      { offset: 0, length: 5 },
      { offset: 6, length: 4 }
    ],
    10,
    /uncovered/
  ],
  [
    'an overlap',
    [
      { offset: 0, length: 6 },
      { offset: 5, length: 5 }
    ],
    10,
    /overlaps/
  ],
  ['too few bytes', [{ offset: 0, length: 5 }], 10, /cover 5 bytes, but the file has 10/],
  ['past the end', [{ offset: 0, length: 11 }], 10, /cover 11 bytes/],
  [
    'a duplicated part number',
    [
      { offset: 0, length: 5, partNumber: 1 },
      { offset: 5, length: 5, partNumber: 1 }
    ],
    10,
    /share a part number/
  ],
  [
    'plain http to a remote host',
    [{ offset: 0, length: 10, url: 'http://storage.example/p' }],
    10,
    /non-https/
  ],
  [
    'an expired operation',
    [{ offset: 0, length: 10, expiration: new Date(Date.now() - 1000).toISOString() }],
    10,
    /expired/
  ]
])('%s is refused', (_what, ops, size, message) => {
  expect(() => planParts(file(ops), size)).toThrow(message)
})

test('plain http is allowed for the loopback simulator', () => {
  expect(
    planParts(file([{ offset: 0, length: 10, url: 'http://127.0.0.1:9/p' }]), 10)
  ).toHaveLength(1)
})
