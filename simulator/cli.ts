// `npm run simulator [-- --port N] [--wide-area]`: serves the simulator on 127.0.0.1 and prints one
// JSON line with what the action needs. Logs go to stderr; SIGINT/SIGTERM stop it and remove the key.
// Apple's review verdicts come from another terminal, e.g.
// `curl -X POST <baseUrl>/simulator/review-submissions/<id>/approve` (or /reject, /start-review).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, WIDE_AREA, type SimulatorOverrides } from './index.js'

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const port = Number(option('port') ?? process.env.PORT ?? 0)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(
    `simulator: --port must be a port number (0 for any free port), not '${option('port') ?? process.env.PORT}'\n`
  )
  process.exit(2)
}
const overrides: SimulatorOverrides = process.argv.includes('--wide-area') ? WIDE_AREA : {}
const sim = await startSimulator({ ...overrides, port })
const keyDir = mkdtempSync(join(tmpdir(), 'asc-simulator-key-'))
const privateKeyPath = join(keyDir, `AuthKey_${sim.key.keyId}.p8`)
writeFileSync(privateKeyPath, sim.key.privateKeyPem, { mode: 0o600 })

process.stdout.write(
  `${JSON.stringify({ baseUrl: sim.baseUrl, appId: sim.appId, keyId: sim.key.keyId, issuerId: sim.key.issuerId, privateKeyPath })}\n`
)
process.stderr.write(
  `simulator: App Store Connect simulator listening on ${sim.baseUrl} (app ${sim.appId})\n` +
    `simulator: review verdicts: curl -X POST ${sim.baseUrl}/simulator/review-submissions/<id>/approve (or /reject, /start-review)\n`
)

let stopping = false
async function stop(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  process.stderr.write(`simulator: ${signal}, stopping (${sim.requests.length} requests served)\n`)
  rmSync(keyDir, { recursive: true, force: true })
  await sim.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
