/**
 * How each shipped translation model fares on the photos people actually have: the held-out test
 * images (256x256) re-encoded as JPEG, with sensor-like noise, slightly out of focus, and combined,
 * scored exactly as at ship time (the dataset's 256 px judge: called target / other; edges against
 * the degraded input the model was given). A model whose "winter" turns into "other" on a JPEG is
 * not the model its card describes.
 *
 *   npx tsx training/tasks/cyclegan/robustness.ts                      # every translation model in the manifest
 *   npx tsx training/tasks/cyclegan/robustness.ts --models cut-photo2monet --limit 60 --out /tmp/r.md
 *
 * Writes a Markdown table (default docs/translation-robustness.md) and the numbers beside it (.json).
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { Command } from 'commander';
import { parseManifest, type ModelEntry } from '../../../lib/contract/manifest';
import { initBackend } from '../../backends';
import { parseFixedDegradations } from '../../data/degrade';
import { resizeRgb } from '../../data/unpaired';
import { classShares, judge } from '../../eval/translation/classifier';
import { writeFileAtomic } from '../../io/atomic';
import { resolveTranslator, type Translator } from '../../eval/cyclegan/translators';
import { DATASETS_ROOT, getJudge, judgeDir, MANIFEST } from '../../eval/translation/command';
import { degradeTestInput, evaluateTranslator, makeEvalContext, type Direction, type EvalContext } from '../../eval/translation/evaluate';
import { loadJudgeData } from '../../eval/translation/judge-data';
import { pct } from '../../eval/translation/metrics';

/** clean, JPEG harsh and usual, phone-like noise, slightly soft, soft and compressed */
export const DEFAULT_CONDITIONS = ['clean', 'jpeg:30', 'jpeg:60', 'noise:8', 'blur:1', 'blur:1+jpeg:60'];

export interface RobustnessCell {
  calledTarget: number;
  calledOther: number;
  edges: number;
  detail: number;
}

export interface TranslationRobustnessRow {
  /** a manifest id, or `real testB` for the judge on the real photos of a domain (no model) */
  id: string;
  dataset: string;
  images: number;
  /** per condition */
  results: Record<string, RobustnessCell>;
}

/** The conditions a card reports (docs/models/<id>.md, "On degraded photos"). */
export const CARD_CONDITIONS = ['clean', 'jpeg:60', 'noise:8', 'blur:1'];

const parseCondition = (c: string) => (c === 'clean' ? undefined : parseFixedDegradations(c));

/** One translator under every condition (the same degraded photos for every model: seeded per image). */
export async function translatorRow(ctx: EvalContext, t: Translator, direction: Direction, conditions: string[], o: { id: string; limit?: number; log?: (s: string) => void }): Promise<TranslationRobustnessRow> {
  const results: Record<string, RobustnessCell> = {};
  let images = 0;
  for (const condition of conditions) {
    const { metrics } = await evaluateTranslator(ctx, t, direction, { limit: o.limit, degrade: parseCondition(condition) });
    results[condition] = { calledTarget: metrics.calledTarget, calledOther: metrics.calledOther, edges: metrics.edges, detail: metrics.detail };
    images = metrics.images;
    o.log?.(`${o.id} ${condition}: called target ${pct(metrics.calledTarget)}, other ${pct(metrics.calledOther)}, edges ${metrics.edges.toFixed(2)}, detail ${metrics.detail.toFixed(2)}`);
  }
  return { id: o.id, dataset: ctx.data.dataset, images, results };
}

/**
 * The reference: the judge on the real test photos of a target domain, degraded the same way (no
 * model): a model cannot be asked to look more like the domain than its own photos do.
 */
export async function referenceRow(ctx: EvalContext, target: 'A' | 'B', conditions: string[], o: { limit?: number; log?: (s: string) => void } = {}): Promise<TranslationRobustnessRow> {
  const photos = await Promise.all((target === 'A' ? ctx.data.testA : ctx.data.testB).slice(0, o.limit).map((img) => resizeRgb(img, 256, 256)));
  const results: Record<string, RobustnessCell> = {};
  for (const condition of conditions) {
    const d = parseCondition(condition);
    const seen = d ? await Promise.all(photos.map((p, k) => degradeTestInput(p, d, k))) : photos;
    const s = classShares((await judge(ctx.judge, seen)).probs);
    results[condition] = { calledTarget: s[target], calledOther: s.other, edges: NaN, detail: NaN };
    o.log?.(`real test${target} photos ${condition}: called ${target} ${pct(s[target])}, other ${pct(s.other)}`);
  }
  return { id: `real test${target} photos (${ctx.data.dataset})`, dataset: ctx.data.dataset, images: photos.length, results };
}

export async function measureTranslationRobustness(o: {
  models: ModelEntry[];
  conditions: string[];
  manifest: string;
  limit?: number;
  dataRoot?: (dataset: string) => string;
  log: (s: string) => void;
}): Promise<TranslationRobustnessRow[]> {
  const rows: TranslationRobustnessRow[] = [];
  for (const dataset of [...new Set(o.models.map((m) => m.dataset ?? ''))]) {
    const root = o.dataRoot?.(dataset) ?? path.join(DATASETS_ROOT, dataset);
    const data = await loadJudgeData(root, { log: o.log, testOnly: true });
    const j = await getJudge(data, judgeDir(data.dataset), { log: o.log, dataRoot: root });
    const ctx = await makeEvalContext(data, j);
    const models = o.models.filter((e) => (e.dataset ?? '') === dataset);
    for (const target of ['B', 'A'] as const) {
      if (models.some((m) => (m.direction === 'BtoA' ? 'A' : 'B') === target)) rows.push(await referenceRow(ctx, target, o.conditions, { limit: o.limit, log: o.log }));
    }
    for (const m of models) {
      const r = await resolveTranslator(m.id, { manifest: o.manifest, range: m.input.range as [number, number], generator: 'G' });
      try {
        rows.push(await translatorRow(ctx, r.translator, m.direction ?? 'AtoB', o.conditions, { id: m.id, limit: o.limit, log: o.log }));
      } finally {
        await r.translator.dispose();
      }
    }
  }
  return rows;
}

/** The table: one row per model, for each condition "called target % (edges)"; a drop of more than 10 points from clean is bold. */
export function robustnessTable(rows: TranslationRobustnessRow[], conditions: string[]): string {
  const head = `| model | test images | ${conditions.join(' | ')} |\n|---|---|${conditions.map(() => '---').join('|')}|`;
  const body = rows.map((r) => {
    const clean = r.results.clean?.calledTarget;
    const cells = conditions.map((c) => {
      const x = r.results[c];
      const text = Number.isFinite(x.edges) ? `${pct(x.calledTarget)} (${x.edges.toFixed(2)})` : pct(x.calledTarget);
      return clean !== undefined && c !== 'clean' && x.calledTarget < clean - 0.1 ? `**${text}**` : text;
    });
    return `| ${r.id} | ${r.images} | ${cells.join(' | ')} |`;
  });
  return `${head}\n${body.join('\n')}`;
}

export function robustnessMarkdown(rows: TranslationRobustnessRow[], conditions: string[], command: string): string {
  return `# Translation on degraded inputs

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}. Each column re-makes the held-out test photos of the model's
source domain (at 256x256, as the site's evaluation does) with the named degradation (\`jpeg:Q\`: baseline JPEG at quality Q;
\`noise:S\`: Gaussian noise of S grey levels, fixed seed per image; \`blur:S\`: Gaussian blur of S pixels; \`+\`: one after the
other), translates them with the shipped ONNX model in onnxruntime-node and scores the translations with the dataset's
256 px judge. Each cell: the share called the target domain, and in brackets the edge correlation with the (degraded) input.
A drop of more than 10 points from the clean column is in bold. The \`real testA/testB photos\` rows are the reference: the
judge on the target domain's own test photos degraded the same way (no model), i.e. how much of a drop the judge itself puts
on a soft, noisy or compressed photo of the real thing; read a model's drop against the reference row of its target domain.

${robustnessTable(rows, conditions)}
`;
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--models <ids>', 'comma-separated manifest ids (default: every translation model)')
    .option('--conditions <list>', 'comma-separated: clean or jpeg:Q / noise:S / blur:S joined by +', DEFAULT_CONDITIONS.join(','))
    .option('--limit <n>', 'test images per model (the first n by file name; default all)', (v) => parseInt(v, 10))
    .option('--manifest <file>', 'manifest', MANIFEST)
    .option('--backend <b>', 'tfjs backend of the judge', 'native')
    .option('--out <file>', 'Markdown table (the numbers go beside it as .json)', 'docs/translation-robustness.md')
    .parse(process.argv)
    .opts();
  const log = (s: string) => console.log(s);
  await initBackend({ backend: o.backend, log });
  const all = parseManifest(JSON.parse(await fs.readFile(o.manifest, 'utf8'))).models.filter((m) => m.task === 'translation');
  const ids: string[] = o.models ? o.models.split(',') : all.map((m) => m.id);
  const models = ids.map((id) => {
    const m = all.find((e) => e.id === id);
    if (!m) throw new Error(`no translation model "${id}" in ${o.manifest}`);
    return m;
  });
  const conditions: string[] = o.conditions.split(',').map((c: string) => c.trim());
  conditions.forEach(parseCondition); // refuse a bad spec before any work
  const rows = await measureTranslationRobustness({ models, conditions, manifest: o.manifest, limit: o.limit, log });
  const command = `npx tsx training/tasks/cyclegan/robustness.ts ${process.argv.slice(2).join(' ')}`.trim();
  await writeFileAtomic(o.out, robustnessMarkdown(rows, conditions, command));
  await writeFileAtomic(o.out.replace(/\.md$/, '.json'), `${JSON.stringify({ command, conditions, rows }, null, 1)}\n`);
  log(`wrote ${o.out}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
