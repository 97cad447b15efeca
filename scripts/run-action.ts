// Runs dist/index.js exactly as the runner does: INPUT_* variables (hyphens kept), GITHUB_OUTPUT
// and GITHUB_STEP_SUMMARY files, a workspace as the working directory. Used by the demo, the
// end-to-end tests and the benchmark.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'

export const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url))

/**
 * The Node.js that runs the action: this one, or (testing hook) another, such as the Node 24 the
 * runner uses for `runs.using: node24` while the tests themselves run on Node 20.
 */
export const ACTION_NODE = process.env.ASSET_PACK_RELEASE_ACTION_NODE || process.execPath

export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** Peak resident memory of the action process, in bytes (Linux only). */
  peakRssBytes?: number
  durationMs: number
}

/** The inputs of a release against the simulator, with its app and key; `extra` overrides or adds. */
export function simulatorInputs(
  sim: {
    appId: string
    baseUrl: string
    key: { keyId: string; issuerId?: string; privateKeyPem: string }
  },
  pack: { identifier: string; archivePath: string; manifestPath?: string },
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    'app-id': sim.appId,
    'asset-pack-identifier': pack.identifier,
    'archive-path': pack.archivePath,
    ...(pack.manifestPath ? { 'manifest-path': pack.manifestPath } : {}),
    'key-id': sim.key.keyId,
    'issuer-id': sim.key.issuerId ?? '',
    'private-key': sim.key.privateKeyPem,
    'create-asset-pack': 'true',
    'api-base-url': sim.baseUrl,
    ...extra
  }
}

/** A pack on disk as an entry of the `packs` input. */
export function packEntry(pack: {
  identifier: string
  archivePath: string
  manifestPath?: string
}): Record<string, string> {
  return {
    'asset-pack-identifier': pack.identifier,
    'archive-path': pack.archivePath,
    ...(pack.manifestPath ? { 'manifest-path': pack.manifestPath } : {})
  }
}

/** Inputs with `packs` (YAML, or the text given) instead of the single-pack inputs. */
export function withPacks(
  inputs: Record<string, string>,
  entries: Record<string, string>[] | string
): Record<string, string> {
  const {
    'asset-pack-identifier': _identifier,
    'archive-path': _archive,
    'manifest-path': _manifest,
    ...shared
  } = inputs
  return { ...shared, packs: typeof entries === 'string' ? entries : stringify(entries) }
}

/** Parses the `name<<delimiter … delimiter` records that @actions/core appends to GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    outputs[m[1]] = value.join('\n')
  }
  return outputs
}

/**
 * Follows a process's peak resident memory: the kernel's high-water mark in /proc (Linux). Not the
 * child's own getrusage maxRSS, which on Linux starts from the parent's RSS at spawn (the value
 * survives vfork + exec), so a parent hosting the simulator would inflate it.
 */
function followPeakRss(pid: number | undefined): () => number | undefined {
  let peak: number | undefined
  const read = () => {
    try {
      const kB = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
      if (kB) peak = Number(kB) * 1024
    } catch {
      // Exited, or no /proc here.
    }
  }
  read()
  const timer = setInterval(read, 20)
  return () => {
    clearInterval(timer)
    return peak
  }
}

export async function runAction(
  inputs: Record<string, string>,
  options: {
    env?: Record<string, string>
    cwd?: string
    timeoutMs?: number
    nodeArgs?: string[]
    /** The Node.js binary that runs the action (default ACTION_NODE). */
    node?: string
    /** Sees the running process (to signal it, as the runner does on cancel). */
    onStart?: (child: ChildProcess) => void
  } = {}
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'action-run-'))
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  await writeFile(outputFile, '')
  await writeFile(summaryFile, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: dir,
    ...options.env
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value
  const started = Date.now()
  const child = spawn(options.node ?? ACTION_NODE, [...(options.nodeArgs ?? []), DIST], {
    cwd: options.cwd ?? dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  options.onStart?.(child)
  const peakRss = followPeakRss(child.pid)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  const exitCode = await new Promise<number>((resolve) =>
    child.on('close', (code) => resolve(code ?? -1))
  )
  clearTimeout(timer)
  const run: ActionRun = {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(await readFile(outputFile, 'utf8')),
    summary: await readFile(summaryFile, 'utf8'),
    peakRssBytes: peakRss(),
    durationMs: Date.now() - started
  }
  await rm(dir, { recursive: true, force: true })
  return run
}
