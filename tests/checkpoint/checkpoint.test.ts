import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { InstanceNorm, ReflectionPad2D } from '../../training/models/layers';
import { findLatestCheckpoint, installShippedCheckpoint, loadCheckpoint, loadLayersModel, saveCheckpoint } from '../../training/checkpoint';

tf.setBackend('cpu');

function tinyModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [null, null, 3] });
  let h = new ReflectionPad2D({ padding: 1 }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
  h = new InstanceNorm({ affine: true }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'tanh' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: h });
}

function step(model: tfl.LayersModel, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): void {
  opt.minimize(() => tf.mean(tf.abs(tf.sub(model.apply(x) as tf.Tensor, y))) as tf.Scalar, false, model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
}

const weightsOf = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('checkpoints', () => {
  it('resume continues exactly where the run stopped (weights, Adam state, tensors, state)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ckpt-'));
    const x = tf.randomUniform([1, 6, 6, 3], -1, 1, 'float32', 1);
    const y = tf.randomUniform([1, 6, 6, 3], -1, 1, 'float32', 2);
    const a = tinyModel();
    const optA = tf.train.adam(1e-2, 0.5);
    step(a, optA, x, y);
    step(a, optA, x, y);
    const pool = tf.randomNormal([2, 4, 4, 3]);
    await saveCheckpoint(dir, { step: 2, models: { g: a }, optimizers: { g: optA }, tensors: { pool }, state: { lr: 0.01, rng: 42 } });

    const b = tinyModel();
    const optB = tf.train.adam(1e-2, 0.5);
    const latest = await findLatestCheckpoint(dir);
    expect(latest).toMatch(/step-00000002$/);
    const restored = await loadCheckpoint(latest!, { models: { g: b }, optimizers: { g: optB } });
    expect(restored.step).toBe(2);
    expect(restored.state).toEqual({ lr: 0.01, rng: 42 });
    expect(Array.from(restored.tensors.pool.dataSync())).toEqual(Array.from(pool.dataSync()));
    expect(weightsOf(b)).toEqual(weightsOf(a));

    // One more step on each: the same only if Adam's moments and step count came back too.
    // (tfjs recomputes beta^t with pow() on restore instead of the running product: ~1e-7 rounding.)
    const before = weightsOf(a).flat();
    step(a, optA, x, y);
    step(b, optB, x, y);
    const wa = weightsOf(a).flat();
    const wb = weightsOf(b).flat();
    const moved = Math.max(...wa.map((v, i) => Math.abs(v - before[i])));
    const diff = Math.max(...wa.map((v, i) => Math.abs(v - wb[i])));
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(1e-6);

    // A fresh optimizer (what a resume without optimizer state would do) is measurably different.
    const c = tinyModel();
    await loadCheckpoint(latest!, { models: { g: c } });
    step(c, tf.train.adam(1e-2, 0.5), x, y);
    const wc = weightsOf(c).flat();
    expect(Math.max(...wa.map((v, i) => Math.abs(v - wc[i])))).toBeGreaterThan(1e-4);

    // The exported model folder is a standard tfjs layers model.
    const loaded = await loadLayersModel(path.join(latest!, 'models', 'g'));
    expect(loaded.getWeights().length).toBe(a.getWeights().length);
  });

  it('ignores a half-written checkpoint and keeps the last complete one', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ckpt-'));
    const m = tinyModel();
    await saveCheckpoint(dir, { step: 5, models: { g: m } });
    // A process killed mid-write leaves a temp folder and never moves `latest`.
    await fs.mkdir(path.join(dir, 'step-00000010.tmp-999-1', 'models'), { recursive: true });
    expect(await findLatestCheckpoint(dir)).toMatch(/step-00000005$/);
    // Even without the pointer file, only complete folders count.
    await fs.rm(path.join(dir, 'latest'));
    await fs.mkdir(path.join(dir, 'step-00000011'));
    expect(await findLatestCheckpoint(dir)).toMatch(/step-00000005$/);
  });

  it('keeps only the newest checkpoints and names a mismatched architecture', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ckpt-'));
    const m = tinyModel();
    for (const s of [1, 2, 3, 4]) await saveCheckpoint(dir, { step: s, models: { g: m } }, { keep: 2 });
    expect((await fs.readdir(dir)).sort()).toEqual(['latest', 'step-00000003', 'step-00000004']);
    const other = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [null, null, 3], filters: 5, kernelSize: 3 })] });
    await expect(loadCheckpoint(path.join(dir, 'step-00000004'), { models: { g: other } })).rejects.toThrow(/weight tensors saved but the model has/);
    await expect(loadCheckpoint(path.join(dir, 'step-00000004'), { models: { d: m } })).rejects.toThrow(/no model "d"/);
  });

  it('shipping a checkpoint replaces the shipped one and keeps the training/ continuation beside it', async () => {
    const run = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-ckpt-'));
    const m = tinyModel();
    const first = await saveCheckpoint(run, { step: 100, models: { g: m } }, { keep: 5 });
    const second = await saveCheckpoint(run, { step: 200, models: { g: m } }, { keep: 5 });
    const home = path.join(run, 'home');
    await installShippedCheckpoint(home, first);
    // A later session commits an unshipped continuation and its notes next to the shipped checkpoint.
    const continuation = path.join(home, 'training', 'step-00000150');
    await fs.cp(first, continuation, { recursive: true });
    await fs.writeFile(path.join(home, 'training', 'README.md'), 'resume from here\n');
    await fs.writeFile(path.join(home, 'curve.json'), '{}\n');

    expect(await installShippedCheckpoint(home, second)).toBe(path.join(home, 'step-00000200'));
    expect((await fs.readdir(home)).sort()).toEqual(['curve.json', 'latest', 'step-00000200', 'training']);
    expect(await findLatestCheckpoint(home)).toBe(path.join(home, 'step-00000200'));
    expect(await fs.readFile(path.join(home, 'training', 'README.md'), 'utf8')).toBe('resume from here\n');
    await fs.access(path.join(continuation, 'meta.json'));
    // The shipped copy loads like the original.
    await loadCheckpoint(path.join(home, 'step-00000200'), { models: { g: tinyModel() } });
    // Not a checkpoint: refused before anything in home is touched.
    await expect(installShippedCheckpoint(home, path.join(home, 'training'))).rejects.toThrow(/not a checkpoint folder/);
    await expect(installShippedCheckpoint(home, path.join(run, 'step-00000300'))).rejects.toThrow(/not a complete checkpoint/);
    expect((await fs.readdir(home)).sort()).toEqual(['curve.json', 'latest', 'step-00000200', 'training']);
  });
});
