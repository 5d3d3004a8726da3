/**
 * Re-measures shipped translation models with the current judge of their dataset, for when a judge
 * was retrained (a stronger judge can call the same outputs very differently). For each id it runs
 * `eval translation` on the shipped ONNX file and rewrites:
 *   - the manifest entry's metrics, note and the "X% called ..." part of its description;
 *   - the card's "Measured quality" section (saying when and by which judge it was re-scored), its
 *     status lines against the targets and its grid of 8 test translations.
 * The card's learning curve keeps the numbers of the session that trained the model: those were
 * scored by the judge of that time, which the re-scored section says.
 *
 *   npx tsx training/tasks/cyclegan/rescore.ts --ids cyclegan-photo2monet,cyclegan-monet2photo [--backend native]
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { parseManifest, type ModelEntryInput } from '../../../lib/contract/manifest';
import { upsertManifestEntries } from '../../io/manifest';
import { writeFileAtomic } from '../../io/atomic';
import { MANIFEST, runTranslationEval } from '../../eval/translation/command';
import { pct } from '../../eval/translation/metrics';
import { manifestMetrics, measuredQualitySection, replaceMeasured } from './card';

export interface RescoreOptions {
  ids: string[];
  manifest?: string;
  /** Folder holding the cards and grids (docs/models). */
  cards?: string;
  /** Dataset root per entry (default: ../shared/datasets/cyclegan/<dataset>). */
  data?: (entry: ModelEntryInput) => string | undefined;
  judgeDir?: string;
  /** At most this many test images (tests); default all. */
  limit?: number;
  backend?: string;
  out?: string;
  log?: (l: string) => void;
}

/** The domain names a card made by ship.ts uses ("called "zebra" by the judge", "called "horse" / "other""). */
export function cardDomainNames(card: string): { from: string; to: string } {
  const to = /^\| called "([^"]+)" by the judge \|/m.exec(card)?.[1];
  const from = /^\| called "([^"]+)" \/ "other" \|/m.exec(card)?.[1];
  if (!to || !from) throw new Error('the card has no measured-quality table made by ship.ts (rows \'called "X" by the judge\' and \'called "Y" / "other"\')');
  return { from, to };
}

export async function rescore(o: RescoreOptions): Promise<ModelEntryInput[]> {
  const log = o.log ?? ((l: string) => console.log(l));
  const manifestPath = o.manifest ?? MANIFEST;
  const cards = o.cards ?? path.join('docs', 'models');
  const manifest = parseManifest(JSON.parse(await fs.readFile(manifestPath, 'utf8')));
  const updated: ModelEntryInput[] = [];
  const date = new Date().toISOString().slice(0, 10);
  for (const id of o.ids) {
    const entry = manifest.models.find((m) => m.id === id) as ModelEntryInput | undefined;
    if (!entry) throw new Error(`no model "${id}" in ${manifestPath}`);
    if (entry.task !== 'translation') throw new Error(`${id} is a ${entry.task} model, not a translation model`);
    const cardFile = path.join(cards, `${id}.md`);
    const card = await fs.readFile(cardFile, 'utf8');
    const { from, to } = cardDomainNames(card);
    const q = entry.quality?.[0];
    const old = q?.metrics ?? {};
    // A model picked by a learning curve on the first n test images reports the others apart: keep that split.
    const scored = Number(/(\d+) test images/.exec(q?.note ?? '')?.[1]);
    const unseenFrom = typeof old.unseenImages === 'number' && Number.isFinite(scored) ? scored - old.unseenImages : undefined;
    const report = await runTranslationEval({
      model: id,
      manifest: manifestPath,
      range: '-1,1',
      data: o.data?.(entry),
      judgeDir: o.judgeDir,
      limit: o.limit,
      backend: o.backend ?? 'wasm',
      out: o.out ?? path.join('runs', 'eval', 'rescore'),
      unseenFrom,
      log,
    });
    const m = report.metrics;
    const h = report.judge;
    const judgeLine = `held-out recall A ${pct(h.A)}, B ${pct(h.B)}, other ${pct(h.other)}, balanced ${pct(h.balanced)}`;
    const before = typeof old.classifierTargetShare === 'number' ? ` (it had ${pct(old.classifierTargetShare)} called "${to}" before)` : '';
    const rescored = `Re-scored on ${date} by the judge retrained then (${judgeLine})${before}. The learning curve below was scored by the judge of its own session: compare its steps with each other, not with this table.`;
    const section = measuredQualitySection({
      id,
      m,
      from,
      to,
      direction: report.direction,
      reference: { realTarget: report.reference.realTargetCalledTarget, inputsCalledTarget: report.reference.inputsCalledTarget, inputsKid: report.reference.inputsKid },
      judge: { heldOut: h },
      rescored,
    });
    await writeFileAtomic(cardFile, replaceMeasured(card, section, m, to));
    if (report.grid) await fs.copyFile(report.grid, path.join(cards, `${id}.png`));
    const share = /[\d.]+% called (\S+) by the 256 px judge/;
    const description = (entry.description ?? '').replace(share, `${pct(m.calledTarget)} called $1 by the 256 px judge`);
    if (!share.test(entry.description ?? '')) log(`${id}: its description names no "X% called ... by the 256 px judge": left as it is`);
    const next: ModelEntryInput = {
      ...entry,
      ...(entry.description === undefined ? {} : { description }),
      quality: [
        {
          dataset: q?.dataset ?? `${report.dataset}/test${report.direction === 'AtoB' ? 'A' : 'B'}`,
          metrics: manifestMetrics(m),
          note: `at 256x256; ${m.images} test images; 3-class judge (A / B / other), held-out balanced accuracy ${pct(h.balanced)}, re-scored ${date}; onnxruntime-node CPU`,
        },
        ...(entry.quality?.slice(1) ?? []),
      ],
    };
    updated.push(next);
    log(`${id}: called "${to}" ${before ? `${pct(old.classifierTargetShare as number)} -> ` : ''}${pct(m.calledTarget)}; card ${cardFile} and grid rewritten`);
  }
  await upsertManifestEntries(updated, manifestPath);
  log(`manifest: rewrote ${updated.map((e) => e.id).join(', ')}`);
  return updated;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const o = new Command()
    .requiredOption('--ids <list>', 'comma-separated ids of shipped translation models')
    .option('--backend <name>', 'tfjs backend for the judge', 'wasm')
    .parse(process.argv)
    .opts();
  rescore({ ids: (o.ids as string).split(',').map((s) => s.trim()).filter(Boolean), backend: o.backend }).catch((err) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
