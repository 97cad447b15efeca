// The run's asset packs, read and checked before any request: the single-pack inputs, or the
// `packs` list (YAML, so JSON too) of the same four keys. Each problem names its entry's field
// (packs[2].archive-path); archives are identified and manifests checked here, from disk.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseDocument } from 'yaml'
import { readArchive as readWholeArchive, type ArchiveReading } from './archive/index.js'
import type { Platform } from './asc/client.js'
import { Inputs, PACKS_OUTPUT_KEYS } from './constants.js'
import { formatCount, formatSize } from './format.js'
import { input, readFileInput, type Problems } from './input-reading.js'
import {
  checkManifest,
  firstDifference,
  MANIFEST_PLATFORM_NAMES,
  type CheckedManifest
} from './manifest.js'

export interface ArchiveFile {
  path: string
  fileName: string
  size: number
  /** What the file is, for the log, such as `Apple Archive (AA01)`. */
  kind: string
  /** Hex SHA-256 of the content (what an app reads); undefined when it could not be decoded. */
  contentId?: string
  /** Entries read (0 when the contents could not be decoded). */
  entries: number
  /** What the Manifest.json inside the archive declares, when it has one. */
  inside?: CheckedManifest
  /** Said once in the log and the summary: the contents not decoded, no manifest inside. */
  notes: string[]
  warnings: string[]
}

export interface ManifestFile extends CheckedManifest {
  path: string
  fileName: string
}

/** One asset pack of the run: an archive to upload, or an existing version to hand over. */
export interface PackEntry {
  /** The asset pack ID: the manifest's assetPackID and App Store Connect's assetPackIdentifier. */
  assetPackIdentifier: string
  /** The archive to upload; exactly one of this and `versionId` is set. */
  archive?: ArchiveFile
  /** The Manifest.json the archive was built from, when given: checked, then sent as the preflight. */
  manifest?: ManifestFile
  /** An existing version of the pack to wait for and hand over, instead of an upload. */
  versionId?: string
}

const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/

/** An entry's fields as its errors name them: the input itself, or `packs[i].<key>`. */
type FieldName = (key: EntryKey) => string
type EntryKey =
  Inputs.AssetPackIdentifier | Inputs.ArchivePath | Inputs.ManifestPath | Inputs.VersionId
const ENTRY_KEYS: EntryKey[] = [
  Inputs.AssetPackIdentifier,
  Inputs.ArchivePath,
  Inputs.ManifestPath,
  Inputs.VersionId
]
/** Keys of the `packs` output an entry may carry, ignored, so an earlier job's output can be given
 * as it is. */
const OUTPUT_ONLY_KEYS: string[] = PACKS_OUTPUT_KEYS.filter(
  (key) => !ENTRY_KEYS.includes(key as EntryKey)
)
/** The characters of a content identity shown in the log and the summary. */
export const CONTENT_ID_SHOWN = 12
/** Apple's limit of asset packs per app. */
const MAX_ENTRIES = 100

/** How errors name an entry's field: the single-pack input, or `packs[i].<key>` (from 1). */
export function entryField(run: { fromPacksInput: boolean }, index: number, key: Inputs): string {
  return run.fromPacksInput ? `${Inputs.Packs}[${index + 1}].${key}` : key
}

/** An entry's raw text fields, before they are checked. */
type RawEntry = Partial<Record<EntryKey, string>>

/** Exactly one of archive-path (an upload) and version-id (an existing version). */
function readTarget(raw: RawEntry, field: FieldName, problems: Problems): void {
  const { [Inputs.ArchivePath]: archivePath, [Inputs.VersionId]: versionId } = raw
  if (!archivePath && !versionId)
    problems.add(
      field(Inputs.ArchivePath),
      `or ${field(Inputs.VersionId)} is required: archive-path is the .aar built by ba-package to upload; version-id an existing version of the pack to hand over.`
    )
  else if (archivePath && versionId)
    problems.add(
      field(Inputs.ArchivePath),
      `and ${field(Inputs.VersionId)} are both set; give one: archive-path uploads a new archive, version-id hands over an existing version.`
    )
  else if (versionId && !/^[A-Za-z0-9-]+$/.test(versionId))
    problems.add(
      field(Inputs.VersionId),
      `expected the version's resource ID (letters, digits and hyphens, as the version-id output gives it), got '${versionId}'.`
    )
  else if (versionId && raw[Inputs.ManifestPath])
    problems.add(
      field(Inputs.ManifestPath),
      'goes with archive-path: a manifest is checked before its archive is uploaded, and version-id uploads nothing.'
    )
}

/** One archive read at a time: each read keeps every core busy already. */
let reading: Promise<unknown> = Promise.resolve()

function readInTurn(path: string, size: number): Promise<ArchiveReading | { problem: string }> {
  const read = reading.then(() => readWholeArchive(path, size))
  reading = read.catch(() => undefined)
  return read
}

/** The archive, read whole: its blocks, its entries, its content identity, the manifest inside. */
async function readArchive(
  path: string,
  name: string,
  identifier: string,
  problems: Problems
): Promise<ArchiveFile | undefined> {
  const size = await readFileInput(name, path, problems)
  if (size === undefined) return undefined
  const read = await readInTurn(path, size)
  if ('problem' in read) return void problems.add(name, `'${path}' ${read.problem}`)
  const archive: ArchiveFile = {
    path,
    fileName: basename(path),
    size,
    kind: read.kind,
    contentId: read.contentId,
    entries: read.entries,
    notes: [],
    warnings: []
  }
  if (read.unread) archive.notes.push(`${archive.fileName}: ${read.unread}.`)
  else if (!read.manifest)
    archive.warnings.push(
      `${name}: '${path}' has no Manifest.json at its root (ba-package writes one): Apple's processing will likely refuse it. The checks of the manifest inside were skipped.`
    )
  else
    archive.inside = checkInside(
      read.manifest.path,
      read.manifest.value,
      name,
      path,
      identifier,
      problems
    )
  return archive
}

/** The Manifest.json inside the archive, checked as the input manifest is. */
function checkInside(
  inside: string,
  value: unknown,
  name: string,
  path: string,
  identifier: string,
  problems: Problems
): CheckedManifest | undefined {
  const id = (value as Record<string, unknown> | null)?.assetPackID
  if (typeof id === 'string' && id && identifier && id !== identifier) {
    problems.add(
      name,
      `'${path}' was built for another asset pack: its ${inside} has "assetPackID": "${id}", but asset-pack-identifier is "${identifier}".`
    )
    return undefined
  }
  const checked = checkManifest(JSON.stringify(value), identifier)
  if ('problems' in checked) {
    for (const p of checked.problems) problems.add(name, `'${path}' holds a ${inside} that ${p}`)
    return undefined
  }
  return checked.manifest
}

/** The archive and the manifest-path must agree on what Apple acts on. */
function compareManifests(
  archive: ArchiveFile,
  manifest: ManifestFile,
  field: FieldName,
  problems: Problems
): void {
  const key = archive.inside && firstDifference(archive.inside.value, manifest.value)
  if (!key) return
  const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v))
  problems.add(
    field(Inputs.ArchivePath),
    `'${archive.path}' was built from another manifest than ${field(Inputs.ManifestPath)} '${manifest.path}': they differ first in "${key}" (${show(archive.inside!.value[key])} inside the archive, ${show(manifest.value[key])} in ${manifest.fileName}).`
  )
}

async function readManifest(
  path: string,
  name: string,
  identifier: string,
  problems: Problems
): Promise<ManifestFile | undefined> {
  if ((await readFileInput(name, path, problems)) === undefined) return undefined
  const checked = checkManifest(await readFile(path, 'utf8'), identifier)
  if ('problems' in checked) {
    for (const p of checked.problems) problems.add(name, `'${path}' ${p}`)
    return undefined
  }
  return { ...checked.manifest, path, fileName: basename(path) }
}

function readIdentifier(identifier: string | undefined, name: string, problems: Problems): void {
  if (!identifier)
    problems.add(name, "is required: the asset pack ID (the manifest's assetPackID).")
  else if (!IDENTIFIER.test(identifier))
    problems.add(
      name,
      `'${identifier}' may only contain letters, digits and hyphens, and may not start or end with a hyphen (App Store Connect refuses dots and underscores).`
    )
}

/** One entry: its identifier, then its archive and manifest read from disk, or its version-id. */
async function readEntry(raw: RawEntry, field: FieldName, problems: Problems): Promise<PackEntry> {
  const assetPackIdentifier = raw[Inputs.AssetPackIdentifier] ?? ''
  readIdentifier(assetPackIdentifier, field(Inputs.AssetPackIdentifier), problems)
  readTarget(raw, field, problems)
  const archivePath = raw[Inputs.ArchivePath]
  const manifestPath = raw[Inputs.ManifestPath]
  const upload = archivePath && !raw[Inputs.VersionId]
  const manifest =
    upload && manifestPath
      ? await readManifest(manifestPath, field(Inputs.ManifestPath), assetPackIdentifier, problems)
      : undefined
  const archive = upload
    ? await readArchive(archivePath, field(Inputs.ArchivePath), assetPackIdentifier, problems)
    : undefined
  if (archive && manifest) compareManifests(archive, manifest, field, problems)
  return {
    assetPackIdentifier,
    archive,
    manifest,
    versionId: upload ? undefined : raw[Inputs.VersionId] || undefined
  }
}

const describeValue = (value: unknown) =>
  Array.isArray(value) ? 'a list' : value === null ? 'nothing' : `a ${typeof value}`

/**
 * The `packs` input: a YAML list (JSON is YAML too) of mappings with the entry keys. Returns the
 * raw entries, or undefined after adding why the text is not such a list.
 */
function parsePacks(text: string, problems: Problems): RawEntry[] | undefined {
  const document = parseDocument(text, { uniqueKeys: true })
  if (document.errors.length) {
    // The first line of yaml's message names the problem and where ("… at line 2, column 19").
    for (const error of document.errors)
      problems.add(
        Inputs.Packs,
        `is not valid YAML: ${error.message.split('\n')[0].replace(/:$/, '')}.`
      )
    return undefined
  }
  const value: unknown = document.toJS()
  if (!Array.isArray(value) || !value.length) {
    problems.add(
      Inputs.Packs,
      `expected a YAML list of asset packs (each with asset-pack-identifier and archive-path or version-id), got ${Array.isArray(value) ? 'an empty list' : describeValue(value)}.`
    )
    return undefined
  }
  return value.map((item: unknown, i) => {
    const at = `${Inputs.Packs}[${i + 1}]`
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      problems.add(
        at,
        `expected a mapping with the keys ${ENTRY_KEYS.join(', ')}, got ${describeValue(item)}.`
      )
      return {}
    }
    const raw: RawEntry = {}
    for (const [key, v] of Object.entries(item as Record<string, unknown>)) {
      if (ENTRY_KEYS.includes(key as EntryKey)) {
        if (typeof v === 'string' || typeof v === 'number') {
          if (String(v).trim()) raw[key as EntryKey] = String(v).trim()
        } else if (v !== null)
          problems.add(`${at}.${key}`, `expected text, got ${describeValue(v)}.`)
      } else if (!OUTPUT_ONLY_KEYS.includes(key)) {
        problems.add(at, `unknown key '${key}'; expected ${ENTRY_KEYS.join(', ')}.`)
      }
    }
    return raw
  })
}

/** The entries: the `packs` list, or the single-entry inputs; never both. */
export async function readEntries(
  problems: Problems
): Promise<{ entries: PackEntry[]; fromPacksInput: boolean }> {
  const packsText = input(Inputs.Packs).trim()
  if (!packsText) {
    const raw: RawEntry = {}
    for (const key of ENTRY_KEYS) if (input(key)) raw[key] = input(key)
    return { entries: [await readEntry(raw, (key) => key, problems)], fromPacksInput: false }
  }
  const mixed = ENTRY_KEYS.filter((key) => input(key))
  for (const key of mixed)
    problems.add(
      key,
      `must be empty when packs is set: give it in each entry of packs (packs[1].${key}), or use the single-pack inputs without packs.`
    )
  const raws = parsePacks(packsText, problems) ?? []
  if (raws.length > MAX_ENTRIES)
    problems.add(
      Inputs.Packs,
      `lists ${raws.length} asset packs; Apple allows at most ${MAX_ENTRIES} per app.`
    )
  const entries = await Promise.all(
    raws.map((raw, i) =>
      readEntry(raw, (key) => entryField({ fromPacksInput: true }, i, key), problems)
    )
  )
  entries.forEach((entry, i) => {
    const first = entries.findIndex((e) => e.assetPackIdentifier === entry.assetPackIdentifier)
    if (entry.assetPackIdentifier && first < i)
      problems.add(
        `${Inputs.Packs}[${i + 1}].${Inputs.AssetPackIdentifier}`,
        `'${entry.assetPackIdentifier}' is also packs[${first + 1}]; each asset pack appears once (a run releases one version per pack).`
      )
  })
  return { entries, fromPacksInput: true }
}

export function describeEntry(entry: PackEntry): string {
  const { archive, manifest } = entry
  const what = archive
    ? `${archive.fileName}: ${formatSize(archive.size)} ${archive.kind}${archive.contentId ? `, ${formatCount(archive.entries)} entries read whole, content ${archive.contentId.slice(0, CONTENT_ID_SHOWN)}` : ''}`
    : `version ${entry.versionId} of ${entry.assetPackIdentifier}`
  return `${what}${manifest ? `; ${manifest.fileName} for ${manifest.platforms.join(', ')}` : ''}`
}

/** What the entry's manifest declares: manifest-path's, or the one inside the archive. */
export function declaredManifest(entry: PackEntry): CheckedManifest | undefined {
  return entry.manifest ?? entry.archive?.inside
}

/** An entry's platforms, as its manifest declares them (none known without a manifest). */
export function declaredPlatforms(entry: PackEntry): Platform[] | undefined {
  const names = Object.keys(MANIFEST_PLATFORM_NAMES) as Platform[]
  return declaredManifest(entry)
    ?.platforms.map((name) => names.find((p) => MANIFEST_PLATFORM_NAMES[p] === name))
    .filter((p): p is Platform => !!p)
}
