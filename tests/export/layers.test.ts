/**
 * One tiny model per emitter: random weights (biases included), odd and even sizes, every
 * stride/padding combination the emitter handles; the exporter's own parity check (onnxruntime
 * CPU vs tfjs predict) must pass at <= 1e-4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectParity, imageInput, modelOf, tempDir, tfl, useCpu, type ST } from './helpers';
import { InstanceNorm, PixelShuffle, ReflectionPad2D } from '../../training/models/layers';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  await useCpu();
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const ODD_EVEN: [number, number][] = [
  [9, 7],
  [8, 10],
];
const L = tfl.layers;
const apply = (layer: tfl.layers.Layer, x: ST | ST[]) => layer.apply(x) as ST;

describe('convolution emitters', () => {
  for (const padding of ['valid', 'same'] as const)
    for (const strides of [1, 2])
      for (const kernelSize of [1, 3, 4]) {
        it(`Conv2D k${kernelSize} s${strides} ${padding}`, async () => {
          const x = imageInput();
          const m = modelOf(x, apply(L.conv2d({ filters: 4, kernelSize, strides, padding }), x));
          await expectParity(m, dir, ODD_EVEN);
        });
      }

  it('Conv2D with non-square kernel/strides, dilation 2, no bias, and activations', async () => {
    const x = imageInput();
    let h = apply(L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same', activation: 'elu' }), x);
    h = apply(L.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false, activation: 'sigmoid' }), h);
    h = apply(L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'valid', activation: 'tanh' }), h);
    await expectParity(modelOf(x, h), dir, [
      [11, 9],
      [12, 14],
    ]);
  });

  for (const padding of ['valid', 'same'] as const)
    for (const [kernelSize, strides] of [
      [3, 1],
      [3, 2],
      [4, 2],
      [1, 2],
      [2, 3],
    ]) {
      it(`Conv2DTranspose k${kernelSize} s${strides} ${padding}`, async () => {
        const x = imageInput();
        const m = modelOf(x, apply(L.conv2dTranspose({ filters: 3, kernelSize, strides, padding }), x));
        await expectParity(m, dir, ODD_EVEN);
      });
    }

  for (const [depthMultiplier, strides, padding] of [
    [1, 1, 'same'],
    [2, 2, 'same'],
    [1, 2, 'valid'],
  ] as const) {
    it(`DepthwiseConv2D x${depthMultiplier} s${strides} ${padding}`, async () => {
      const x = imageInput();
      const m = modelOf(x, apply(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier, strides, padding, activation: 'relu' }), x));
      await expectParity(m, dir, ODD_EVEN);
    });
  }

  for (const [strides, padding] of [
    [2, 'same'],
    [1, 'valid'],
  ] as const) {
    it(`SeparableConv2D s${strides} ${padding}`, async () => {
      const x = imageInput();
      const m = modelOf(x, apply(L.separableConv2d({ filters: 5, kernelSize: 3, depthMultiplier: 2, strides, padding, activation: 'relu6' }), x));
      await expectParity(m, dir, ODD_EVEN);
    });
  }

  it('Dense on an image (1x1 conv over channels) and on a pooled vector (Gemm)', async () => {
    const x = imageInput();
    const img = apply(L.dense({ units: 4, activation: 'softmax' }), x);
    await expectParity(modelOf(x, img), dir, ODD_EVEN);
    const y = imageInput();
    const v = apply(L.dense({ units: 2, activation: 'softplus' }), apply(L.globalAveragePooling2d({}), apply(L.conv2d({ filters: 4, kernelSize: 3 }), y)));
    await expectParity(modelOf(y, v), dir, ODD_EVEN);
  });
});

describe('activation emitters', () => {
  const acts = ['relu', 'relu6', 'elu', 'selu', 'tanh', 'sigmoid', 'hardSigmoid', 'softplus', 'softsign', 'softmax', 'logSoftmax', 'swish', 'mish', 'gelu', 'gelu_new', 'linear'];
  it(`conv activations: ${acts.join(', ')}`, async () => {
    for (const activation of acts) {
      const x = imageInput();
      const m = modelOf(x, apply(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: activation as never }), x));
      await expectParity(m, dir, [[5, 7]]);
    }
  });

  it('Activation, ReLU (max), LeakyReLU, PReLU (shared and per-pixel), ELU (tfjs: alpha 1 only), ThresholdedReLU, Softmax layers', async () => {
    const x = imageInput();
    let h = apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x);
    h = apply(L.activation({ activation: 'tanh' }), h);
    h = apply(L.leakyReLU({ alpha: 0.2 }), apply(L.conv2d({ filters: 4, kernelSize: 1 }), h));
    h = apply(L.reLU({ maxValue: 0.5 }), apply(L.conv2d({ filters: 4, kernelSize: 1 }), h));
    h = apply(L.prelu({ sharedAxes: [1, 2] }), apply(L.conv2d({ filters: 4, kernelSize: 1 }), h));
    h = apply(L.elu({ alpha: 1 }), apply(L.conv2d({ filters: 4, kernelSize: 1 }), h));
    h = apply(L.thresholdedReLU({ theta: 0.1 }), h);
    h = apply(L.softmax({ axis: -1 }), h);
    h = apply(L.softmax({ axis: [1, 2] }), h);
    await expectParity(modelOf(x, h), dir, ODD_EVEN);
    // PReLU without shared axes needs a fixed spatial size.
    const f = tfl.input({ shape: [6, 5, 3] });
    await expectParity(modelOf(f, apply(L.prelu({}), f)), dir, [[6, 5]]);
  });
});

describe('merge, padding, resampling, pooling, normalization emitters', () => {
  it('Add, Multiply, Average, Maximum, Minimum, Concatenate (channels and height)', async () => {
    const x = imageInput();
    const a = apply(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x);
    const b = apply(L.conv2d({ filters: 3, kernelSize: 1 }), x);
    const c = apply(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }), x);
    let h = apply(L.add(), [a, b, c]);
    h = apply(L.multiply(), [h, a, c]);
    h = apply(L.average(), [h, b]);
    h = apply(L.maximum(), [h, a]);
    h = apply(L.minimum(), [h, c, b]);
    h = apply(L.concatenate(), [h, a]);
    h = apply(L.concatenate({ axis: 1 }), [h, h]);
    await expectParity(modelOf(x, h), dir, ODD_EVEN);
  });

  it('ZeroPadding2D (asymmetric), Cropping2D, ReflectionPad2D', async () => {
    const x = imageInput();
    let h = apply(L.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), x);
    h = apply(L.conv2d({ filters: 4, kernelSize: 3 }), h);
    h = apply(L.cropping2D({ cropping: [[1, 0], [2, 1]] }), h);
    h = apply(new ReflectionPad2D({ padding: 2 }), h);
    await expectParity(modelOf(x, h), dir, ODD_EVEN);
  });

  it("stock Cropping2D (negative symbolic dims) before a stride-2 'same' conv", async () => {
    const x = imageInput();
    const c = apply(L.cropping2D({ cropping: [[1, 0], [0, 2]] }), x);
    const h = apply(L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), c);
    await expectParity(modelOf(x, h), dir, [
      [10, 11],
      [9, 12],
    ]);
  });

  for (const interpolation of ['nearest', 'bilinear'] as const) {
    it(`UpSampling2D ${interpolation} [2, 3]`, async () => {
      const x = imageInput();
      const h = apply(L.upSampling2d({ size: [2, 3], interpolation }), apply(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x));
      await expectParity(modelOf(x, h), dir, ODD_EVEN);
    });
  }

  it('PixelShuffle x2 and x3 (DepthToSpace DCR)', async () => {
    for (const scale of [2, 3]) {
      const x = imageInput();
      const h = apply(new PixelShuffle({ scale }), apply(L.conv2d({ filters: 3 * scale * scale, kernelSize: 3, padding: 'same' }), x));
      const r = await expectParity(modelOf(x, h), dir, ODD_EVEN, { rgb: true });
      expect(r.scale).toBe(scale);
    }
  });

  it('MaxPooling2D, AveragePooling2D (same, stride 2), GlobalMaxPooling2D, Flatten', async () => {
    const x = imageInput();
    let h = apply(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x);
    h = apply(L.averagePooling2d({ poolSize: 2, padding: 'same' }), apply(L.conv2d({ filters: 4, kernelSize: 1 }), h));
    h = apply(L.averagePooling2d({ poolSize: [2, 3], strides: 1, padding: 'valid' }), h);
    await expectParity(modelOf(x, h), dir, [
      [13, 11],
      [12, 16],
    ]);
    const y = imageInput();
    const v = apply(L.globalMaxPooling2d({}), apply(L.conv2d({ filters: 4, kernelSize: 3 }), y));
    await expectParity(modelOf(y, v), dir, ODD_EVEN);
    // Flatten needs a fixed size; tfjs flattens in NHWC order.
    const f = tfl.input({ shape: [4, 5, 3] });
    const d = apply(L.dense({ units: 3 }), apply(L.flatten(), apply(L.conv2d({ filters: 2, kernelSize: 1 }), f)));
    await expectParity(modelOf(f, d), dir, [[4, 5]]);
  });

  it('BatchNormalization (inference statistics; with and without center/scale), Dropout', async () => {
    const x = imageInput();
    let h = apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x);
    h = apply(L.batchNormalization({ epsilon: 1e-3 }), h);
    h = apply(L.dropout({ rate: 0.5 }), h);
    h = apply(L.batchNormalization({ center: false, scale: false }), h);
    await expectParity(modelOf(x, h), dir, ODD_EVEN);
  });

  for (const affine of [false, true]) {
    it(`InstanceNorm affine=${affine}`, async () => {
      const x = imageInput();
      const h = apply(new InstanceNorm({ affine }), apply(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x));
      await expectParity(modelOf(x, h), dir, ODD_EVEN);
    });
  }
});

describe('graph structure', () => {
  it('a shared layer applied twice and a nested Sequential model', async () => {
    const x = imageInput();
    const shared = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' });
    const inner = tfl.sequential({ layers: [L.conv2d({ inputShape: [null, null, 3], filters: 3, kernelSize: 1 }), L.leakyReLU({ alpha: 0.1 })] });
    const h = apply(shared, apply(inner, apply(shared, x)));
    const m = modelOf(x, apply(L.add(), [h, x]));
    expect(m.layers.map((l) => l.getClassName())).toContain('Sequential');
    const r = await expectParity(m, dir, ODD_EVEN, { rgb: true });
    expect(r.scale).toBe(1);
    expect(r.parameters).toBe(m.countParams()); // the shared layer and the nested model's layers counted once
  });
});
