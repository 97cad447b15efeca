// The job log. In a run of several asset packs the packs' pipelines run at once, so log groups
// would interleave: each line is prefixed with its pack's identifier instead, carried through
// the pipeline's async calls (AsyncLocalStorage), so every module logs the same way.
import { AsyncLocalStorage } from 'node:async_hooks'
import * as core from '@actions/core'

const currentPack = new AsyncLocalStorage<string>()

/** Runs one pack's pipeline; its lines are prefixed with `label` when there is one. */
export function forPack<T>(label: string | undefined, fn: () => Promise<T>): Promise<T> {
  return label ? currentPack.run(label, fn) : fn()
}

function prefixed(message: string): string {
  const label = currentPack.getStore()
  return label ? `[${label}] ${message}` : message
}

export function info(message: string): void {
  core.info(prefixed(message))
}

export function warning(message: string, properties?: core.AnnotationProperties): void {
  core.warning(prefixed(message), properties)
}

/** A log group, or inside one pack's pipeline of several, a heading line. */
export function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!currentPack.getStore()) return core.group(name, fn)
  info(`${name} …`)
  return fn()
}
