// What every part of the simulated API works with: the records, the options, chance, documents,
// the clock. Its own file, above the store and the JSON:API helpers, which both use.
import type { JsonApi } from './jsonapi.js'
import type { SimulatorOptions } from './options.js'
import type { Random } from './random.js'
import type { Store } from './store.js'

export interface SimulatorContext {
  store: Store
  options: SimulatorOptions
  random: Random
  api: JsonApi
  now: () => number
  /** This server's origin, for the URLs it hands out. */
  baseUrl: () => string
}
