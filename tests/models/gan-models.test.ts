/**
 * Reference GAN models: shapes, parameter counts equal to Zhu et al.'s PyTorch models,
 * MACs, the PatchGAN's 70x70 receptive field (measured by gradients), and PyTorch's
 * ConvTranspose(k3, s2, p1, op1) semantics of the generator's upsampling.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { input, layers, model, models, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../training/backends';
import { Cropping2D, resnetGenerator } from '../../training/models/resnet-generator';
import { patchGan, patchGanReceptiveField } from '../../training/models/patchgan';
import { countParams, layerCosts, macs, outputShapeFor } from '../../training/models/stats';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('ResNet generator', () => {
  it('ngf 64, 9 blocks has the PyTorch ResnetGenerator parameter count (11,378,179) and maps 256x256 to 256x256', () => {
    const g = resnetGenerator();
    // stem 7*7*3*64+64, downs 3*3*64*128+128 and 3*3*128*256+256, 18 block convs 3*3*256*256+256,
    // transposed 3*3*256*128+128 and 3*3*128*64+64, head 7*7*64*3+3
    expect(countParams(g)).toBe(9472 + 73856 + 295168 + 18 * 590080 + 295040 + 73792 + 9411);
    expect(countParams(g)).toBe(11_378_179);
    expect(g.inputs[0].shape).toEqual([null, null, null, 3]);
    expect(g.outputs[0].shape).toEqual([null, null, null, 3]);
    expect(outputShapeFor(g, 256, 256)).toEqual([1, 256, 256, 3]);
    const gmacs = macs(g, 256, 256) / 1e9;
    console.log(`ResnetGenerator ngf64 9 blocks: ${countParams(g).toLocaleString('en-US')} params, ${gmacs.toFixed(2)} GMACs at 256x256`);
    expect(gmacs).toBeCloseTo(49.55, 1);
    g.dispose();
  });

  it('small variant runs on dynamic, non-square H, W (multiples of 4), output in [-1, 1]', () => {
    const g = resnetGenerator({ ngf: 4, nBlocks: 2, useDropout: true });
    for (const [h, w] of [[12, 20], [16, 8]]) {
      const y = tf.tidy(() => g.apply(tf.randomUniform([2, h, w, 3], -1, 1), { training: true }) as tf.Tensor);
      expect(y.shape).toEqual([2, h, w, 3]);
      const v = y.dataSync();
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
      y.dispose();
    }
    expect(g.layers.filter((l) => l.getClassName() === 'Dropout')).toHaveLength(2);
    g.dispose();
  });

  it('upsampling equals PyTorch ConvTranspose2d(k3, s2, padding 1, output_padding 1)', async () => {
    // out[i] = sum over j, k with i = 2j - 1 + k of in[j] * w[k]   (PyTorch's definition)
    const inp = input({ shape: [null, null, 1] });
    let x = layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(inp) as SymbolicTensor;
    x = new Cropping2D({ cropping: [[1, 0], [1, 0]] }).apply(x) as SymbolicTensor;
    const m = model({ inputs: inp, outputs: x });
    expect(m.outputs[0].shape).toEqual([null, null, null, 1]);
    const wv = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    m.layers[1].setWeights([tf.tensor4d(wv, [3, 3, 1, 1])]);
    const h = 3;
    const w = 4;
    const xin = Array.from({ length: h * w }, (_, i) => (i * 7) % 5 - 2);
    const y = m.predict(tf.tensor4d(xin, [1, h, w, 1])) as tf.Tensor;
    expect(y.shape).toEqual([1, 2 * h, 2 * w, 1]);
    const got = await y.data();
    for (let i = 0; i < 2 * h; i++)
      for (let j = 0; j < 2 * w; j++) {
        let want = 0;
        for (let a = 0; a < h; a++)
          for (let b = 0; b < w; b++) {
            const ki = i - 2 * a + 1;
            const kj = j - 2 * b + 1;
            if (ki >= 0 && ki < 3 && kj >= 0 && kj < 3) want += xin[a * w + b] * wv[ki * 3 + kj];
          }
        expect(got[i * 2 * w + j]).toBeCloseTo(want, 4);
      }
    tf.dispose([y]);
    m.dispose();
  });

  it('survives a save/load round trip (custom layers and the null-safe Cropping2D)', async () => {
    const g = resnetGenerator({ ngf: 2, nBlocks: 1 });
    let saved: tf.io.ModelArtifacts | undefined;
    await g.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await models.modelFromJSON(saved!.modelTopology as Parameters<typeof models.modelFromJSON>[0]);
    loaded.setWeights(g.getWeights());
    const x = tf.randomUniform([1, 8, 12, 3]);
    const a = g.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(b.shape).toEqual([1, 8, 12, 3]);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    expect(loaded.outputs[0].shape).toEqual([null, null, null, 3]);
    tf.dispose([x, a, b]);
  });
});

describe('PatchGAN', () => {
  it('ndf 64, 3 layers has the PyTorch NLayerDiscriminator parameter count (2,764,737); 256x256 -> 30x30', () => {
    const d = patchGan();
    expect(countParams(d)).toBe(3136 + 131200 + 524544 + 2097664 + 8193);
    expect(countParams(d)).toBe(2_764_737);
    expect(outputShapeFor(d, 256, 256)).toEqual([1, 30, 30, 1]);
    expect(d.outputs[0].shape).toEqual([null, null, null, 1]);
    const gmacs = macs(d, 256, 256) / 1e9;
    console.log(`PatchGAN ndf64 3 layers: ${countParams(d).toLocaleString('en-US')} params, ${gmacs.toFixed(2)} GMACs at 256x256`);
    expect(gmacs).toBeGreaterThan(3);
    const y = tf.tidy(() => d.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor);
    expect(y.shape).toEqual([1, 6, 6, 1]);
    y.dispose();
    d.dispose();
  });

  it('each logit sees exactly a 70x70 input patch (measured with gradients)', async () => {
    expect(patchGanReceptiveField(3)).toBe(70);
    const d = patchGan({ ndf: 2 });
    const size = 96;
    // InstanceNorm's per-image mean/variance couple all pixels, so the patch is measured on the
    // model's own pad/conv/activation stack with the norms skipped.
    const stack = d.layers.filter((l) => !['InputLayer', 'InstanceNorm'].includes(l.getClassName()));
    expect(stack.length).toBe(d.layers.length - 1 - 3);
    const g = tf.tidy(() => {
      const out = (x: tf.Tensor): tf.Scalar => {
        const y = stack.reduce((t, l) => l.apply(t) as tf.Tensor, x);
        const [, oh, ow] = y.shape;
        return tf.sum(tf.slice(y, [0, Math.floor(oh / 2), Math.floor(ow / 2), 0], [1, 1, 1, 1]));
      };
      return tf.sum(tf.abs(tf.grad(out)(tf.randomUniform([1, size, size, 3], 0.5, 1))), [0, 3]);
    });
    const v = await g.data();
    const rows = new Set<number>();
    const cols = new Set<number>();
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++)
        if (v[i * size + j] !== 0) {
          rows.add(i);
          cols.add(j);
        }
    expect(rows.size).toBe(70);
    expect(cols.size).toBe(70);
    g.dispose();
    d.dispose();
  });
});

describe('stats', () => {
  it('counts MACs of Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D and Dense', () => {
    const inp = input({ shape: [null, null, 3] });
    const a = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }).apply(inp) as SymbolicTensor; // 8x8x8
    const b = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }).apply(a) as SymbolicTensor; // 8x8x16
    const c = layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'valid' }).apply(b) as SymbolicTensor; // 6x6x4
    const d = layers.conv2dTranspose({ filters: 5, kernelSize: 3, strides: 2, padding: 'same' }).apply(c) as SymbolicTensor; // 12x12x5
    const e = layers.dense({ units: 7 }).apply(d) as SymbolicTensor; // 12x12x7
    const m = model({ inputs: inp, outputs: e });
    const costs = layerCosts(m, 16, 16).filter((l) => l.macs > 0);
    expect(costs.map((l) => l.macs)).toEqual([
      8 * 8 * 8 * 9 * 3,
      8 * 8 * 16 * 9,
      6 * 6 * 16 * 9 + 6 * 6 * 16 * 4,
      6 * 6 * 4 * 9 * 5,
      12 * 12 * 7 * 5,
    ]);
    expect(costs.map((l) => l.outputShape)).toEqual([
      [1, 8, 8, 8],
      [1, 8, 8, 16],
      [1, 6, 6, 4],
      [1, 12, 12, 5],
      [1, 12, 12, 7],
    ]);
    expect(macs(m, 16, 16)).toBe(costs.reduce((s, l) => s + l.macs, 0));
  });
});
