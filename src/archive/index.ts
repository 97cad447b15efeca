// The archive wing: the one interface the rest of the action uses. `readArchive` reads an archive
// whole (container, blocks, entries, the Manifest.json inside, the content identity); the
// checksums are the commit's, computed while the parts upload.
export { readArchive, type ArchiveReading, type EmbeddedManifest } from './read.js'
export { ArchiveChecksums, hashFile, type Digests, type PartBoundary } from './checksums.js'
