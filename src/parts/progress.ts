// Upload progress in the log: percent, MiB/s and ETA at most every few seconds.
import * as log from '../log.js'
import { formatSize } from '../format.js'
import type { PartReader } from './part-reader.js'

/** Log upload progress at most this often. */
const PROGRESS_INTERVAL_MS = 5000

/**
 * Logs percent, MiB/s and ETA every PROGRESS_INTERVAL_MS while an upload runs. It samples the
 * read streams' byte counts rather than touching every chunk, so it costs nothing per byte.
 */
export class Progress {
  private finished = 0
  private readonly active = new Set<PartReader>()
  private readonly started = Date.now()
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly label: string,
    private readonly total: number
  ) {
    this.timer = setInterval(() => this.log(), PROGRESS_INTERVAL_MS).unref()
  }

  track(stream: PartReader): void {
    this.active.add(stream)
  }

  /** A part's stream is done: its bytes count once the part succeeded, not when it failed. */
  untrack(stream: PartReader, succeeded: boolean): void {
    this.active.delete(stream)
    if (succeeded) this.finished += stream.bytesRead
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private log(): void {
    let sent = this.finished
    for (const stream of this.active) sent += stream.bytesRead
    const rate = sent / ((Date.now() - this.started) / 1000)
    const eta = rate > 0 ? Math.ceil((this.total - sent) / rate) : '?'
    log.info(
      `${this.label}: ${formatSize(sent)} of ${formatSize(this.total)} (${Math.floor((sent / this.total) * 100)}%), ${formatSize(rate)}/s, about ${eta} s left`
    )
  }
}
