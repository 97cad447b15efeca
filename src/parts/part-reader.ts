// The bytes of one part, read from disk into a small ring of buffers that each upload worker
// reuses. Fresh buffers per read (what fs.createReadStream does) leave tens of MB of sent chunks
// waiting for V8's garbage collector during a long upload; a ring keeps memory flat.
//
// Why reuse is safe: undici writes each chunk to the socket and pauses the body as soon as the
// socket holds more than its high-water mark (16 KiB), so at most a chunk or two of a part is
// ever queued unsent. A slot comes round again 8 chunks (512 KiB) later, long after its bytes
// left the process. Were that ever to change, the commit's checksum of the whole file would
// refuse the upload rather than let wrong bytes through.
import { open, type FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'

const CHUNK = 64 * 1024
const RING_SLOTS = 8

/** The buffers one worker reads its parts into, one part after another. */
export class BufferRing {
  private readonly slots = Array.from({ length: RING_SLOTS }, () => Buffer.allocUnsafeSlow(CHUNK))
  private next = 0

  take(): Buffer {
    const slot = this.slots[this.next]
    this.next = (this.next + 1) % RING_SLOTS
    return slot
  }
}

export class PartReader extends Readable {
  /** Bytes read from disk so far (the socket takes them as fast as it can send). */
  bytesRead = 0
  private file?: FileHandle

  constructor(
    /** A file's path, or the bytes themselves (a small file built in memory). */
    private readonly source: string | Buffer,
    private readonly offset: number,
    private readonly length: number,
    private readonly ring: BufferRing
  ) {
    super({ highWaterMark: CHUNK })
  }

  override _read(): void {
    void this.readChunk()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const closing = this.file?.close() ?? Promise.resolve()
    this.file = undefined
    closing.then(
      () => callback(error),
      () => callback(error)
    )
  }

  private async readChunk(): Promise<void> {
    try {
      const wanted = Math.min(CHUNK, this.length - this.bytesRead)
      if (wanted === 0) {
        this.push(null)
        return
      }
      const at = this.offset + this.bytesRead
      if (Buffer.isBuffer(this.source)) {
        this.bytesRead += wanted
        this.push(this.source.subarray(at, at + wanted))
        return
      }
      this.file ??= await open(this.source, 'r')
      const buffer = this.ring.take()
      const { bytesRead } = await this.file.read(buffer, 0, wanted, at)
      if (bytesRead === 0)
        throw new Error(
          `the archive ended at byte ${this.offset + this.bytesRead}: did it change during the upload?`
        )
      this.bytesRead += bytesRead
      this.push(buffer.subarray(0, bytesRead))
    } catch (error) {
      this.destroy(error as Error)
    }
  }
}
