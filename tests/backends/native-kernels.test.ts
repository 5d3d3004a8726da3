/**
 * The native backend's kernels (onnxruntime-node CPU kernels behind tfjs-backend-wasm) against
 * tfjs's cpu backend (the reference): odd shapes, strides 1/2/3, 'same', 'valid' and explicit
 * padding, dilation, batch > 1, channels that are not multiples of 4, depth multipliers, fused
 * bias + every activation, batched and broadcast matrix products. Relative error <= 1e-4, no
 * tensor or wasm buffer leaks, and refusals name the op.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { NATIVE_KERNELS, nativeStats, pickFilterGradMethod, registerNativeBackend, setFilterGradMethod, setNativeStrict } from '../../training/backends/native/kernels';
import { IM2COL_CHUNK_FLOATS } from '../../training/backends/native/graphs';
import {
  compareOn,
  conv2dTransposeErrors,
  CONV_CASES,
  convInputs,
  convLabel as label,
  DEPTHWISE_CASES,
  depthwiseGradientErrors,
  depthwiseInputs,
  kernel,
  KERNEL_TOL as TOL,
  randomValues,
  relError,
  runOn,
  sizeOf,
  type ConvCase,
} from './helpers';

/**
 * The shared cases plus stride 3 'valid', an explicit pad, a generator's 3x3 stride-2 'same' layer
 * on an even size, stride 3 on multiples of 3 and a PatchGAN-like 4x4 stride 2 with an explicit pad.
 */
const CASES: ConvCase[] = [
  ...CONV_CASES,
  { n: 2, h: 14, w: 13, ci: 3, co: 4, kh: 3, kw: 3, s: [3, 3], pad: 'valid' },
  { n: 2, h: 10, w: 9, ci: 4, co: 5, kh: 3, kw: 3, s: [2, 2], pad: 1 },
  { n: 2, h: 10, w: 8, ci: 3, co: 6, kh: 3, kw: 3, s: [2, 2], pad: 'same' },
  { n: 1, h: 12, w: 9, ci: 5, co: 4, kh: 3, kw: 3, s: [3, 3], pad: 'valid' },
  { n: 1, h: 12, w: 12, ci: 4, co: 3, kh: 4, kw: 4, s: [2, 2], pad: 1 },
  // RGB heads (the dy-taps filter gradient): 7x7 'same', 3x3 'valid', an even kernel's uneven 'same' pads
  { n: 1, h: 12, w: 10, ci: 16, co: 3, kh: 7, kw: 7, s: [1, 1], pad: 'same' },
  { n: 2, h: 9, w: 9, ci: 12, co: 3, kh: 3, kw: 3, s: [1, 1], pad: 'valid' },
  { n: 1, h: 8, w: 10, ci: 9, co: 2, kh: 4, kw: 4, s: [1, 1], pad: 'same' },
];

const compare = (f: () => tf.Tensor) => compareOn('native', f);

beforeAll(async () => {
  const report = await initBackend({ backend: 'native', log: () => {} });
  expect(report.name).toBe('native');
});

describe('native backend registration', () => {
  it('is the wasm instance under a second name, with the heavy kernels replaced', () => {
    expect(tf.findBackend('native')).toBe(tf.findBackend('wasm'));
    for (const name of Object.keys(NATIVE_KERNELS)) {
      expect(tf.getKernel(name, 'native')!.kernelFunc, name).toBe(NATIVE_KERNELS[name]);
      expect(tf.getKernel(name, 'wasm')?.kernelFunc, name).not.toBe(NATIVE_KERNELS[name]);
    }
    // every other wasm kernel is available under 'native' too
    const missing = tf.getKernelsForBackend('wasm').filter((k) => !tf.getKernel(k.kernelName, 'native'));
    expect(missing.map((k) => k.kernelName)).toEqual([]);
  });
});

describe('Conv2D, Conv2DBackpropFilter (every formulation), Conv2DBackpropInput on native match cpu', () => {
  it('picks the dy-taps filter gradient for few output channels at stride 1 only', () => {
    const geom = (ci: number, co: number, k: number, s: number, n = 128) => ({ n: 1, h: n + k - 1, w: n + k - 1, ci, co, kh: k, kw: k, sh: s, sw: s, dh: 1, dw: 1, top: 0, bottom: 0, left: 0, right: 0, oh: n, ow: n });
    expect(pickFilterGradMethod(geom(32, 3, 7, 1))).toBe('dycol'); // the ResNet generator's head
    expect(pickFilterGradMethod(geom(16, 3, 3, 1, 256))).toBe('dycol'); // the tiny generator's head
    expect(pickFilterGradMethod(geom(32, 3, 4, 2))).toBe('conv'); // strided: not for dycol
    expect(pickFilterGradMethod(geom(128, 128, 3, 1, 32))).toBe('im2col');
    expect(pickFilterGradMethod(geom(3, 32, 7, 1))).toBe('conv'); // the stem
  });
  for (const c of CASES) {
    it(label(c), async () => {
      const { xShape, fShape, dyShape, xv, fv, dyv } = convInputs(c);
      const conv = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] };
      expect(await compare(() => kernel(tf.Conv2D, { x: tf.tensor(xv, xShape), filter: tf.tensor(fv, fShape) }, conv))).toBeLessThanOrEqual(TOL);
      const unitStride = c.s[0] === 1 && c.s[1] === 1;
      for (const method of ['im2col', 'conv', ...(unitStride ? (['dycol'] as const) : []), 'auto'] as const) {
        setFilterGradMethod(method);
        const err = await compare(() => kernel(tf.Conv2DBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) }, { ...conv, filterShape: fShape }));
        expect(err, `filter gradient (${method})`).toBeLessThanOrEqual(TOL);
      }
      setFilterGradMethod('auto');
      const errInput = await compare(() => kernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(fv, fShape) }, { ...conv, inputShape: xShape }));
      expect(errInput).toBeLessThanOrEqual(TOL);
    });
  }

  it('dilated Conv2D (forward only: tfjs has no dilated conv gradient) matches cpu', async () => {
    const x = randomValues(2 * 13 * 11 * 3, 41);
    const f = randomValues(3 * 3 * 3 * 4, 42);
    for (const pad of ['same', 'valid'] as const) {
      const err = await compare(() => tf.conv2d(tf.tensor4d(x, [2, 13, 11, 3]), tf.tensor4d(f, [3, 3, 3, 4]), 1, pad, 'NHWC', 2));
      expect(err).toBeLessThanOrEqual(TOL);
    }
  });

  it("a numeric pad with unequal strides follows tfjs's own output size (a crop of the full convolution)", async () => {
    const x = randomValues(2 * 10 * 9 * 4, 43);
    const f = randomValues(3 * 3 * 4 * 5, 44);
    const err = await compare(() => tf.conv2d(tf.tensor4d(x, [2, 10, 9, 4]), tf.tensor4d(f, [3, 3, 4, 5]), [2, 1], 1));
    expect(err).toBeLessThanOrEqual(TOL);
  });

  it('conv2dTranspose forward (Conv2DBackpropInput) matches cpu, stride 2, odd channels', async () => {
    for (const err of await conv2dTransposeErrors('native')) expect(err).toBeLessThanOrEqual(TOL);
  });
});

describe('FusedConv2D / FusedDepthwiseConv2D with bias and every activation match cpu', () => {
  const acts = ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu', 'prelu'] as const;
  for (const activation of acts) {
    it(activation, async () => {
      const x = randomValues(2 * 9 * 7 * 3, 51);
      const f = randomValues(3 * 3 * 3 * 5, 52);
      const df = randomValues(3 * 3 * 3 * 2, 53);
      const b = randomValues(5, 54);
      const db = randomValues(6, 55);
      const alpha = randomValues(5, 56);
      const dAlpha = randomValues(6, 57);
      const err = await compare(() =>
        tf.fused.conv2d({
          x: tf.tensor4d(x, [2, 9, 7, 3]),
          filter: tf.tensor4d(f, [3, 3, 3, 5]),
          strides: [2, 1],
          pad: 'same',
          bias: tf.tensor1d(b),
          activation,
          preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
          leakyreluAlpha: 0.3,
        }),
      );
      expect(err).toBeLessThanOrEqual(TOL);
      const errDw = await compare(() =>
        tf.fused.depthwiseConv2d({
          x: tf.tensor4d(x, [2, 9, 7, 3]),
          filter: tf.tensor4d(df, [3, 3, 3, 2]),
          strides: 1,
          pad: 'valid',
          bias: tf.tensor1d(db),
          activation,
          preluActivationWeights: activation === 'prelu' ? tf.tensor1d(dAlpha) : undefined,
          leakyreluAlpha: 0.3,
        }),
      );
      expect(errDw).toBeLessThanOrEqual(TOL);
    });
  }

  it('a bias that is not per-channel (broadcast scalar) is added after the conv', async () => {
    const x = randomValues(1 * 6 * 5 * 2, 61);
    const f = randomValues(3 * 3 * 2 * 4, 62);
    const err = await compare(() =>
      tf.fused.conv2d({ x: tf.tensor4d(x, [1, 6, 5, 2]), filter: tf.tensor4d(f, [3, 3, 2, 4]), strides: 1, pad: 'same', bias: tf.scalar(0.25), activation: 'relu' }),
    );
    expect(err).toBeLessThanOrEqual(TOL);
  });
});

describe('DepthwiseConv2dNative and its two gradients on native match cpu', () => {
  for (const c of [...DEPTHWISE_CASES, { ...CASES[9], mult: 1, d: 1 }]) {
    it(`${label(c)} mult ${c.mult} dilation ${c.d}`, async () => {
      const { xShape, fShape, xv, fv, dil } = depthwiseInputs(c);
      const attrs = { strides: c.s, pad: c.pad };
      const refFwd = await runOn('cpu', () => kernel(tf.DepthwiseConv2dNative, { x: tf.tensor(xv, xShape), filter: tf.tensor(dil.values, dil.shape) }, { ...attrs, dilations: [1, 1] }));
      const gotFwd = await runOn('native', () => kernel(tf.DepthwiseConv2dNative, { x: tf.tensor(xv, xShape), filter: tf.tensor(fv, fShape) }, { ...attrs, dilations: [c.d, c.d] }));
      expect(gotFwd.shape).toEqual(refFwd.shape);
      expect(relError(refFwd.values, gotFwd.values), 'forward').toBeLessThanOrEqual(TOL);
      const err = await depthwiseGradientErrors('native', c);
      expect(err.filter, 'filter gradient').toBeLessThanOrEqual(TOL);
      expect(err.input, 'input gradient').toBeLessThanOrEqual(TOL);
    });
  }
});

describe('Conv2DBackpropFilter im2col in several tap chunks', () => {
  it('a filter gradient too large for one im2col buffer equals the swapped-axes Conv', async () => {
    // stride 2: 9 taps x 64 x 64 x 64 floats fit one im2col buffer; stride 1: 9 x 128 x 128 x 64
    // floats exceed IM2COL_CHUNK_FLOATS, so the taps go in two MatMuls, concatenated
    const xShape = [1, 128, 128, 64];
    const dyShape = [1, 64, 64, 48];
    expect(9 * 64 * 64 * 64).toBeLessThan(IM2COL_CHUNK_FLOATS);
    expect(9 * 128 * 128 * 64).toBeGreaterThan(IM2COL_CHUNK_FLOATS);
    const xv = randomValues(sizeOf(xShape), 11);
    const dyv = randomValues(sizeOf(dyShape), 12);
    const run = async (method: 'im2col' | 'conv', stride: number, shape: number[]) => {
      setFilterGradMethod(method);
      const dy = stride === 1 ? randomValues(sizeOf(shape), 13) : dyv;
      const r = await runOn('native', () =>
        kernel(tf.Conv2DBackpropFilter, { x: tf.tensor(xv, xShape), dy: tf.tensor(dy, shape) }, { strides: stride, pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], filterShape: [3, 3, 64, shape[3]] }),
      );
      setFilterGradMethod('auto');
      return r.values;
    };
    for (const [stride, shape] of [[2, dyShape], [1, [1, 128, 128, 8]]] as const) {
      const viaConv = await run('conv', stride, [...shape]);
      const viaIm2col = await run('im2col', stride, [...shape]);
      expect(relError(viaConv, viaIm2col), `stride ${stride}`).toBeLessThanOrEqual(TOL);
    }
  });
});

describe('BatchMatMul / _FusedMatMul on native match cpu', () => {
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [1, 7, 5], b: [1, 5, 3], ta: false, tb: false },
    { a: [1, 5, 7], b: [1, 3, 5], ta: true, tb: true },
    { a: [3, 4, 6], b: [3, 6, 2], ta: false, tb: false },
    { a: [3, 6, 4], b: [1, 6, 5], ta: true, tb: false },
    { a: [2, 3, 4, 5], b: [5, 2], ta: false, tb: false },
  ];
  for (const c of cases) {
    it(`[${c.a}] x [${c.b}] transposeA ${c.ta} transposeB ${c.tb}`, async () => {
      const av = randomValues(sizeOf(c.a), 71);
      const bv = randomValues(sizeOf(c.b), 72);
      expect(await compare(() => tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.ta, c.tb))).toBeLessThanOrEqual(TOL);
      const n = c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
      const bias = randomValues(n, 73);
      for (const activation of ['relu', 'leakyrelu', 'prelu', 'sigmoid'] as const) {
        const err = await compare(() =>
          tf.fused.matMul({
            a: tf.tensor(av, c.a),
            b: tf.tensor(bv, c.b),
            transposeA: c.ta,
            transposeB: c.tb,
            bias: tf.tensor1d(bias),
            activation,
            preluActivationWeights: activation === 'prelu' ? tf.tensor1d(bias) : undefined,
          }),
        );
        expect(err, activation).toBeLessThanOrEqual(TOL);
      }
    });
  }
});

describe('Sum / Mean on native match cpu (large float32 on onnxruntime, the rest on wasm)', () => {
  const shape = [2, 33, 31, 20];
  const xv = randomValues(sizeOf(shape), 81);
  const cases: { axis: number | number[]; keepDims: boolean }[] = [
    { axis: [1, 2], keepDims: true },
    { axis: [1, 2], keepDims: false },
    { axis: [0, 1, 2], keepDims: false },
    { axis: [0, 1, 2], keepDims: true },
    { axis: -1, keepDims: false },
    { axis: [2, 3], keepDims: true },
    { axis: [2, 0], keepDims: true },
    { axis: [0, 1, 2, 3], keepDims: false },
  ];
  for (const c of cases) {
    it(`axis ${JSON.stringify(c.axis)} keepDims ${c.keepDims}`, async () => {
      const runs = nativeStats().runs;
      expect(await compare(() => tf.sum(tf.tensor(xv, shape), c.axis, c.keepDims))).toBeLessThanOrEqual(TOL);
      expect(await compare(() => tf.mean(tf.tensor(xv, shape), c.axis, c.keepDims))).toBeLessThanOrEqual(TOL);
      expect(nativeStats().runs - runs, 'large float32 reductions run on onnxruntime').toBe(2);
    });
  }

  it('small and integer reductions run the wasm kernel and are right', async () => {
    const runs = nativeStats().runs;
    expect(await compare(() => tf.sum(tf.tensor(xv.subarray(0, 60), [3, 4, 5]), [1]))).toBeLessThanOrEqual(TOL);
    const ints = Int32Array.from(xv.subarray(0, 40000), (v) => Math.round(v * 100));
    expect(await compare(() => tf.sum(tf.tensor(ints, [2, 100, 200], 'int32'), [1, 2]))).toBe(0);
    expect(nativeStats().runs).toBe(runs);
  });
});

describe('bad input is refused with the op name', () => {
  it('a non-float32 input', async () => {
    await tf.setBackend('native');
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1], 'int32');
    const f = tf.tensor4d([1], [1, 1, 1, 1], 'int32');
    expect(() => kernel(tf.Conv2D, { x, filter: f }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 })).toThrow(/native Conv2D: input 'x' is int32; only float32/);
    tf.dispose([x, f]);
  });

  it('NCHW data', async () => {
    await tf.setBackend('native');
    const x = tf.ones([1, 1, 4, 4]);
    const f = tf.ones([1, 1, 1, 1]);
    expect(() => kernel(tf.Conv2D, { x, filter: f }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', dilations: 1 })).toThrow(/native Conv2D: only NHWC/);
    tf.dispose([x, f]);
  });

  it('a shape onnxruntime cannot express: said once with the op and shapes, then plain wasm (or an error when native was asked for)', async () => {
    // tfjs's numeric-pad geometry with unequal strides asks a ConvTranspose for output_padding 4 at stride 1
    const lines: string[] = [];
    registerNativeBackend({ strict: false, log: (l) => lines.push(l) });
    const dyv = randomValues(2 * 5 * 5 * 5, 91);
    const fv = randomValues(3 * 3 * 4 * 5, 92);
    const attrs = { strides: [2, 1], pad: 1, dataFormat: 'NHWC', inputShape: [2, 10, 9, 4] };
    const fallbacks = nativeStats().fallbacks;
    const err = await compare(() => kernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dyv, [2, 5, 5, 5]), filter: tf.tensor(fv, [3, 3, 4, 5]) }, attrs));
    expect(err).toBeLessThanOrEqual(TOL);
    expect(nativeStats().fallbacks).toBe(fallbacks + 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^native Conv2DBackpropInput: .*dy \[2,5,5,5\], filter \[3,3,4,5\].*running plain wasm's Conv2DBackpropInput/);
    setNativeStrict(true);
    await tf.setBackend('native');
    const dy = tf.tensor(dyv, [2, 5, 5, 5]);
    const f = tf.tensor(fv, [3, 3, 4, 5]);
    expect(() => kernel(tf.Conv2DBackpropInput, { dy, filter: f }, attrs)).toThrow(/native Conv2DBackpropInput: onnxruntime could not create a session/);
    tf.dispose([dy, f]);
    setNativeStrict(true);
  });

  it('sessions are cached: a repeated call creates none', async () => {
    await tf.setBackend('native');
    const x = tf.ones([1, 8, 8, 3]) as tf.Tensor4D;
    const f = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
    tf.dispose(tf.conv2d(x, f, 1, 'same'));
    const before = nativeStats().created;
    for (let i = 0; i < 5; i++) tf.dispose(tf.conv2d(x, f, 1, 'same'));
    expect(nativeStats().created).toBe(before);
    tf.dispose([x, f]);
  });
});
