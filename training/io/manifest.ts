import { promises as fs } from 'node:fs';
import { parseManifest, parseModelEntry, type ModelEntryInput } from '../../lib/contract/manifest';
import { writeFileAtomic } from './atomic';

/**
 * Adds or replaces manifest entries by id, leaving every other entry as it is. The file is re-read
 * right before writing (several ship scripts may update it) and the result is validated against the
 * contract before the atomic write, so an invalid entry never reaches the file.
 */
export async function upsertManifestEntries(entries: ModelEntryInput[], manifestPath: string): Promise<void> {
  for (const e of entries) parseModelEntry(e);
  const raw = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as { version: 1; models: ModelEntryInput[] };
  parseManifest(raw);
  for (const entry of entries) {
    const i = raw.models.findIndex((m) => m.id === entry.id);
    if (i >= 0) raw.models[i] = entry;
    else raw.models.push(entry);
  }
  parseManifest(raw);
  await writeFileAtomic(manifestPath, `${JSON.stringify(raw, null, 2)}\n`);
}
