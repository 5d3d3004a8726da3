/**
 * The photo tier end to end, small enough for CI: a few real tfjs steps on degraded LR from a
 * handful of real images (the Set5 duplicate among them is left out), export to ONNX, then
 * `eval sr --degrade jpeg:60` on the ONNX file through onnxruntime-node, and the run folder
 * holds what ship.ts reads (the degradation config, the parent, the validation history).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainSr, type SrTrainOptions } from '../../training/tasks/sr/train';
import { findLatestCheckpoint, loadLayersModel, readCheckpointState } from '../../training/checkpoint';
import { exportOnnx } from '../../training/export/export';
import { DEFAULT_SR_ROOT } from '../../training/eval/sr/evaluate';
import { runSrEval } from '../../training/tasks/sr/eval-command';
import { DEFAULT_DEGRADE, parseFixedDegradations } from '../../training/data/degrade';
import { withJpeg60 } from '../../training/tasks/sr/ship';
import { parseModelEntry, SR_METRIC_KEYS } from '../../lib/contract/manifest';
import { tinySrOptions } from '../helpers/sr-options';

const T91 = path.join(DEFAULT_SR_ROOT, 'T91');
const BSD200 = path.join(DEFAULT_SR_ROOT, 'BSD200');
const haveData = existsSync(T91) && existsSync(path.join(BSD200, '302003.png')) && existsSync(path.join(DEFAULT_SR_ROOT, 'Set5'));

describe.skipIf(!haveData)('SR photo tier end to end', () => {
  let dir: string;
  const logs: string[] = [];
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sr-photo-'));
    await fs.mkdir(path.join(dir, 'data'));
    for (const f of ['t1.bmp', 't2.bmp']) await fs.copyFile(path.join(T91, f), path.join(dir, 'data', f));
    await fs.copyFile(path.join(BSD200, '302003.png'), path.join(dir, 'data', '302003.png'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('trains on degraded LR, exports, and evaluates on JPEG-60 LR', async () => {
    const o: SrTrainOptions = tinySrOptions(path.join(dir, 'data'), (s) => logs.push(s), {
      out: path.join(dir, 'run'),
      steps: 4,
      warmup: 1,
      seed: 3,
      features: [8, 8],
      valEvery: 2,
      ckptEvery: 2,
      keep: 1,
      advWeight: 0,
      degrade: { ...DEFAULT_DEGRADE, cleanProb: 0.2, secondProb: 0.5 },
      valDegrade: parseFixedDegradations('jpeg:60'),
    });
    // Stopped (as by SIGTERM) after step 1: checkpointed there, then resumed to the end.
    const stop = new AbortController();
    const first = await trainSr({ ...o, abort: stop.signal, onStep: ({ step }) => step === 1 && stop.abort() });
    expect(first.step).toBe(1);
    expect(logs.join('\n')).toMatch(/stopped early \(signal\) at step 1\/4/);
    const r = await trainSr({ ...o, resume: true });
    expect(r.step).toBe(4);
    expect(Number.isFinite(r.lastLoss)).toBe(true);
    const all = logs.join('\n');
    expect(all).toMatch(/skipped 302003\.png: left out: same photo as the benchmark image Set5 woman/);
    expect(all).toMatch(/step 2: Set5 x2 Y-PSNR [\d.]+ dB \(jpeg:60: [\d.]+ dB\)/);
    expect(all).toMatch(/patches clean\/degraded\/failed \d+\/\d+\/0/);

    // The checkpoint carries what ship.ts needs to call it a photo model and describe it.
    const { state } = await readCheckpointState((await findLatestCheckpoint(path.join(dir, 'run', 'checkpoints')))!);
    const opts = state.options as { degrade: { jpegQuality: number[] } };
    expect(opts.degrade.jpegQuality).toEqual([30, 95]);
    const hist = state.valHistory as { step: number; psnr: number; degraded: number }[];
    expect(hist.map((h) => h.step)).toEqual([1, 2, 4]);
    expect(hist[2].degraded).toBeLessThan(hist[2].psnr);

    // Export, then `eval sr --model file.onnx --degrade jpeg:60` through onnxruntime-node.
    const model = await loadLayersModel(path.join(dir, 'run', 'model'));
    const onnxFile = path.join(dir, 'photo.onnx');
    await exportOnnx(model, { outFile: onnxFile, inputName: 'input', outputName: 'output' });
    const base = { model: onnxFile, scale: 2, sets: ['Set5'], root: DEFAULT_SR_ROOT, limit: 1, range: '0,1', tile: 0, backend: 'wasm', log: (s: string) => logs.push(s) };
    const [clean] = await runSrEval(base);
    const [jpeg] = await runSrEval({ ...base, degrade: parseFixedDegradations('jpeg:60') });
    expect(jpeg.degrade).toBe('jpeg:60');
    expect(logs.some((l) => /photo\.onnx x2 Set5 \(LR jpeg:60\): Y-PSNR/.test(l))).toBe(true);
    expect(clean.psnr).toBeGreaterThan(25);
    // JPEG-60 LR loses information: every model scores lower on it (same image, same model).
    expect(jpeg.psnr).toBeLessThan(clean.psnr - 0.5);
    expect(jpeg.psnr).toBeGreaterThan(20);
    // Several models in one command: a table (here bicubic against the trained model on JPEG-60 LR).
    const table = await runSrEval({ ...base, model: `bicubic,${onnxFile}`, degrade: parseFixedDegradations('jpeg:60') });
    expect(table.map((t) => t.model)).toEqual(['bicubic', 'photo.onnx']);
    expect(table[1].psnr).toBeCloseTo(jpeg.psnr, 6);
    expect(logs.join('\n')).toMatch(/Y-PSNR \(dB\) \(LR jpeg:60\):\n\| model \| scale \| Set5 \|\n\|---\|---\|---\|\n\| bicubic \| x2 \| [\d.]+ \|\n\| photo\.onnx \| x2 \| [\d.]+ \|/);
    // Validation in training used the same degraded LR as the evaluator: same number (tfjs vs ONNX).
    expect(jpeg.psnr).toBeCloseTo(hist[2].degraded, 2);

    // The manifest quality entry with both numbers passes the contract.
    const quality = withJpeg60([{ dataset: 'Set5', metrics: { psnrY: clean.psnr, ssimY: clean.ssim } }], { Set5: jpeg });
    const entry = parseModelEntry({ id: 'sr-photo-test', name: 't', task: 'super-resolution', file: 'x.onnx', scale: 2, input: { name: 'input', range: [0, 1] }, output: { name: 'output', range: [0, 1] }, tier: 'photo', quality });
    expect(entry.quality[0].metrics[SR_METRIC_KEYS.psnrJpeg60]).toBeCloseTo(jpeg.psnr, 2);
  }, 180_000);
});
