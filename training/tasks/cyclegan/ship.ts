/**
 * Ships the generators of a CycleGAN run (G and F) or a CUT/FastCUT run (G only) from its best
 * checkpoint by held-out score:
 *   1. learning curve: every checkpoint of the run is scored on the held-out test images with the
 *      dataset's 256x256 judge (eval/translation/curve.ts); the checkpoint with the best A->B score
 *      (called target x detail x edges) is shipped, not the last one;
 *   2. exports its G (A->B) and, for CycleGAN, F (B->A) to ONNX (written only after onnxruntime-node parity);
 *   3. scores the ONNX files with every metric (called target / source / other, detail, edges, KID,
 *      ms per 256x256 image) and writes 8 test translations at full 256 px per direction;
 *   4. copies the checkpoint and its curve.json into checkpoints/<cyclegan|cut>-<dataset>/ (so training
 *      can continue elsewhere), writes the manifest entries (re-reading the manifest right before
 *      an atomic write), the model cards with the learning curve and the Models page thumbnails.
 *
 *   npx tsx training/tasks/cyclegan/ship.ts --run runs/s2w --data ../shared/datasets/cyclegan/summer2winter_landscapes \
 *     --a2b summer2winter --b2a winter2summer --name-a summer --name-b winter [--tier real-time] [--curve-out runs/eval/curve-s2w]
 *     [--home checkpoints/cyclegan-photo2monet-hq]   (a second tier of a dataset keeps its own checkpoint)
 *   A CUT run ships one model, id cut-<a2b>:  --run runs/h2z-cut --a2b horse2zebra --name-a horse --name-b zebra ...
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../../backends';
import { installShippedCheckpoint, loadLayersModel, modelFolder, readCheckpointState } from '../../checkpoint';
import { writeFileAtomic } from '../../io/atomic';
import { upsertManifestEntries } from '../../io/manifest';
import { exportOnnx } from '../../export';
import { onnxTranslator } from '../../eval/cyclegan/translators';
import { getJudge, judgeDir, WEIGHTS_OPTION } from '../../eval/translation/command';
import { learningCurve, type Curve } from '../../eval/translation/curve';
import { evaluateTranslator, makeEvalContext, type Direction, type TranslationMetrics } from '../../eval/translation/evaluate';
import { loadJudgeData } from '../../eval/translation/judge-data';
import { kid, pct } from '../../eval/translation/metrics';
import type { JudgeMeta } from '../../eval/translation/classifier';
import { parseModelEntry, type ModelEntry } from '../../../lib/contract/manifest';
import { countParams, macs } from '../../models/stats';
import type { TrainerOptions } from './trainer';
import type { CutOptions } from '../cut/trainer';
import { cycleganIdName } from './model-id';
import { shipThumbnails, sitePlaces } from '../../viz/thumbnail';
import { CARD_CONDITIONS, referenceRow, robustnessTable, translatorRow, type TranslationRobustnessRow } from './robustness';
import { curvePickSentence, manifestMetrics, measuredQualitySection, targetLines, type Targets } from './card';

const MANIFEST = 'public/models/manifest.json';

const GENERATOR_LABEL: Record<TrainerOptions['generator'], string> = {
  resnet: 'ResNet generator (Zhu et al.)',
  light: 'light real-time generator (depthwise-separable residual blocks, nearest upsampling + separable conv)',
  tiny: 'tiny webcam generator (light generator with 3x3 stem/head, separable stride-2 downsampling and U-Net-style additive skips)',
  halfres: 'half-resolution webcam generator (layers at 1/2 and 1/4 resolution, output = input + a learned full-resolution residual via PixelShuffle)',
};

interface Dir {
  id: string;
  model: 'G' | 'F';
  direction: Direction;
  from: string;
  to: string;
  targets: Targets;
}

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--run <folder>', 'run folder with checkpoints/step-N (read only)')
    .requiredOption('--data <folder>')
    .requiredOption('--a2b <id>', 'id of the A->B model: a name (summer2winter) or the full id (cyclegan-summer2winter)', cycleganIdName)
    .option('--b2a <id>', 'id of the B->A model, in either form (CycleGAN runs; a CUT run has no B->A generator)', cycleganIdName)
    .requiredOption('--name-a <s>')
    .requiredOption('--name-b <s>')
    .option('--tier <t>', 'real-time | quality (default: real-time for the light/tiny generators)')
    .option('--target-a2b <x>', 'share of A->B translations the judge should call B', parseFloat)
    .option('--target-b2a <x>', 'share of B->A translations the judge should call A', parseFloat)
    .option('--target-detail <x>', 'detail ratio the A->B model should reach', parseFloat)
    .option('--target-edges <x>', 'edge correlation the A->B model should reach', parseFloat)
    .option('--checkpoint <step-N>', 'ship this checkpoint instead of the best-scoring one')
    .addOption(WEIGHTS_OPTION())
    .option('--curve-out <folder>', 'where the learning curve is written (default: runs/eval/curve-<run name>)')
    .option('--curve-limit <n>', 'test images per direction for the learning curve', (v) => parseInt(v, 10), 60)
    .option('--backend <b>', 'tfjs backend', 'wasm')
    .option('--home <folder>', 'where the shipped checkpoint and its curve are kept (default: checkpoints/<cyclegan|cut>-<dataset>; give another for a second tier of the same dataset)')
    .option('--card-note <md>', 'extra paragraph for both model cards (e.g. how the run was made, browser speed)')
    .parse(process.argv)
    .opts();
  const log = (l: string) => console.log(l);
  const backend = await initBackend({ backend: o.backend, log });
  const data = await loadJudgeData(o.data, { log });
  const dataset = data.dataset;
  const judge = await getJudge(data, judgeDir(dataset), { log, dataRoot: o.data });

  const curveOut = o.curveOut ?? path.join('runs', 'eval', `curve-${path.basename(path.resolve(o.run))}`);
  const curve = await learningCurve({ run: o.run, data, judge, out: curveOut, limit: o.curveLimit, weights: o.weights, log });
  const ckpt = o.checkpoint ? path.join(o.run, 'checkpoints', o.checkpoint) : curve.best?.checkpoint;
  if (!ckpt) throw new Error(`no checkpoint of ${o.run} could be scored`);
  const st = await readCheckpointState(ckpt);
  const opts = st.state.options as TrainerOptions | CutOptions;
  const cut = 'mode' in opts ? opts : null;
  const method = cut ? 'cut' : 'cyclegan';
  if (!cut && !o.b2a) throw new Error(`${ckpt} is a CycleGAN checkpoint: give --b2a, the id of its B->A model (F)`);
  if (cut && o.b2a) throw new Error(`${ckpt} is a ${cut.mode === 'cut' ? 'CUT' : 'FastCUT'} checkpoint with one generator (A->B): drop --b2a`);
  const a2b = cut ? o.a2b.replace(/^cut-/, '') : o.a2b;
  const hours = ((st.state.elapsedSeconds as number) ?? 0) / 3600;
  const last = curve.points.at(-1)!;
  log(`shipping ${ckpt} (step ${st.step}, ${hours.toFixed(2)} h): ${o.checkpoint ? 'chosen with --checkpoint' : `best held-out A->B score ${curve.best!.score.toFixed(3)}`}; newest is step ${last.step} (score ${last.AtoB!.score.toFixed(3)})`);

  const home = o.home ?? path.join('checkpoints', `${method}-${dataset}`);
  // Keeps a committed training/ continuation beside the shipped checkpoint.
  const ckDst = await installShippedCheckpoint(home, ckpt);
  await writeFileAtomic(path.join(home, 'curve.json'), `${JSON.stringify(curve, null, 1)}\n`);

  const dirs: Dir[] = [{ id: `${method}-${a2b}`, model: 'G', direction: 'AtoB', from: o.nameA, to: o.nameB, targets: { share: o.targetA2b, detail: o.targetDetail, edges: o.targetEdges } }];
  if (!cut) dirs.push({ id: `cyclegan-${o.b2a}`, model: 'F', direction: 'BtoA', from: o.nameB, to: o.nameA, targets: { share: o.targetB2a } });
  const methodLabel = cut ? (cut.mode === 'cut' ? 'CUT' : 'FastCUT') : 'CycleGAN';
  const lossNotes = cut
    ? `${cut.mode}: PatchNCE lambda ${cut.lambdaNce}${cut.nceIdt ? ' with identity NCE' : ''}, ${cut.numPatches} patches per layer, MLP heads ${cut.netFNc}, tau ${cut.nceT}; ${cut.loss} lambda ${cut.lambdaGan}, no pool${cut.teacher ? `; distilled from ${cut.teacher} (lambda ${cut.lambdaTeacher} x mean |G(x) - T(x)|)` : ''}`
    : `${opts.loss}, cycle lambda ${(opts as TrainerOptions).lambdaCycle}, identity ${(opts as TrainerOptions).lambdaIdt}, pool ${(opts as TrainerOptions).poolSize}`;
  const files: Record<string, string> = {};
  const stats: Record<string, { params: number; gmacs: number; bytes: number; weights: string }> = {};
  for (const d of dirs) {
    // what the learning curve scored: the weight average when the run kept one, unless --weights trained
    const folder = (await modelFolder(ckpt, d.model, o.weights))!;
    const m = await loadLayersModel(folder);
    const file = path.join('public', 'models', `${d.id}.onnx`);
    const rep = await exportOnnx(m, {
      outFile: file,
      inputRange: [-1, 1],
      outputRange: [-1, 1],
      multipleOf: 4,
      metadata: { 'ganvas.id': d.id, 'ganvas.dataset': dataset, 'ganvas.direction': d.direction, 'ganvas.steps': String(st.step) },
    });
    log(`exported ${file}: ${rep.bytes} bytes, parity max |diff| ${rep.maxAbsDiff.toExponential(2)} (tolerance ${rep.tolerance})`);
    files[d.id] = file;
    const weights = folder.endsWith('-ema') ? 'the weight average of the generator' : 'the trained generator weights (no average)';
    stats[d.id] = { params: countParams(m), gmacs: macs(m, 256, 256) / 1e9, bytes: rep.bytes, weights };
    m.dispose();
  }

  const ctx = await makeEvalContext(data, judge);
  const entries: ModelEntry[] = [];
  for (const d of dirs) {
    const spec = { input: { name: 'input', range: [-1, 1] as [number, number] }, output: { name: 'output', range: [-1, 1] as [number, number] }, multipleOf: 4 };
    const model = await onnxTranslator(files[d.id], spec, [-1, 1]);
    const id = d.id;
    const grid = path.join('docs', 'models', `${id}.png`);
    // the curve (and so the pick) saw only the first curve.limit test images: report the rest apart
    const { metrics: m } = await evaluateTranslator(ctx, model, d.direction, { gridFile: grid, gridImages: 8, log, unseenFrom: curve.limit ?? undefined });
    const [src, tgt] = d.direction === 'AtoB' ? (['A', 'B'] as const) : (['B', 'A'] as const);
    // the same test photos as JPEGs, noisy and soft, beside the judge on the target's own photos degraded alike
    const degraded = await translatorRow(ctx, model, d.direction, CARD_CONDITIONS.slice(1), { id })
      .then((r) => ({ ...r, results: { clean: { calledTarget: m.calledTarget, calledOther: m.calledOther, edges: m.edges, detail: m.detail }, ...r.results } }));
    const robustness = [await referenceRow(ctx, tgt, CARD_CONDITIONS), degraded];
    await model.dispose();
    const reference = {
      realTarget: ctx.real[tgt].shares[tgt],
      inputsCalledTarget: ctx.real[src].shares[tgt],
      inputsKid: kid(ctx.real[src].features, ctx.real[tgt].features),
    };
    const tier = o.tier ?? (opts.generator === 'resnet' ? 'quality' : 'real-time');
    const curveFile = path.join('docs', 'models', `${id}-curve.png`);
    await fs.copyFile(path.join(curveOut, 'curve.png'), curveFile);
    const entry = parseModelEntry({
      id,
      name: `${d.from[0].toUpperCase()}${d.from.slice(1)} → ${d.to} (${methodLabel}${tier === 'real-time' ? ', real-time' : ''})`,
      task: 'translation',
      file: path.basename(files[d.id]),
      scale: 1,
      input: spec.input,
      output: spec.output,
      multipleOf: 4,
      description:
        `${methodLabel} generator ${d.model} (${d.from} → ${d.to}) trained on ${dataset}; ${opts.generator} generator ngf ${opts.ngf}, ${opts.nBlocks} blocks; ` +
        `${st.step} steps at ${opts.crop}px crops. At 256x256 on test photos: ${pct(m.calledTarget)} called ${d.to} by the 256 px judge, ` +
        `detail ${m.detail.toFixed(2)}, edges ${m.edges.toFixed(2)} (see the card).`,
      tier,
      dataset,
      direction: d.direction,
      parameters: stats[d.id].params,
      gmacs256: Number(stats[d.id].gmacs.toFixed(3)),
      bytes: stats[d.id].bytes,
      training: {
        data: `${dataset} (trainA ${data.trainA.length}, trainB ${data.trainB.length})`,
        steps: st.step,
        hours: Number(hours.toFixed(3)),
        backend: (st.state.backend as string) ?? backend.name,
        notes: `${lossNotes}, Adam ${opts.lr} beta1 ${opts.beta1}, batch ${opts.batchSize}, crop ${opts.crop} from ${st.state.loadSize}px, PatchGAN ndf ${opts.ndf} layers ${opts.dLayers}; LR decay from step ${opts.decayFrom} of ${opts.steps}; shipped checkpoint ${o.checkpoint ? `chosen with --checkpoint (${o.checkpoint})` : 'chosen by held-out score'}; ships ${stats[d.id].weights}`,
      },
      quality: [
        {
          dataset: `${dataset}/test${src}`,
          metrics: manifestMetrics(m),
          note: `at 256x256; ${m.images} test images; 3-class judge (A / B / other), held-out balanced accuracy ${pct(judge.meta.heldOut.balanced)}; onnxruntime-node CPU`,
        },
      ],
      card: `docs/models/${id}.md`,
    });
    entries.push(entry);
    await writeCard({ e: entry, m, d, opts, methodLabel, lossNotes, loadSize: st.state.loadSize as number | undefined, steps: st.step, hours, judge: judge.meta, reference, curve, ckpt: ckDst, chosen: !!o.checkpoint, note: o.cardNote, robustness });
  }
  await upsertManifestEntries(entries, MANIFEST);
  log(`manifest: wrote ${entries.map((e) => e.id).join(', ')}`);
  await shipThumbnails(entries, sitePlaces(process.cwd(), { translationData: o.data }), log);
}

async function writeCard(a: {
  e: ModelEntry;
  m: TranslationMetrics;
  d: Dir;
  opts: TrainerOptions | CutOptions;
  methodLabel: string;
  lossNotes: string;
  loadSize?: number;
  steps: number;
  hours: number;
  judge: JudgeMeta;
  reference: { realTarget: number; inputsCalledTarget: number; inputsKid: number };
  curve: Curve;
  ckpt: string;
  /** true when --checkpoint picked the shipped checkpoint instead of the best score */
  chosen: boolean;
  note?: string;
  /** the judge on the target's real photos, then the model, under CARD_CONDITIONS */
  robustness: TranslationRobustnessRow[];
}): Promise<void> {
  const { e, m, d, opts, judge: j, reference: ref, curve } = a;
  const gaps = targetLines(m, d.to, d.targets);
  const dirKey = d.direction;
  const rows = curve.points
    .filter((p) => p[dirKey])
    .map((p) => {
      const q = p[dirKey]!;
      return `| ${p.step}${p.checkpoint === curve.best?.checkpoint ? ' (best A->B)' : ''} | ${pct(q.calledTarget)} | ${pct(q.calledOther)} | ${q.detail.toFixed(2)} | ${q.edges.toFixed(2)} | ${q.kid.toFixed(4)} | ${q.score.toFixed(3)} |`;
    });
  const text = `# ${e.name}

\`${e.file}\` · id \`${e.id}\` · ${e.dataset} · ${e.direction} · tier ${e.tier}

![8 test translations at 256x256: input | translation](./${e.id}.png)

*Eight held-out test images at full 256x256: input, translation (two pairs per row).*

| | |
|---|---|
| Architecture | ${a.methodLabel}, ${GENERATOR_LABEL[opts.generator]}, ngf ${opts.ngf}, ${opts.nBlocks} blocks; PatchGAN ndf ${opts.ndf}, ${opts.dLayers} layers |
| Parameters | ${e.parameters?.toLocaleString('en-US')} |
| GMACs at 256x256 | ${e.gmacs256} |
| ONNX | ${((e.bytes ?? 0) / 1024).toFixed(0)} KiB, NCHW float32, input/output in [-1, 1], H and W multiples of 4 |
| Training | ${a.steps} steps (batch ${opts.batchSize}), ${a.hours.toFixed(2)} h, backend ${e.training?.backend}, on 2 CPU cores shared with other jobs |
| Loss | ${a.lossNotes}, Adam ${opts.lr} (beta1 ${opts.beta1}) |
| Data | ${e.training?.data}, ${opts.crop}px random crops${a.loadSize ? ` of images resized to ${a.loadSize}px` : ''} with flips |

${measuredQualitySection({ id: e.id, m, from: d.from, to: d.to, direction: d.direction, reference: ref, judge: j })}
## On degraded photos

${robustnessTable(a.robustness, CARD_CONDITIONS)}

The test photos re-made as people's photos are (\`jpeg:60\`: JPEG quality 60; \`noise:8\`: Gaussian noise of 8 grey levels;
\`blur:1\`: a Gaussian blur of 1 px at 256x256), translated and judged as above: the share called ${d.to} and, in brackets, the
edge correlation with the photo the model was given. The first row is the judge on real ${d.to} test photos degraded the same
way (no model): how much the judge itself marks such photos down. A drop of more than 10 points from clean is in bold. All
models: [docs/translation-robustness.md](../translation-robustness.md).

## Learning curve

![learning curve](./${e.id}-curve.png)

| step | called ${d.to} | called other | detail | edges | KID | score |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Each step is scored on the first ${curve.limit ?? 'all'} test images per direction. ${curvePickSentence(a.steps, curve.best?.step ?? a.steps, a.chosen)}

## Status against the targets

${gaps.length ? gaps.join('\n') : '- No numeric target was set for this direction.'}

Continue training from the checkpoint (\`${a.ckpt}\`: copy it into a run folder's \`checkpoints/\` and pass \`--resume\`); the
curve above says whether the run was still improving.

${a.note ? `${a.note}\n\n` : ''}Reproduce the numbers:

\`\`\`
npm run eval -- translation --model ${e.id}
npm run eval -- curve --run <the run folder> --data ../shared/datasets/cyclegan/${e.dataset}
\`\`\`
`;
  await writeFileAtomic(path.join('docs', 'models', `${e.id}.md`), text);
}

main().catch((err) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
