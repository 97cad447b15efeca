// What every input check shares: an input's value (or action.yml's default), the list of
// problems that names each input, and the file an input points at.
import { stat } from 'node:fs/promises'
import * as core from '@actions/core'
import { DEFAULTS } from './constants.js'

export function input(name: string): string {
  return core.getInput(name) || (DEFAULTS as Record<string, string>)[name] || ''
}

export class Problems {
  readonly list: string[] = []
  /** `name` is an input, or a field of one `packs` entry such as packs[2].archive-path. */
  add(name: string, sentence: string): void {
    this.list.push(`${name}: ${sentence}`)
  }
}

/** The size of the file at `path`, or undefined after adding why it cannot be used. */
export async function readFileInput(
  name: string,
  path: string,
  problems: Problems
): Promise<number | undefined> {
  try {
    const info = await stat(path)
    if (!info.isFile()) problems.add(name, `'${path}' is not a file.`)
    else if (info.size === 0) problems.add(name, `'${path}' is empty.`)
    else return info.size
  } catch {
    problems.add(name, `no file at '${path}' (relative paths start at ${process.cwd()}).`)
  }
  return undefined
}
