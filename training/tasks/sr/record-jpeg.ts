/**
 * Measures shipped SR models on JPEG input and records the numbers in their manifest entries
 * (`psnrYJpeg60` / `ssimYJpeg60` next to the clean `psnrY` / `ssimY`; see SR_METRIC_KEYS in the
 * contract). ship.ts does this for a newly shipped model; this updates models shipped before.
 * Only the `quality` field of the named entries changes (the manifest is re-read before writing).
 *
 *   npx tsx training/tasks/sr/record-jpeg.ts [--ids sr-quality-x2,sr-realtime-x4] [--sets Set5,Set14,BSD100]
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { Command } from 'commander';
import { parseManifest, type ModelEntryInput } from '../../../lib/contract/manifest';
import { upsertManifestEntries } from '../../io/manifest';
import { repoRoot } from '../../eval/sr/evaluate';
import { onnxRunner } from '../../eval/sr/runners';
import { measureJpeg60, withJpeg60 } from './ship';

const MANIFEST = path.join(repoRoot, 'public/models/manifest.json');

export async function recordJpeg60(ids: string[] | 'all', sets: string[], log: (s: string) => void = console.log, manifestPath = MANIFEST): Promise<void> {
  const manifest = parseManifest(JSON.parse(await fs.readFile(manifestPath, 'utf8')));
  const entries = manifest.models.filter((m) => m.task === 'super-resolution' && (ids === 'all' || ids.includes(m.id)));
  if (ids !== 'all') for (const id of ids) if (!entries.some((e) => e.id === id)) throw new Error(`no super-resolution model "${id}" in ${manifestPath}`);
  for (const e of entries) {
    const runner = await onnxRunner(path.join(path.dirname(manifestPath), e.file), {
      name: e.id,
      scale: e.scale,
      inputName: e.input.name,
      outputName: e.output.name,
      inputRange: e.input.range,
      outputRange: e.output.range,
    });
    const jpeg = await measureJpeg60(runner, sets, e.scale, log);
    await runner.dispose?.();
    // Re-read: another ship may have written meanwhile; change only this entry's quality.
    const raw = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as { models: ModelEntryInput[] };
    const current = raw.models.find((m) => m.id === e.id);
    if (!current) continue;
    await upsertManifestEntries([{ ...current, quality: withJpeg60(current.quality ?? [], jpeg) }], manifestPath);
    log(`${e.id}: JPEG-60 numbers recorded`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const a = new Command('record-jpeg')
    .option('--ids <list>', 'manifest ids (default: every super-resolution model)')
    .option('--sets <list>', 'benchmark sets', 'Set5,Set14,BSD100')
    .parse(process.argv)
    .opts();
  recordJpeg60(a.ids ? (a.ids as string).split(',') : 'all', (a.sets as string).split(',')).catch((e: unknown) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
