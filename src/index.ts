// Entry point of the bundle (dist/index.js).
import { run } from './main.js'

await run()
// A cache request still retrying in the background (the ledger gave up waiting for it) must not
// hold the job open; the exit code is the one run() set.
process.exit()
