// Entry point of the bundle (dist/index.js).
import { run } from './main.js'

await run()
