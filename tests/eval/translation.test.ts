/**
 * The 256x256 translation evaluation end to end on real data (summer2winter test images) with the
 * committed judge: a random-weight CycleGAN-shaped ONNX (reflect pad, conv, instance norm, residual
 * blocks, transposed convs, tanh; an architecture width and seed the judge never saw) run through
 * onnxruntime-node is called "other"; an identity model keeps detail and edges at 1 and is called
 * source; a blurring model loses detail; real winter photos are called winter. Then the learning
 * curve over a run folder, the `eval translation` report and grid, and a judge trained from scratch
 * (tiny, to test the training path and its save/load round trip).
 * Skipped when ../shared/datasets is absent.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../training/backends';
import { saveCheckpoint } from '../../training/checkpoint';
import { exportOnnx } from '../../training/export';
import { tinyGenerator } from '../../training/models/light-generator';
import { onnxTranslator, type Translator } from '../../training/eval/cyclegan/translators';
import { classShares, judge, loadJudge, saveJudge, trainJudge, type Judge, type JudgeData } from '../../training/eval/translation/classifier';
import { gaussianBlur, randomCycleGanGenerator } from '../../training/eval/translation/degrade';
import { evaluateTranslator, makeEvalContext, type EvalContext } from '../../training/eval/translation/evaluate';
import { learningCurve, listCheckpoints } from '../../training/eval/translation/curve';
import { runTranslationEval } from '../../training/eval/translation/command';
import { loadJudgeData } from '../../training/eval/translation/judge-data';
import { rescore } from '../../training/tasks/cyclegan/rescore';
import { measuredQualitySection, targetLines } from '../../training/tasks/cyclegan/card';
import { measureTranslationRobustness, robustnessMarkdown } from '../../training/tasks/cyclegan/robustness';
import { parseFixedDegradations } from '../../training/data/degrade';
import { parseManifest } from '../../lib/contract/manifest';
import type { RgbImage } from '../../training/data/images';

const ROOT = path.resolve(__dirname, '../..');
const DATA = path.resolve(ROOT, '../shared/datasets/cyclegan/summer2winter_landscapes');
const JUDGE = path.join(ROOT, 'checkpoints/classifiers/summer2winter_landscapes');
const have = existsSync(DATA) && existsSync(path.join(JUDGE, 'meta.json'));

let tmp: string;
let data: JudgeData;
let j: Judge;
let ctx: EvalContext;
let randomOnnx: string;

const fn = (label: string, f: Translator['translate']): Translator => ({ label, multipleOf: 4, translate: f, dispose: async () => {} });

describe.skipIf(!have)('translation evaluation at 256x256 (summer2winter, committed judge)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-eval-'));
    data = await loadJudgeData(DATA, { limit: 16 });
    const stored = await loadJudge(JUDGE);
    if (!stored) throw new Error(`${JUDGE} holds no 256x256 judge`);
    j = stored;
    ctx = await makeEvalContext(data, j);
    // ngf 16 and this seed were never among the judge's training generators (ngf 8, other seeds).
    const g = randomCycleGanGenerator(90210, { ngf: 16, nBlocks: 3, std: 0.02 });
    randomOnnx = path.join(tmp, 'random.onnx');
    await exportOnnx(g, { outFile: randomOnnx, inputRange: [-1, 1], outputRange: [-1, 1], multipleOf: 4, check: { sizes: [[32, 32]] } });
    g.dispose();
  });

  it('the stored judge works at 256x256 with three classes and reports its held-out accuracy', () => {
    expect(j.meta.size).toBe(256);
    expect(j.meta.classes).toEqual(['A', 'B', 'other']);
    expect(j.meta.heldOut.balanced).toBeGreaterThan(0.8);
    expect(j.meta.heldOut.images.other).toBeGreaterThanOrEqual(20);
  });

  it('calls real winter test photos winter and real summer ones summer', () => {
    expect(ctx.real.B.shares.B).toBeGreaterThanOrEqual(0.75);
    expect(ctx.real.A.shares.A).toBeGreaterThanOrEqual(0.75);
  });

  it('calls a random-weight CycleGAN-shaped ONNX model "other" for (nearly) all images', async () => {
    const t = await onnxTranslator(randomOnnx, null, [-1, 1]);
    const { metrics } = await evaluateTranslator(ctx, t, 'AtoB', { limit: 12 });
    await t.dispose();
    expect(metrics.images).toBe(12);
    expect(metrics.calledOther).toBeGreaterThanOrEqual(0.9);
    expect(metrics.calledTarget).toBeLessThanOrEqual(0.1);
    expect(metrics.score).toBeLessThanOrEqual(0.1);
  });

  it('identity: detail 1, edges 1, called source, score ~0; a blurring model: detail < 1', async () => {
    const id = await evaluateTranslator(ctx, fn('identity', async (x) => x), 'AtoB', { limit: 12 });
    expect(id.metrics.detail).toBeCloseTo(1, 6);
    expect(id.metrics.edges).toBeCloseTo(1, 6);
    expect(id.metrics.calledSource).toBeGreaterThanOrEqual(0.75);
    expect(id.metrics.score).toBeLessThanOrEqual(0.25);
    const blur = await evaluateTranslator(ctx, fn('blur', (x) => gaussianBlur(x, 3)), 'AtoB', { limit: 12 });
    expect(blur.metrics.detail).toBeLessThan(0.7);
    expect(blur.metrics.edges).toBeLessThan(id.metrics.edges);
    expect(blur.metrics.calledOther).toBeGreaterThan(id.metrics.calledOther);
    // KID: the judge's features of real winter photos are closer to themselves than summer inputs are.
    expect(id.metrics.kid).toBeGreaterThan(0);
  });

  it('unseenFrom: the target share on the images after the first n is reported apart (the checkpoint pick never saw them)', async () => {
    // identity for the first 8 inputs, a real winter photo for the last 4: winter only where the pick did not look
    let k = 0;
    const late = fn('late-winter', async (x) => (k++ < 8 ? x : data.testB[k % data.testB.length]));
    const { metrics } = await evaluateTranslator(ctx, late, 'AtoB', { limit: 12, unseenFrom: 8 });
    expect(metrics.unseen).toMatchObject({ from: 8, images: 4 });
    expect(metrics.unseen!.calledTarget).toBeGreaterThanOrEqual(0.75);
    expect(metrics.calledTarget).toBeLessThanOrEqual(0.5);
    const all = await evaluateTranslator(ctx, fn('identity', async (x) => x), 'AtoB', { limit: 12, unseenFrom: 12 });
    expect(all.metrics.unseen).toBeUndefined(); // nothing left after the first 12
  });

  it('degraded inputs: the model is given the JPEG / blurred / noisy photo, the same one every run; the robustness table runs the shipped ONNX', async () => {
    const seen: Record<string, RgbImage[]> = {};
    const recorder = (key: string) => fn(key, async (x) => ((seen[key] ??= []).push(x), x));
    await evaluateTranslator(ctx, recorder('clean'), 'AtoB', { limit: 4 });
    await evaluateTranslator(ctx, recorder('blur'), 'AtoB', { limit: 4, degrade: parseFixedDegradations('blur:2') });
    await evaluateTranslator(ctx, recorder('jpeg'), 'AtoB', { limit: 4, degrade: parseFixedDegradations('jpeg:20') });
    await evaluateTranslator(ctx, recorder('noise'), 'AtoB', { limit: 4, degrade: parseFixedDegradations('noise:8') });
    await evaluateTranslator(ctx, recorder('noise2'), 'AtoB', { limit: 4, degrade: parseFixedDegradations('noise:8') });
    const gradient = (img: RgbImage) => {
      let g = 0;
      for (let i = 3; i < img.data.length - 3; i += 3) g += Math.abs(img.data[i] - img.data[i - 3]);
      return g;
    };
    const diff = (a: RgbImage, b: RgbImage) => a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]), 0) / a.data.length;
    for (let i = 0; i < 4; i++) {
      expect(seen.blur[i].width).toBe(256);
      expect(gradient(seen.blur[i])).toBeLessThan(0.8 * gradient(seen.clean[i]));
      expect(diff(seen.jpeg[i], seen.clean[i])).toBeGreaterThan(1);
      expect(diff(seen.noise[i], seen.clean[i])).toBeGreaterThan(3);
      expect(diff(seen.noise[i], seen.noise2[i])).toBe(0); // seeded per image: every model sees the same noisy photo
    }
    const rows = await measureTranslationRobustness({
      models: [parseManifest(JSON.parse(await fs.readFile(path.join(ROOT, 'public/models/manifest.json'), 'utf8'))).models.find((m) => m.id === 'cyclegan-summer2winter')!],
      conditions: ['clean', 'blur:6'],
      manifest: path.join(ROOT, 'public/models/manifest.json'),
      limit: 4,
      dataRoot: () => DATA,
      log: () => {},
    });
    // first the reference (the judge on real winter photos, degraded the same way), then the model
    expect(rows.map((r) => [r.id, r.images])).toEqual([['real testB photos (summer2winter_landscapes)', 4], ['cyclegan-summer2winter', 4]]);
    // a 6 px blur is what the judge's "other" class was made of: real winter photos drop with it
    expect(rows[0].results.clean.calledTarget).toBeGreaterThanOrEqual(0.75);
    expect(rows[0].results['blur:6'].calledOther).toBeGreaterThanOrEqual(0.75);
    // and the model's translations of blurred photos are called winter less than of clean ones, never more
    expect(rows[1].results['blur:6'].calledTarget).toBeLessThanOrEqual(rows[1].results.clean.calledTarget);
    const md = robustnessMarkdown(rows, ['clean', 'blur:6'], 'cmd');
    expect(md).toMatch(/\| cyclegan-summer2winter \| 4 \| \d+\.\d% \(\d\.\d\d\) \|/);
    expect(md).toMatch(/\| real testB photos \(summer2winter_landscapes\) \| 4 \| \d+\.\d% \| \*\*\d+\.\d%\*\* \|/);
    await expect(runTranslationEval({ model: randomOnnx, data: DATA, manifest: 'none.json', range: '-1,1', out: tmp, backend: 'wasm', degrade: 'jpg:3', log: () => {} })).rejects.toThrow(/jpeg:<quality/);
  });

  it('eval translation on a third-party-style ONNX file writes a report and a grid of 8 translations at 256 px', async () => {
    const out = path.join(tmp, 'eval');
    const lines: string[] = [];
    const r = await runTranslationEval({ model: randomOnnx, data: DATA, manifest: path.join(ROOT, 'public/models/manifest.json'), range: '-1,1', limit: 8, out, judgeDir: JUDGE, backend: 'wasm', log: (l) => lines.push(l) });
    expect(r.direction).toBe('AtoB');
    expect(r.metrics.calledOther).toBeGreaterThanOrEqual(0.85);
    expect(r.reference.realTargetCalledTarget).toBeGreaterThan(0.7);
    const report = JSON.parse(await fs.readFile(path.join(out, 'summer2winter_landscapes-AtoB-random.json'), 'utf8'));
    expect(report.metrics.kid).toBeCloseTo(r.metrics.kid, 6);
    const meta = await sharp(r.grid!).metadata();
    expect(meta.width).toBeGreaterThanOrEqual(4 * 256);
    expect(meta.height).toBeGreaterThanOrEqual(4 * 256);
    expect(lines.join('\n')).toMatch(/called target \(B\) .* other .* detail .* edges .* KID/);
    await expect(runTranslationEval({ model: randomOnnx, manifest: 'none.json', range: '-1,1', out, backend: 'wasm', log: () => {} })).rejects.toThrow(/--data/);
    await expect(runTranslationEval({ model: randomOnnx, data: DATA, manifest: 'none.json', range: '0,2', out, backend: 'wasm', log: () => {} })).rejects.toThrow(/--range/);
  });

  it('rescore: a shipped model re-measured by the current judge gets new manifest metrics, card section, status lines and grid', async () => {
    const dir = path.join(tmp, 'rescore');
    await fs.mkdir(path.join(dir, 'models'), { recursive: true });
    await fs.mkdir(path.join(dir, 'cards'), { recursive: true });
    await fs.copyFile(randomOnnx, path.join(dir, 'models', 'cyclegan-random.onnx'));
    const real = JSON.parse(await fs.readFile(path.join(ROOT, 'public/models/manifest.json'), 'utf8'));
    const base = real.models.find((m: { id: string }) => m.id === 'cyclegan-summer2winter');
    const claimed = { ...base.quality[0].metrics, classifierTargetShare: 0.9 };
    const entry = { ...base, id: 'cyclegan-random', file: 'cyclegan-random.onnx', card: 'cards/cyclegan-random.md', description: 'A random generator. At 256x256 on test photos: 90.0% called winter by the 256 px judge (see the card).', quality: [{ ...base.quality[0], metrics: claimed }] };
    await fs.writeFile(path.join(dir, 'models', 'manifest.json'), JSON.stringify({ version: 1, models: [entry] }, null, 2));
    const old = { ...claimed, calledTarget: 0.9, calledSource: 0.1, calledOther: 0, images: 8, msPerImage: 1 };
    const section = measuredQualitySection({ id: 'cyclegan-random', m: old, from: 'summer', to: 'winter', direction: 'AtoB', reference: { realTarget: 1, inputsCalledTarget: 0, inputsKid: 1 }, judge: j.meta });
    await fs.writeFile(path.join(dir, 'cards', 'cyclegan-random.md'), `# Random\n\n${section}\n## Learning curve\n\n| 600 | 90.0% |\n\n## Status against the targets\n\n${targetLines(old, 'winter', { share: 0.7 }).join('\n')}\n`);

    const lines: string[] = [];
    const [e] = await rescore({ ids: ['cyclegan-random'], manifest: path.join(dir, 'models', 'manifest.json'), cards: path.join(dir, 'cards'), data: () => DATA, judgeDir: JUDGE, limit: 8, backend: 'wasm', out: path.join(dir, 'eval'), log: (l) => lines.push(l) });
    const share = e.quality![0].metrics.classifierTargetShare as number;
    expect(share).toBeLessThanOrEqual(0.15); // the judge calls a random generator's output "other", whatever the card claimed
    const stored = JSON.parse(await fs.readFile(path.join(dir, 'models', 'manifest.json'), 'utf8')).models[0];
    expect(stored.quality[0].metrics.classifierTargetShare).toBe(share);
    expect(stored.quality[0].note).toMatch(/8 test images; .*re-scored \d{4}-\d{2}-\d{2}/);
    expect(stored.description).toContain(`${(share * 100).toFixed(1)}% called winter by the 256 px judge`);
    const card = await fs.readFile(path.join(dir, 'cards', 'cyclegan-random.md'), 'utf8');
    expect(card).toMatch(/Re-scored on \d{4}-\d{2}-\d{2} by the judge retrained then .*\(it had 90\.0% called "winter" before\)/);
    expect(card).toContain(`- Called "winter" ${(share * 100).toFixed(1)}% is **below** the target of 70.0%.`);
    expect(card).toContain('| 600 | 90.0% |'); // the learning curve of its session stays
    expect((await sharp(path.join(dir, 'cards', 'cyclegan-random.png')).metadata()).width).toBeGreaterThanOrEqual(4 * 256);
    expect(lines.join('\n')).toMatch(/cyclegan-random: called "winter" 90\.0% -> [\d.]+%/);
    await expect(rescore({ ids: ['nope'], manifest: path.join(dir, 'models', 'manifest.json'), log: () => {} })).rejects.toThrow(/no model "nope"/);
  });

  it('learning curve: scores every checkpoint (G and F), picks the best, skips scored ones on a re-run', async () => {
    const run = path.join(tmp, 'run');
    // Two checkpoints of untrained tiny generators (G and F, and G's weight average), as a CycleGAN run writes them.
    for (const step of [1, 2]) {
      const G = tinyGenerator({ ngf: 4, nBlocks: 1, seed: step });
      const F = tinyGenerator({ ngf: 4, nBlocks: 1, seed: step + 10 });
      const Gema = tinyGenerator({ ngf: 4, nBlocks: 1, seed: step + 20 });
      await saveCheckpoint(path.join(run, 'checkpoints'), { step, models: { G, F, 'G-ema': Gema }, state: { elapsedSeconds: step * 60, data: DATA } }, { keep: 5 });
      G.dispose();
      F.dispose();
      Gema.dispose();
    }
    expect((await listCheckpoints(run)).map((c) => path.basename(c))).toEqual(['step-00000001', 'step-00000002']);
    const out = path.join(tmp, 'curve');
    const lines: string[] = [];
    const c = await learningCurve({ run, data, judge: j, out, limit: 3, log: (l) => lines.push(l) });
    expect(c.points.map((p) => p.step)).toEqual([1, 2]);
    for (const p of c.points) {
      expect(p.AtoB!.images).toBe(3);
      expect(p.BtoA!.images).toBe(3);
      expect(p.hours).toBeCloseTo((p.step * 60) / 3600, 3);
    }
    expect([1, 2]).toContain(c.best!.step);
    expect(existsSync(path.join(out, 'curve.png'))).toBe(true);
    const again: string[] = [];
    const c2 = await learningCurve({ run, data, judge: j, out, limit: 3, log: (l) => again.push(l) });
    expect(c2.points).toEqual(c.points);
    expect(again.filter((l) => /scored in/.test(l))).toHaveLength(0);
    // The trained weights are another model: scored afresh (not the cached average's numbers); F has no average.
    const raw: string[] = [];
    const c3 = await learningCurve({ run, data, judge: j, out, limit: 3, weights: 'trained', log: (l) => raw.push(l) });
    expect(c.weights).toBe('average');
    expect(c3.weights).toBe('trained');
    expect(raw.filter((l) => /scored in/.test(l))).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(c3.points[i].AtoB!.detail).not.toBe(c.points[i].AtoB!.detail);
      expect({ ...c3.points[i].BtoA!, msPerImage: 0 }).toEqual({ ...c.points[i].BtoA!, msPerImage: 0 });
    }
    await expect(learningCurve({ run: path.join(tmp, 'nothing'), data, judge: j, out, limit: 3 })).rejects.toThrow(/no checkpoints|not a run folder/);
  });

  it('trains a judge from trainA/trainB (tiny settings), stores it and loads the same predictions back', async () => {
    const small: JudgeData = { ...data, trainA: data.trainA.slice(0, 6), trainB: data.trainB.slice(0, 6), testA: data.testA.slice(0, 3), testB: data.testB.slice(0, 3) };
    const t = await trainJudge(small, { epochs: 1, perClass: 6, otherCount: 5, heldOutOther: 5 });
    expect(t.meta.trainImages).toEqual({ A: 6, B: 6, other: 5 });
    expect(t.meta.heldOut.images).toEqual({ A: 3, B: 3, other: 5 });
    const dir = path.join(tmp, 'judge');
    await saveJudge(dir, t);
    const back = await loadJudge(dir);
    const p1 = await judge(t, small.testA);
    const p2 = await judge(back!, small.testA);
    expect(p2.features[0].length).toBe(64);
    for (let i = 0; i < p1.probs.length; i++) for (let k = 0; k < 3; k++) expect(p2.probs[i][k]).toBeCloseTo(p1.probs[i][k], 5);
    expect(classShares(p1.probs).A + classShares(p1.probs).B + classShares(p1.probs).other).toBeCloseTo(1, 6);
    // A wider judge trained on random crops: more parameters, the same 64-d features, and its meta says how it was made.
    const wide = await trainJudge(small, { epochs: 1, perClass: 6, otherCount: 5, heldOutOther: 5, width: 2, augment: true });
    expect(wide.model.countParams()).toBeGreaterThan(2.5 * t.model.countParams());
    expect(wide.meta).toMatchObject({ width: 2, augment: true });
    expect(t.meta.width).toBeUndefined();
    expect((await judge(wide, small.testA)).features[0].length).toBe(64);
    await expect(trainJudge(small, { epochs: 1, perClass: 6, width: 0 })).rejects.toThrow(/width must be > 0/);
    // An old 64x64 two-class classifier folder is not mistaken for a judge.
    await fs.writeFile(path.join(dir, 'meta.json'), JSON.stringify({ dataset: 'x', size: 64 }));
    expect(await loadJudge(dir)).toBeNull();
  });
});
