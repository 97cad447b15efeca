// The blocks of an archive, decoded one after another on this thread into one of two buffers,
// reused: a stored block is read into it, a compressed one read into the other and decoded. The
// read is synchronous, right before the walk hashes the bytes: they are still in this core's
// cache then (a read ahead on libuv's threads hands them over from another core, and hashing
// them is then slower by more than the read costs).
//
// Why not worker threads: a worker is a whole Node.js environment, about 20 MB on Node 24, and
// about 17 MB of it stay resident after it ends (measured), which breaks the run's memory bound.
import { readSync } from 'node:fs'
import { inflateSync } from 'node:zlib'
import type { Block } from './container.js'
import { decodeLzfse, LzfseError } from './lzfse.js'

/** A block that does not decode: what is wrong, and the file offset where it was found. */
export class BlockDamage extends Error {
  constructor(
    readonly block: Block,
    readonly problem: string,
    readonly fileOffset: number
  ) {
    super(problem)
  }
}

/** Reads the blocks of the archive open as `fd` (the caller's, which it closes). */
export class BlockReader {
  /** A compressed block's payload. */
  private readonly payload: Uint8Array
  /** A block's bytes as the walk gets them. */
  private readonly decoded: Uint8Array

  constructor(
    private readonly fd: number,
    blocks: Block[]
  ) {
    let largestPayload = 0
    let largestRaw = 0
    for (const b of blocks) {
      if (b.codec !== 'stored') largestPayload = Math.max(largestPayload, b.storedSize)
      largestRaw = Math.max(largestRaw, b.rawSize)
    }
    this.payload = new Uint8Array(largestPayload)
    this.decoded = new Uint8Array(largestRaw)
  }

  /**
   * `block`'s decoded bytes, valid until the next call (the buffer is then read into again); a
   * BlockDamage when it does not decode to exactly its declared size.
   */
  read(block: Block): Uint8Array {
    const output = this.decoded.subarray(0, block.rawSize)
    if (block.codec === 'stored') {
      this.readFully(output, block.fileOffset)
      return output
    }
    const payload = this.payload.subarray(0, block.storedSize)
    this.readFully(payload, block.fileOffset)
    if (block.codec === 'lzfse') lzfse(payload, output, block)
    else zlib(payload, output, block)
    return output
  }

  private readFully(into: Uint8Array, position: number): void {
    for (let done = 0; done < into.length;) {
      const read = readSync(this.fd, into, done, into.length - done, position + done)
      if (!read) throw new Error(`the file ended at byte ${position + done} while reading a block`)
      done += read
    }
  }
}

function lzfse(input: Uint8Array, output: Uint8Array, block: Block): void {
  try {
    decodeLzfse(input, output)
  } catch (error) {
    if (!(error instanceof LzfseError)) throw error
    throw new BlockDamage(block, `its LZFSE data ${error.problem}`, block.fileOffset + error.offset)
  }
}

function zlib(input: Uint8Array, output: Uint8Array, block: Block): void {
  let inflated: Buffer
  try {
    // One byte more than declared is enough to tell "more" from "exactly".
    inflated = inflateSync(input, { maxOutputLength: output.length + 1 })
  } catch (error) {
    const code = (error as { code?: string }).code
    throw new BlockDamage(
      block,
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `decodes to more than its declared ${output.length} bytes`
        : `is not valid zlib data (${(error as Error).message})`,
      block.fileOffset
    )
  }
  if (inflated.length !== output.length)
    throw new BlockDamage(
      block,
      `decodes to ${inflated.length > output.length ? 'more than' : `only ${inflated.length} of`} its declared ${output.length} bytes`,
      block.fileOffset
    )
  output.set(inflated)
}
