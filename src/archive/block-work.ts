// The work on blocks, the same on a worker thread and on the main one: read a block's payload and
// decode it into a buffer of exactly its raw size; hash pieces of entries' data, each entry in
// order on the one thread that holds its running SHA-256.
import { createHash, type Hash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { inflateSync } from 'node:zlib'
import type { Block } from './container.js'
import { decodeLzfse, LzfseError } from './lzfse.js'

/** A block that does not decode: what is wrong, and the file offset where it was found. */
export interface BlockProblem {
  problem: string
  fileOffset: number
}

/**
 * Pieces of entries' data in one buffer, four numbers each: the entry's index, the piece's start
 * and end in the buffer, and 1 when the piece ends the entry's data.
 */
export type Pieces = number[]

/** The digests of entries whose data ended in a hashing job: [entry index, hex SHA-256]. */
export type Digests = [number, string][]

/** decodeAndHash of a block that is checked but not hashed (a blob other than a file's data). */
export const NO_ENTRY = -1

export class BlockWork {
  private readonly fd: number
  /** The compressed payload of the block being decoded, reused. */
  private payload = new Uint8Array(0)
  /** Where a block decodes when its bytes stay on this thread (decodeAndHash), reused. */
  private decoded = new ArrayBuffer(0)
  private readonly hashes = new Map<number, Hash>()
  private closed = false

  constructor(path: string) {
    this.fd = openSync(path, 'r')
  }

  /** Decodes `block` into `buffer`[0, rawSize); a problem when it is damaged. */
  decode(block: Block, buffer: ArrayBuffer): BlockProblem | undefined {
    // After a failed read, work still queued must not touch a descriptor the process may reuse.
    if (this.closed) throw new Error('the archive read has ended')
    const output = new Uint8Array(buffer, 0, block.rawSize)
    if (block.codec === 'stored') {
      this.read(output, block.fileOffset)
      return undefined
    }
    if (this.payload.length < block.storedSize) this.payload = new Uint8Array(block.storedSize)
    const input = this.payload.subarray(0, block.storedSize)
    this.read(input, block.fileOffset)
    return block.codec === 'lzfse' ? lzfse(input, output, block) : zlib(input, output, block)
  }

  /**
   * A block that is all data of one entry: decoded here and hashed into that entry, so its bytes
   * never leave this thread.
   */
  decodeAndHash(block: Block, entry: number, last: boolean): BlockProblem | Digests {
    if (this.decoded.byteLength < block.rawSize) this.decoded = new ArrayBuffer(block.rawSize)
    const problem = this.decode(block, this.decoded)
    if (problem || entry === NO_ENTRY) return problem ?? []
    return this.hash(this.decoded, [entry, 0, block.rawSize, last ? 1 : 0])
  }

  hash(buffer: ArrayBuffer, pieces: Pieces): Digests {
    const bytes = new Uint8Array(buffer)
    const digests: Digests = []
    for (let i = 0; i < pieces.length; i += 4) {
      const entry = pieces[i]
      let hash = this.hashes.get(entry)
      if (!hash) this.hashes.set(entry, (hash = createHash('sha256')))
      hash.update(bytes.subarray(pieces[i + 1], pieces[i + 2]))
      if (pieces[i + 3]) {
        digests.push([entry, hash.digest('hex')])
        this.hashes.delete(entry)
      }
    }
    return digests
  }

  close(): void {
    this.closed = true
    closeSync(this.fd)
  }

  private read(into: Uint8Array, position: number): void {
    for (let done = 0; done < into.length;) {
      const read = readSync(this.fd, into, done, into.length - done, position + done)
      if (!read) throw new Error(`the file ended at byte ${position + done} while reading a block`)
      done += read
    }
  }
}

function lzfse(input: Uint8Array, output: Uint8Array, block: Block): BlockProblem | undefined {
  try {
    decodeLzfse(input, output)
    return undefined
  } catch (error) {
    if (!(error instanceof LzfseError)) throw error
    return {
      problem: `its LZFSE data ${error.problem}`,
      fileOffset: block.fileOffset + error.offset
    }
  }
}

function zlib(input: Uint8Array, output: Uint8Array, block: Block): BlockProblem | undefined {
  let inflated: Buffer
  try {
    // One byte more than declared is enough to tell "more" from "exactly".
    inflated = inflateSync(input, { maxOutputLength: output.length + 1 })
  } catch (error) {
    const code = (error as { code?: string }).code
    return {
      problem:
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `decodes to more than its declared ${output.length} bytes`
          : `is not valid zlib data (${(error as Error).message})`,
      fileOffset: block.fileOffset
    }
  }
  if (inflated.length !== output.length)
    return {
      problem: `decodes to ${inflated.length > output.length ? 'more than' : `only ${inflated.length} of`} its declared ${output.length} bytes`,
      fileOffset: block.fileOffset
    }
  output.set(inflated)
  return undefined
}
