// In-process tests run code that masks secrets with @actions/core, which writes `::add-mask::`
// commands to stdout. Capturing them keeps the values out of the test log and lets a test check
// exactly what was masked.
const PREFIX = '::add-mask::'

function unescape(value: string): string {
  return value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/** Registers hooks for the calling test file; `masked` holds this test's masked values. */
export function captureMasks(): { masked: string[] } {
  const capture = { masked: [] as string[] }
  const write = process.stdout.write.bind(process.stdout)
  beforeEach(() => {
    capture.masked = []
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = chunk.toString()
      if (!text.startsWith(PREFIX)) return write(chunk, ...rest)
      capture.masked.push(unescape(text.slice(PREFIX.length).trimEnd()))
      return true
    }) as typeof process.stdout.write
  })
  afterEach(() => {
    process.stdout.write = write
  })
  return capture
}
