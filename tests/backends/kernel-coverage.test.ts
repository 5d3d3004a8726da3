/**
 * Kernel coverage: one full training step (forward, tf.variableGrads, Adam update) of each model
 * family Ganvas trains, on wasm. tfjs throws "Kernel 'X' not registered for backend 'wasm'"
 * when an op has no wasm kernel; the step must run, every kernel it used must be a wasm kernel,
 * and the gradients must equal the cpu backend's (so the added kernels are also right in situ).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { input, layers, model, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../training/backends';
import { InstanceNorm, PixelShuffle, ReflectionPad2D } from '../../training/models/layers';
import { resnetGenerator } from '../../training/models/resnet-generator';
import { patchGan } from '../../training/models/patchgan';
import { tinyGenerator } from '../../training/models/light-generator';
import { halfResGenerator } from '../../training/models/halfres-generator';
import { randomValues, relError, sizeOf } from './helpers';

/** A tiny SR-style net using every layer kind a super-resolution or real-time generator may use. */
function tinySrNet(): LayersModel {
  const inp = input({ shape: [null, null, 3] });
  let a = new ReflectionPad2D({ padding: 1 }).apply(inp) as SymbolicTensor;
  a = layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }).apply(a) as SymbolicTensor;
  a = new InstanceNorm({ affine: true }).apply(a) as SymbolicTensor;
  a = layers.leakyReLU({ alpha: 0.2 }).apply(a) as SymbolicTensor;
  let b = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'sigmoid' }).apply(a) as SymbolicTensor;
  b = layers.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same' }).apply(b) as SymbolicTensor;
  const c = new PixelShuffle({ scale: 2 }).apply(b) as SymbolicTensor;
  const d = layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }).apply(a) as SymbolicTensor;
  const e = layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(inp) as SymbolicTensor;
  const f0 = layers.conv2d({ filters: 3, kernelSize: 1, strides: 1 }).apply(a) as SymbolicTensor;
  const f = layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }).apply(f0) as SymbolicTensor;
  let y = layers.concatenate().apply([layers.add().apply([c, d]) as SymbolicTensor, e, f]) as SymbolicTensor;
  y = layers.conv2d({ filters: 3, kernelSize: 3, strides: 1, padding: 'same' }).apply(y) as SymbolicTensor;
  return model({ inputs: inp, outputs: y });
}

interface Case {
  name: string;
  build: () => LayersModel;
  inShape: number[];
  loss: (y: tf.Tensor, t: tf.Tensor) => tf.Scalar;
}

const l1 = (y: tf.Tensor, t: tf.Tensor): tf.Scalar => tf.mean(tf.abs(tf.sub(y, t)));
const lsgan = (y: tf.Tensor, t: tf.Tensor): tf.Scalar => tf.mean(tf.squaredDifference(y, t));

const CASES: Case[] = [
  { name: 'ResNet generator (ngf 4, 2 blocks)', build: () => resnetGenerator({ ngf: 4, nBlocks: 2 }), inShape: [2, 12, 16, 3], loss: l1 },
  { name: 'tiny webcam generator (strided depthwise downsampling, ngf 4, 1 block)', build: () => tinyGenerator({ ngf: 4, nBlocks: 1 }), inShape: [2, 12, 16, 3], loss: l1 },
  { name: 'half-resolution webcam generator (4x4 stride-2 stem, PixelShuffle residual, ngf 4, 1 block)', build: halfResWithLiveHead, inShape: [2, 12, 16, 3], loss: l1 },
  { name: 'PatchGAN (ndf 4, 3 layers)', build: () => patchGan({ ndf: 4 }), inShape: [2, 32, 40, 3], loss: lsgan },
  { name: 'tiny SR net (PixelShuffle, conv2dTranspose, depthwise, separable, resize)', build: tinySrNet, inShape: [2, 7, 9, 3], loss: l1 },
];

/**
 * The half-resolution generator starts as the identity (its residual conv is zero), so every layer
 * before that conv gets an exactly-zero gradient; a random head makes the gradients reach them all.
 */
function halfResWithLiveHead(): LayersModel {
  const m = halfResGenerator({ ngf: 4, nBlocks: 1 });
  const head = m.layers.filter((l) => l.getClassName() === 'Conv2D').at(-1)!;
  head.setWeights(head.getWeights().map((w, i) => tf.tensor(randomValues(w.size, 50 + i), w.shape)));
  return m;
}

function gradsOf(m: LayersModel, x: tf.Tensor, loss: (y: tf.Tensor) => tf.Scalar): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.variableGrads(() => loss(m.apply(x, { training: true }) as tf.Tensor), vars);
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('one training step on wasm uses only wasm kernels and matches cpu', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await tf.setBackend('wasm');
      const m = c.build();
      const x = tf.tensor(randomValues(sizeOf(c.inShape), 3), c.inShape);
      const outShape = (m.apply(x) as tf.Tensor).shape;
      const t = tf.tensor(randomValues(sizeOf(outShape), 4), outShape);
      const names = m.trainableWeights.map((w) => (w.read() as tf.Variable).name);

      // wasm: gradients, with the kernels used recorded
      let wasmGrads: Float32Array[] = [];
      const profile = await tf.profile(async () => {
        const { value, grads } = gradsOf(m, x, (y) => c.loss(y, t));
        wasmGrads = await Promise.all(names.map(async (n) => (await grads[n].data()) as Float32Array));
        expect(Number.isFinite((await value.data())[0])).toBe(true);
        tf.dispose([value, grads]);
      });
      const used = [...new Set(profile.kernelNames)].sort();
      // customGrad ops (fusedConv2d__op) are recorded under their op name; their kernels are listed too
      const missing = used.filter((k) => !k.endsWith('__op') && !tf.getKernel(k, 'wasm'));
      expect(missing, `kernels used: ${used.join(' ')}`).toEqual([]);
      for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput']) expect(used).toContain(k);

      // cpu: the same gradients
      await tf.setBackend('cpu');
      const cpu = gradsOf(m, x, (y) => c.loss(y, t));
      const refs = await Promise.all(names.map(async (n) => (await cpu.grads[n].data()) as Float32Array));
      // A conv bias right before an affine-free InstanceNorm has an exactly-zero true gradient
      // (IN removes the mean), so its float noise is compared against the model's gradient scale.
      const scale = Math.max(...refs.map((r) => r.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
      for (let i = 0; i < names.length; i++) {
        let num = 0;
        let den = 1e-2 * scale;
        for (let j = 0; j < refs[i].length; j++) {
          num = Math.max(num, Math.abs(refs[i][j] - wasmGrads[i][j]));
          den = Math.max(den, Math.abs(refs[i][j]));
        }
        expect(num / den, `gradient of ${names[i]}`).toBeLessThanOrEqual(1e-3);
      }
      tf.dispose([cpu.value, cpu.grads]);

      // wasm: a full Adam step changes the weights and lowers nothing to NaN
      await tf.setBackend('wasm');
      const before = await Promise.all(m.trainableWeights.map((w) => w.read().data()));
      const opt = tf.train.adam(1e-3, 0.5, 0.999);
      const lossValue = opt.minimize(() => c.loss(m.apply(x, { training: true }) as tf.Tensor, t), true, m.trainableWeights.map((w) => w.read() as tf.Variable));
      expect(Number.isFinite((await lossValue!.data())[0])).toBe(true);
      const after = await Promise.all(m.trainableWeights.map((w) => w.read().data()));
      const changed = after.filter((a, i) => relError(before[i], a) > 0).length;
      expect(changed).toBe(after.length);
      tf.dispose([x, t, lossValue!]);
      opt.dispose();
      m.dispose();
    });
  }
});
