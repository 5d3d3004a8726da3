/**
 * End to end on a handful of real images: bad files are skipped and counted, a few real tfjs
 * training steps run, a killed-and-resumed run ends with exactly the weights of an
 * uninterrupted one (PRNG state in the checkpoint), the model exports to ONNX and the evaluator
 * measures the ONNX file through onnxruntime-node on Set5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { pixelLoss, trainSr, type SrTrainOptions } from '../../training/tasks/sr/train';
import { findGeneratorFolder, findLatestCheckpoint, loadLayersModel, readCheckpointState } from '../../training/checkpoint';
import { exportOnnx } from '../../training/export/export';
import { DEFAULT_SR_ROOT, evaluateSet } from '../../training/eval/sr/evaluate';
import { onnxRunner, tfjsRunner } from '../../training/eval/sr/runners';
import { resolveRunner } from '../../training/tasks/sr/eval-command';
import { describeSrSchedule } from '../../training/tasks/sr/ship';
import { tinySrOptions } from '../helpers/sr-options';

const T91 = path.join(DEFAULT_SR_ROOT, 'T91');
const haveData = existsSync(T91) && existsSync(path.join(DEFAULT_SR_ROOT, 'Set5'));

describe.skipIf(!haveData)('SR end to end', () => {
  let dir: string;
  let data: string;
  const logs: string[] = [];
  const base = (): SrTrainOptions => tinySrOptions(data, (s) => logs.push(s));

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-sr-e2e-'));
    data = path.join(dir, 'data');
    await fs.mkdir(data);
    for (const f of ['t1.bmp', 't2.bmp', 't3.bmp', 't5.bmp']) await fs.copyFile(path.join(T91, f), path.join(data, f));
    await fs.writeFile(path.join(data, 'notes.txt'), 'not an image');
    await fs.writeFile(path.join(data, 'corrupt.png'), Buffer.from('89504e470d0a1a0a0000', 'hex'));
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#808080' } }).png().toFile(path.join(data, 'tiny.png'));
    await sharp(Buffer.alloc(40 * 40, 90), { raw: { width: 40, height: 40, channels: 1 } }).png().toFile(path.join(data, 'gray.png'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('trains, resumes exactly, exports to ONNX and evaluates', async () => {
    // Uninterrupted run.
    const a = await trainSr({ ...base(), out: path.join(dir, 'a') });
    expect(a.step).toBe(6);
    expect(Number.isFinite(a.lastLoss)).toBe(true);
    const dataLine = logs.find((l) => l.startsWith('data:'))!;
    expect(dataLine).toMatch(/5 loaded/);
    expect(dataLine).toMatch(/3 skipped/);

    // Killed after 3 steps, then resumed.
    const b1 = await trainSr({ ...base(), out: path.join(dir, 'b'), stopAfter: 3 });
    expect(b1.step).toBe(3);
    const b2 = await trainSr({ ...base(), out: path.join(dir, 'b'), resume: true });
    expect(b2.step).toBe(6);
    expect(logs.some((l) => /resumed from .*step-00000003 at step 3/.test(l))).toBe(true);

    const ma = await loadLayersModel(path.join((await findLatestCheckpoint(path.join(dir, 'a', 'checkpoints')))!, 'models', 'generator'));
    const mb = await loadLayersModel(path.join((await findLatestCheckpoint(path.join(dir, 'b', 'checkpoints')))!, 'models', 'generator'));
    const wa = ma.getWeights();
    const wb = mb.getWeights();
    expect(wa.length).toBe(wb.length);
    for (let i = 0; i < wa.length; i++) expect(Array.from(await wb[i].data())).toEqual(Array.from(await wa[i].data()));
    // A resume whose architecture flags ask for another network is refused, naming them; without
    // them it keeps the architecture it was trained with.
    await expect(trainSr({ ...base(), out: path.join(dir, 'b'), resume: true, steps: 7, features: [4], skip: 'nearest' })).rejects.toThrow(
      /--resume: .*step-00000006 was trained with other networks .*--features 4 --skip nearest.*drop these flags/,
    );
    const b3 = await trainSr({ ...base(), out: path.join(dir, 'b'), resume: true, steps: 7 });
    expect(b3.step).toBe(7);
    // A resume with another pixel loss: the checkpoint records it and which loss the steps before used,
    // and the model card says so.
    const b4 = await trainSr({ ...base(), out: path.join(dir, 'b'), resume: true, steps: 8, loss: 'mse' });
    expect(b4.step).toBe(8);
    const b4State = (await readCheckpointState((await findLatestCheckpoint(path.join(dir, 'b', 'checkpoints')))!)).state;
    const b4Opts = b4State.options as Parameters<typeof describeSrSchedule>[0];
    expect(b4Opts.loss).toBe('mse');
    expect(b4Opts.history?.at(-1)).toMatchObject({ untilStep: 7, loss: 'l1' });
    expect(describeSrSchedule(b4Opts)).toMatch(/\(LR patch \d+, L1\) until step 7, then batch \d+, LR patch \d+; MSE \+ Adam$/);

    // Export and evaluate the ONNX file like any third-party model.
    const onnxFile = path.join(dir, 'sr.onnx');
    const rep = await exportOnnx(ma, { outFile: onnxFile, inputName: 'input', outputName: 'output' });
    expect(rep.scale).toBe(2);
    const onnx = await onnxRunner(onnxFile, { name: 'e2e', scale: 2, inputName: 'input', outputName: 'output', inputRange: [0, 1], outputRange: [0, 1] });
    const r = await evaluateSet(onnx, 'Set5', 2, { limit: 2 });
    await onnx.dispose?.();
    const rt = await evaluateSet(tfjsRunner(ma, { name: 'tfjs', scale: 2, range: [0, 1] }), 'Set5', 2, { limit: 2 });
    expect(r.images).toBe(2);
    // Six steps from a near-bicubic start: well above noise, and ONNX agrees with tfjs.
    expect(r.psnr).toBeGreaterThan(25);
    expect(Math.abs(r.psnr - rt.psnr)).toBeLessThan(0.01);
    // `eval sr --model` takes one checkpoint (step-N) as well as a run folder: same weights, same number.
    for (const spec of [(await findLatestCheckpoint(path.join(dir, 'a', 'checkpoints')))!, path.join(dir, 'a')]) {
      const viaSpec = await evaluateSet(await resolveRunner({ model: spec, range: '0,1', tile: 0, backend: 'wasm' }, (s) => logs.push(s)), 'Set5', 2, { limit: 2 });
      expect(viaSpec.psnr).toBeCloseTo(rt.psnr, 6);
      expect(viaSpec.model).toBe(path.basename(spec)); // named by the run / checkpoint, e.g. in a comparison table
    }
    const before = wa[0].dataSync().slice();

    // SRGAN fine-tune from the trained generator: starts from its weights and moves them.
    const g = await trainSr({ ...base(), out: path.join(dir, 'gan'), gan: true, init: path.join(dir, 'a'), steps: 2, valSet: undefined });
    expect(g.step).toBe(2);
    expect(Number.isFinite(g.lastLoss)).toBe(true);
    expect(logs.some((l) => /architecture and weights from .*a\/checkpoints\/step-00000006/.test(l))).toBe(true);
    const mg = await loadLayersModel(path.join(dir, 'gan', 'model'));

    const after = mg.getWeights()[0].dataSync();
    let moved = 0;
    for (let i = 0; i < before.length; i++) moved = Math.max(moved, Math.abs(before[i] - after[i]));
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(0.05);

    // An mse fine-tune (the last PSNR step after l1): the loss it reports is the squared error,
    // far below the l1 run's mean absolute error on the same model (errors are < 1).
    logs.length = 0;
    const m = await trainSr({ ...base(), out: path.join(dir, 'mse'), loss: 'mse', init: path.join(dir, 'a'), steps: 2, valSet: undefined });
    expect(logs.some((l) => /parameters, mse loss$/.test(l))).toBe(true);
    expect(m.lastLoss).toBeGreaterThan(0);
    expect(m.lastLoss).toBeLessThan(a.lastLoss / 3);

    // x4 from the trained x2 run (EDSR's trick): the convs before the tail carry over, the tail is new.
    logs.length = 0;
    const x4 = await trainSr({ ...base(), scale: 4, out: path.join(dir, 'x4'), init: path.join(dir, 'a'), steps: 2, valSet: undefined });
    expect(x4.step).toBe(2);
    expect(logs.some((l) => /--init x2 -> x4: 2 layers copied; new: tail_conv$/.test(l))).toBe(true);
    const m4 = await loadLayersModel(path.join(dir, 'x4', 'model'));
    expect(m4.getLayer('tail_conv').getWeights()[0].shape).toEqual([3, 3, 8, 48]);
    await expect(trainSr({ ...base(), features: undefined, scale: 2, out: path.join(dir, 'x4'), resume: true, steps: 3, valSet: undefined })).rejects.toThrow(/is a x4 model, but --scale is 2/);

    // A quality network grown deeper from a trained one: the new block starts as the identity.
    const q = { ...base(), tier: 'quality' as const, features: [8], steps: 2, valSet: undefined };
    await trainSr({ ...q, blocks: 1, out: path.join(dir, 'q1') });
    logs.length = 0;
    const deeper = await trainSr({ ...q, blocks: 2, out: path.join(dir, 'q2'), init: path.join(dir, 'q1') });
    expect(deeper.step).toBe(2);
    expect(logs.some((l) => /--init 1 -> 2 residual blocks: \d+ layers copied; new: block1_conv1; started as the identity: block1_conv2$/.test(l))).toBe(true);
    expect((await loadLayersModel(path.join(dir, 'q2', 'model'))).getLayer('block1_conv2').getWeights()[0].shape).toEqual([3, 3, 8, 8]);
    await expect(trainSr({ ...q, blocks: 1, out: path.join(dir, 'q3'), init: path.join(dir, 'q2') })).rejects.toThrow(/cannot have fewer/);
    // ... and wider: the trained channels keep their weights, the new ones start unseen.
    logs.length = 0;
    const wider = await trainSr({ ...q, features: [10], blocks: 2, out: path.join(dir, 'q2w'), init: path.join(dir, 'q2') });
    expect(wider.step).toBe(2);
    expect(logs.some((l) => /--init 8 -> 10 features: 0 layers copied; widened \(trained weights kept, new channels unseen by the old ones\): head, block0_conv1, .*tail_conv$/.test(l))).toBe(true);
    expect((await loadLayersModel(path.join(dir, 'q2w', 'model'))).getLayer('block1_conv2').getWeights()[0].shape).toEqual([3, 3, 10, 10]);
  }, 240_000);

  it('keeps a weight average (--ema): validated beside the trained weights, checkpointed, resumed exactly, exported', async () => {
    logs.length = 0;
    const o = { ...base(), ema: 0.5, valEvery: 3 };
    await trainSr({ ...o, out: path.join(dir, 'ema-a') });
    await trainSr({ ...o, out: path.join(dir, 'ema-b'), stopAfter: 3 });
    // without the flag, a resumed run keeps the checkpoint's average
    await trainSr({ ...base(), valEvery: 3, out: path.join(dir, 'ema-b'), resume: true });
    expect(logs.filter((l) => /^weight average \(EMA\) of the generator, decay 0\.5$/.test(l))).toHaveLength(3);
    expect(logs.some((l) => /step 3: Set5 x2 Y-PSNR \d+\.\d{3} dB \[EMA; trained weights \d+\.\d{3} dB\]/.test(l))).toBe(true);
    const ca = (await findLatestCheckpoint(path.join(dir, 'ema-a', 'checkpoints')))!;
    const cb = (await findLatestCheckpoint(path.join(dir, 'ema-b', 'checkpoints')))!;
    const st = await readCheckpointState(ca);
    expect(st.models).toEqual(['generator', 'generator-ema']);
    expect(st.state.ema).toEqual({ decay: 0.5, updates: 6 });
    expect((await readCheckpointState(cb)).state.ema).toEqual({ decay: 0.5, updates: 6 });
    const hist = st.state.valHistory as { step: number; psnr: number; raw?: number }[];
    expect(hist.map((h) => h.step)).toEqual([3, 6]);
    expect(hist.every((h) => Number.isFinite(h.raw) && h.raw !== h.psnr)).toBe(true);
    const load = async (c: string, name: string) => (await loadLayersModel(path.join(c, 'models', name))).getWeights().map((w) => Array.from(w.dataSync()));
    const emaA = await load(ca, 'generator-ema');
    expect(await load(cb, 'generator-ema')).toEqual(emaA); // killed and resumed: the same average
    expect(emaA[0]).not.toEqual((await load(ca, 'generator'))[0]);
    // export and eval take the average from a run folder or checkpoint
    expect(await findGeneratorFolder(path.join(dir, 'ema-a'))).toBe(path.join(ca, 'models', 'generator-ema'));
    expect((await loadLayersModel(path.join(dir, 'ema-a', 'model'))).getWeights().map((w) => Array.from(w.dataSync()))).toEqual(emaA);
    // a run without an average gains one on --resume --ema, started at the resumed weights
    await trainSr({ ...base(), out: path.join(dir, 'ema-c'), stopAfter: 3 });
    await trainSr({ ...base(), out: path.join(dir, 'ema-c'), resume: true, ema: 0.5 });
    expect(logs.some((l) => /^weight average \(EMA\) of the generator, decay 0\.5, started at the resumed weights$/.test(l))).toBe(true);
    expect((await readCheckpointState((await findLatestCheckpoint(path.join(dir, 'ema-c', 'checkpoints')))!)).state.ema).toEqual({ decay: 0.5, updates: 3 });
    await expect(trainSr({ ...base(), out: path.join(dir, 'ema-d'), ema: 1 })).rejects.toThrow(/--ema must be a decay strictly between 0 and 1/);
  }, 120_000);

  it('a NaN loss rolls back to the last checkpoint with half the learning rate and says so', async () => {
    logs.length = 0;
    const r = await trainSr({
      ...base(),
      out: path.join(dir, 'nan'),
      onStep: ({ step, lrMult }, g) => {
        // after step 4 (checkpoint 3 is clean): the next loss is NaN
        if (step === 4 && lrMult === 1) g.setWeights(g.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, NaN) : w)));
      },
    });
    expect(r.nanRollbacks).toBe(1);
    expect(r.lrMult).toBe(0.5);
    expect(r.step).toBe(6);
    expect(Number.isFinite(r.lastLoss)).toBe(true);
    expect(logs.some((l) => /loss was NaN: rolled back to .*step-00000003 \(step 3\) and lowered the learning rate x0\.5/.test(l))).toBe(true);
    const m = await loadLayersModel(path.join(dir, 'nan', 'model'));
    expect(m.getWeights().every((w) => w.dataSync().every(Number.isFinite))).toBe(true);
  }, 120_000);
});

describe('SR pixel loss', () => {
  it('is the mean absolute error (l1) or the mean squared error (mse)', () => {
    const sr = tf.tensor4d([0.5, 0.2, 0.9, 0.0], [1, 2, 2, 1]);
    const hr = tf.tensor4d([0.1, 0.2, 0.6, 0.5], [1, 2, 2, 1]);
    expect(pixelLoss('l1', sr, hr).dataSync()[0]).toBeCloseTo((0.4 + 0 + 0.3 + 0.5) / 4, 6);
    expect(pixelLoss('mse', sr, hr).dataSync()[0]).toBeCloseTo((0.16 + 0 + 0.09 + 0.25) / 4, 6);
  });
});
