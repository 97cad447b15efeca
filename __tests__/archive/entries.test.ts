// Entry headers field by field, and the walker fed in chunks of any size.
import { EntryWalker, parseEntryHeader, type Entry } from '../../src/archive/entries.js'
import {
  blobField,
  entryHeader,
  fileEntryHeader,
  stringField,
  type EntryField
} from '../../scripts/sample-pack.js'

const header = (...fields: EntryField[]) => entryHeader(fields)

describe('entry headers, field by field', () => {
  test('every subtype of the field table has its size; blobs add up; TYP, PAT and LNK are read', () => {
    const all = header(
      ['FLG*', Buffer.alloc(0)],
      ['TYP1', Buffer.from('L')],
      ['UID1', Buffer.alloc(1)],
      ['MOD2', Buffer.alloc(2)],
      ['GID4', Buffer.alloc(4)],
      ['SIZ8', Buffer.alloc(8)],
      stringField('PAT', 'Contents/ä.bin'),
      stringField('LNK', '../b'),
      ['CKSF', Buffer.alloc(4)],
      ['SH1G', Buffer.alloc(20)],
      ['SH2H', Buffer.alloc(32)],
      ['SH3I', Buffer.alloc(48)],
      ['SH5J', Buffer.alloc(64)],
      ['MTMS', Buffer.alloc(8)],
      ['CTMT', Buffer.alloc(12)],
      blobField('XAT', 7, 'A'),
      blobField('DAT', 70_000, 'B'),
      blobField('HLC', 2 ** 33, 'C')
    )
    expect(parseEntryHeader(all)).toEqual({
      type: 'L',
      path: 'Contents/ä.bin',
      link: '../b',
      blobs: [
        { key: 'XAT', size: 7 },
        { key: 'DAT', size: 70_000 },
        { key: 'HLC', size: 2 ** 33 }
      ],
      blobBytes: 7 + 70_000 + 2 ** 33
    })
  })

  test('a field that overruns the header is damage', () => {
    const whole = header(blobField('DAT', 5, 'C'))
    const short = Buffer.from(whole.subarray(0, whole.length - 3))
    short.writeUInt16LE(short.length, 4)
    expect(parseEntryHeader(short)).toBe('its field DATC overruns the header')
    const string = header(['PATP', Buffer.from([50, 0, 65])])
    expect(parseEntryHeader(string)).toBe('its field PATP overruns the header')
  })

  test('an unknown subtype is damage', () => {
    expect(parseEntryHeader(header(['ABCZ', Buffer.alloc(4)]))).toBe(
      "its field ABC has the unknown type 'Z'"
    )
  })
})

describe('the walker takes the stream in chunks of any size', () => {
  const stream = Buffer.concat([
    entryHeader([['TYP1', Buffer.from('D')], stringField('PAT', '')]),
    fileEntryHeader('Contents/a.txt', 5),
    Buffer.from('hello'),
    entryHeader([
      ['TYP1', Buffer.from('F')],
      stringField('PAT', 'Contents/b.bin'),
      blobField('XAT', 3, 'A'),
      blobField('DAT', 4, 'B')
    ]),
    Buffer.from('xat'),
    Buffer.from('data'),
    fileEntryHeader('Contents/empty', 0)
  ])

  function walk(chunkSize: number) {
    const seen: string[] = []
    const data = new Map<number, string>()
    const walker = new EntryWalker(stream.length, {
      entry: (e: Entry) => seen.push(`${e.type}:${e.path}:${e.dataSize}`),
      data: (e, bytes, start, end, last) => {
        data.set(e.index, (data.get(e.index) ?? '') + Buffer.from(bytes.subarray(start, end)))
        if (last) data.set(e.index, `${data.get(e.index)}!`)
      }
    })
    for (let at = 0; at < stream.length; at += chunkSize)
      expect(walker.push(stream.subarray(at, at + chunkSize))).toBeUndefined()
    expect(walker.finish()).toBeUndefined()
    return { seen, data: Object.fromEntries(data), entries: walker.entries }
  }

  test.each([1, 2, 5, 7, 64, 1 << 20])('in chunks of %i bytes', (size) => {
    expect(walk(size)).toEqual({
      seen: ['D::0', 'F:Contents/a.txt:5', 'F:Contents/b.bin:4', 'F:Contents/empty:0'],
      // Only DAT is data (the xattrs are not); an empty DAT ends at once.
      data: { 1: 'hello!', 2: 'data!', 3: '!' },
      entries: 4
    })
  })

  test('a stream with no entries is refused', () => {
    const walker = new EntryWalker(0, { entry: () => undefined, data: () => undefined })
    expect(walker.finish()).toEqual({ message: 'holds no entries', at: 0 })
  })
})
