/**
 * Whole models through exportOnnx: Ganvas's CycleGAN ResNet generator, PatchGAN, light, tiny and
 * half-resolution generators and both SR tiers (small widths), fp16 weights, refusal on an
 * injected mismatch, unsupported layers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expectParity, imageInput, modelOf, randomizeWeights, tempDir, tfl, useCpu, type ST } from './helpers';
import { exportOnnx, EMITTERS, ExportParityError, UnsupportedLayerError, checkOnnx, type Emitter } from '../../training/export';
import { resnetGenerator } from '../../training/models/resnet-generator';
import { patchGan } from '../../training/models/patchgan';
import { lightGenerator, tinyGenerator } from '../../training/models/light-generator';
import { halfResGenerator } from '../../training/models/halfres-generator';
import { buildDiscriminator, buildSrModel } from '../../training/models/sr';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  await useCpu();
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('Ganvas models', () => {
  it('CycleGAN ResNet generator (ngf 8, 2 blocks): fp32 within 1e-4 at two sizes', async () => {
    const m = resnetGenerator({ ngf: 8, nBlocks: 2 });
    randomizeWeights(m, 3, 0.3);
    const r = await expectParity(m, dir, [[32, 48], [44, 28]], { rgb: true, inputRange: [-1, 1], multipleOf: 4 });
    expect(r.scale).toBe(1);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.opset).toBeGreaterThanOrEqual(17);
  });

  it('PatchGAN discriminator (ndf 8, 1-channel logits, rgb contract off)', async () => {
    const m = patchGan({ ndf: 8, nLayers: 3 });
    randomizeWeights(m, 5, 0.3);
    await expectParity(m, dir, [[64, 48], [70, 66]]);
  });

  it('light generator (separable blocks, nearest upsampling)', async () => {
    const m = lightGenerator({ ngf: 8, nBlocks: 2 });
    randomizeWeights(m, 9, 0.3);
    const r = await expectParity(m, dir, [[32, 48], [40, 36]], { rgb: true, inputRange: [-1, 1], multipleOf: 4 });
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it('tiny webcam generator (3x3 stem/head, strided depthwise downsampling)', async () => {
    const m = tinyGenerator({ ngf: 8, nBlocks: 2 });
    randomizeWeights(m, 10, 0.3);
    const r = await expectParity(m, dir, [[32, 48], [40, 36]], { rgb: true, inputRange: [-1, 1], multipleOf: 4 });
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it('half-resolution webcam generator (4x4 stride-2 stem, PixelShuffle residual added to the input)', async () => {
    const m = halfResGenerator({ ngf: 8, nBlocks: 2 });
    randomizeWeights(m, 14, 0.3);
    const r = await expectParity(m, dir, [[32, 48], [40, 36]], { rgb: true, inputRange: [-1, 1], multipleOf: 4 });
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it('SR real-time x3 and quality x2 (PixelShuffle, bicubic and nearest skips, Rescaling) with input name "lr"', async () => {
    const rt = buildSrModel({ tier: 'real-time', scale: 3, features: [8, 6] });
    randomizeWeights(rt, 11, 0.2);
    const r1 = await expectParity(rt, dir, [[17, 13], [24, 30]], { rgb: true, inputName: 'lr', outputName: 'sr' });
    expect(r1.scale).toBe(3);
    expect(r1.inputName).toBe('lr');
    const q = buildSrModel({ tier: 'quality', scale: 2, features: [8], blocks: 2, resScale: 0.1 });
    randomizeWeights(q, 13, 0.2);
    const r2 = await expectParity(q, dir, [[15, 21], [20, 16]], { rgb: true });
    expect(r2.scale).toBe(2);
    const nearest = buildSrModel({ tier: 'real-time', scale: 4, features: [6], skip: 'nearest' });
    randomizeWeights(nearest, 12, 0.2);
    expect((await expectParity(nearest, dir, [[9, 11]], { rgb: true })).scale).toBe(4);
    const check = await checkOnnx(r1.file, { model: rt });
    expect(check.inputName).toBe('lr');
    expect(check.outputName).toBe('sr');
    expect(check.scale).toBe(3);
  });

  it('SR discriminator (global pooling + Dense -> Gemm, rank-2 output)', async () => {
    const d = buildDiscriminator({ base: 4, stages: 2 });
    randomizeWeights(d, 17, 0.3);
    await expectParity(d, dir, [[16, 24], [21, 19]]);
  });
});

describe('fp16 weights', () => {
  it('halves the file, keeps float32 I/O, and stays within the fp16 bound (but is not bit-equal)', async () => {
    const m = resnetGenerator({ ngf: 8, nBlocks: 1 });
    randomizeWeights(m, 21, 0.3);
    const opts = { rgb: true, inputRange: [-1, 1] as [number, number], multipleOf: 4, check: { sizes: [[32, 48]] as [number, number][] } };
    const f32 = await exportOnnx(m, { ...opts, outFile: path.join(dir, 'g32.onnx') });
    const f16 = await exportOnnx(m, { ...opts, outFile: path.join(dir, 'g16.onnx'), fp16: true });
    expect(f16.fp16).toBe(true);
    expect(f16.bytes).toBeLessThan(0.6 * f32.bytes);
    expect(f16.maxAbsDiff).toBeGreaterThan(f32.maxAbsDiff); // the float16 weights are really used
    expect(f16.maxAbsDiff).toBeLessThanOrEqual(f16.sizes[0].bound);
    expect(f16.sizes[0].bound).toBeCloseTo(0.04, 6); // 2e-2 x output range width 2
    const c = await checkOnnx(path.join(dir, 'g16.onnx'), { model: m });
    expect(c.fp16Weights).toBe(true);
    expect(c.inputDims).toEqual(['N', 3, 'H', 'W']);
  });
});

describe('refusals', () => {
  it('refuses to write on a mismatch, names the first diverging layer, and leaves the old file intact', async () => {
    const m = resnetGenerator({ ngf: 8, nBlocks: 2 });
    randomizeWeights(m, 23, 0.3);
    const outFile = path.join(dir, 'keep.onnx');
    await writeFile(outFile, 'previous good export');
    // An emitter bug injected for one layer: one kernel value off by 0.05.
    const buggyConv: Emitter = (ctx) => {
      if (ctx.name !== 'res1_conv1') return EMITTERS.Conv2D(ctx);
      const k = ctx.weight('kernel');
      const values = k.values.slice();
      values[5] += 0.05;
      return EMITTERS.Conv2D({ ...ctx, weight: (n) => (n === 'kernel' ? { values, shape: k.shape } : ctx.weight(n)) });
    };
    const err = await exportOnnx(m, { outFile, multipleOf: 4, inputRange: [-1, 1], emitters: { Conv2D: buggyConv } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportParityError);
    const e = err as ExportParityError;
    expect(e.divergence?.layerName).toBe('res1_conv1');
    expect(e.divergence?.className).toBe('Conv2D');
    expect(e.message).toMatch(/first diverging layer: "res1_conv1" \(Conv2D\)/);
    expect(e.message).toMatch(/max \|diff\| \d\.\d\de[-+]\d+ > bound/);
    // Layers before it matched.
    const before = e.layers.slice(0, e.layers.findIndex((l) => l.layerName === 'res1_conv1'));
    expect(before.length).toBeGreaterThan(10);
    for (const l of before) expect(l.maxAbsDiff).toBeLessThan(1e-4 * Math.max(1, l.refMaxAbs));
    expect(await readFile(outFile, 'utf8')).toBe('previous good export');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('localizes a shape mismatch too (an emitter that gets the padding wrong)', async () => {
    const x = imageInput();
    let h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'good_conv' }).apply(x) as ST;
    h = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'bad_conv' }).apply(h) as ST;
    h = tfl.layers.activation({ activation: 'tanh', name: 'act' }).apply(h) as ST;
    const validPadding: Emitter = (ctx) => EMITTERS.Conv2D(ctx.name === 'bad_conv' ? { ...ctx, config: { ...ctx.config, padding: 'valid' } } : ctx);
    const err = await exportOnnx(modelOf(x, h), { outFile: path.join(dir, 's.onnx'), emitters: { Conv2D: validPadding }, check: { sizes: [[9, 8]] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportParityError);
    expect((err as Error).message).toMatch(/the ONNX output has shape \[1, 3, 7, 6\] but tfjs gives \[1, 3, 9, 8\].*first diverging layer: "bad_conv" \(Conv2D\), output shape differs/);
  });

  it('names the layer, its class and what is unsupported', async () => {
    const x = imageInput();
    const h = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'ok_conv' }).apply(x) as ST;
    const ln = tfl.layers.layerNormalization({ name: 'my_norm' }).apply(h) as ST;
    await expect(exportOnnx(modelOf(x, ln), { outFile: path.join(dir, 'u.onnx') })).rejects.toThrow(
      /cannot export layer "my_norm" \(LayerNormalization\): no ONNX emitter for layer class LayerNormalization/,
    );
    const y = tfl.input({ shape: [8, 8, 3] });
    const cf = tfl.layers.conv2d({ filters: 3, kernelSize: 1, dataFormat: 'channelsFirst', name: 'cf_conv' }).apply(y) as ST;
    const err = await exportOnnx(modelOf(y, cf), { outFile: path.join(dir, 'u.onnx'), rgb: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedLayerError);
    expect((err as Error).message).toMatch(/"cf_conv" \(Conv2D\): dataFormat "channelsFirst"/);
  });

  it('enforces the RGB contract and integer scale unless rgb is off', async () => {
    const x = imageInput();
    const one = modelOf(x, tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(x) as ST);
    await expect(exportOnnx(one, { outFile: path.join(dir, 'c.onnx') })).rejects.toThrow(/3-channel RGB output/);
    const down = modelOf(x, tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as ST);
    await expect(exportOnnx(down, { outFile: path.join(dir, 'c.onnx') })).rejects.toThrow(/not an integer scale of the input/);
  });
});

describe('clear errors at check sizes', () => {
  it('says when a check size is too small for the model', async () => {
    const m = patchGan({ ndf: 4, nLayers: 3 });
    await expect(exportOnnx(m, { outFile: path.join(dir, 'p.onnx'), rgb: false, check: { sizes: [[8, 8]] } })).rejects.toThrow(/failed (to run the export )?on a 8x8 input/);
  });
});
