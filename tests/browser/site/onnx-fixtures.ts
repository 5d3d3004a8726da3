/**
 * Small but real ONNX models for the site's tests, built with onnx-proto (the same protobuf
 * classes the exporter uses). They follow the model contract: NCHW float32 RGB, dynamic H/W.
 *   - translate: conv-relu-conv residual + tanh, range [-1,1], multipleOf 4 (like a CycleGAN generator)
 *   - sr x2 / x4: conv-relu-conv + DepthToSpace(DCR) + nearest upsample skip, range [0,1]
 * Weights come from a seeded PRNG, so every run builds byte-identical files.
 */
import onnxProto from 'onnx-proto';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { ModelEntryInput } from '../../../lib/contract/manifest';

// onnx-proto is CommonJS: take the namespace from the default export so both vitest and Playwright load it
const { onnx } = onnxProto;
type P = import('onnx-proto').onnx.IModelProto;
type G = NonNullable<P['graph']>;
type ITensor = NonNullable<G['initializer']>[number];
type INode = NonNullable<G['node']>[number];
type IValueInfo = NonNullable<G['input']>[number];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function floats(name: string, dims: number[], values: number[]): ITensor {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(new Float32Array(values).buffer) };
}

function randomConv(name: string, cout: number, cin: number, k: number, scale: number, seed: number, identity = false) {
  const r = rng(seed);
  const w = Array.from({ length: cout * cin * k * k }, () => r() * scale);
  if (identity) {
    // add a centred identity (cout == cin) so the image survives the layer
    for (let c = 0; c < Math.min(cin, cout); c++) w[((c * cin + c) * k + (k >> 1)) * k + (k >> 1)] += 1;
  }
  return [floats(`${name}.w`, [cout, cin, k, k], w), floats(`${name}.b`, [cout], Array.from({ length: cout }, () => r() * 0.05))];
}

function conv(name: string, x: string, y: string): INode {
  return {
    opType: 'Conv', name, input: [x, `${name}.w`, `${name}.b`], output: [y],
    attribute: [
      { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] },
      { name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: [3, 3] },
    ],
  };
}

function io(name: string): IValueInfo {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimParam: 'H' }, { dimParam: 'W' }] } } },
  };
}

function model(graph: G): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, producerName: 'ganvas-test-fixtures', opsetImport: [{ domain: '', version: 13 }], graph }).finish();
}

/** Translation: y = tanh(x + conv(relu(conv(x)))) with a colour twist so the change is visible. */
export function translateModel(): Uint8Array {
  const [w1, b1] = randomConv('c1', 8, 3, 3, 0.4, 11);
  const [w2, b2] = randomConv('c2', 3, 8, 3, 0.2, 12);
  const twist = floats('twist', [3, 3, 1, 1], [0.2, 0.9, 0, 0, 0.3, 0.8, 0.9, 0, 0.2]);
  const zero = floats('zero', [3], [0, 0, 0.1]);
  return model({
    name: 'ganvas-test-translate',
    input: [io('input')],
    output: [io('output')],
    initializer: [w1, b1, w2, b2, twist, zero],
    node: [
      conv('c1', 'input', 'h1'),
      { opType: 'Relu', input: ['h1'], output: ['h1r'] },
      conv('c2', 'h1r', 'h2'),
      { opType: 'Conv', input: ['input', 'twist', 'zero'], output: ['tw'] },
      { opType: 'Add', input: ['tw', 'h2'], output: ['s'] },
      { opType: 'Tanh', input: ['s'], output: ['output'] },
    ],
  });
}

/** Super-resolution x`scale`: y = DepthToSpace(conv(relu(conv(x)))) + nearest(x). */
export function srModel(scale: number, seed = 21): Uint8Array {
  const c = 3 * scale * scale;
  const [w1, b1] = randomConv('c1', 8, 3, 3, 0.3, seed);
  const [w2, b2] = randomConv('c2', c, 8, 3, 0.08, seed + 1);
  return model({
    name: `ganvas-test-sr-x${scale}`,
    input: [io('lr')],
    output: [io('sr')],
    initializer: [w1, b1, w2, b2, floats('scales', [4], [1, 1, scale, scale])],
    node: [
      conv('c1', 'lr', 'h1'),
      { opType: 'Relu', input: ['h1'], output: ['h1r'] },
      conv('c2', 'h1r', 'h2'),
      { opType: 'DepthToSpace', input: ['h2'], output: ['d'], attribute: [
        { name: 'blocksize', type: onnx.AttributeProto.AttributeType.INT, i: scale },
        { name: 'mode', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('DCR') },
      ] },
      { opType: 'Resize', input: ['lr', '', 'scales'], output: ['up'], attribute: [
        { name: 'mode', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('nearest') },
      ] },
      { opType: 'Add', input: ['up', 'd'], output: ['sr'] },
    ],
  });
}

/** A model that breaks the contract: single-channel input. */
export function grayModel(): Uint8Array {
  return model({
    name: 'ganvas-test-gray',
    input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimParam: 'H' }, { dimParam: 'W' }] } } } }],
    output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimParam: 'H' }, { dimParam: 'W' }] } } } }],
    node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
  });
}

export const FIXTURE_MODELS: { entry: ModelEntryInput; bytes: () => Uint8Array }[] = [
  {
    entry: {
      id: 'test-photo2winter', name: 'Test summer → winter', task: 'translation', file: 'test-translate.onnx', scale: 1,
      input: { name: 'input', range: [-1, 1] }, output: { name: 'output', range: [-1, 1] }, multipleOf: 4,
      description: 'Tiny test generator (not trained).', tile: { size: 256, overlap: 32 }, tier: 'real-time', parameters: 512,
      dataset: 'summer2winter_landscapes', direction: 'AtoB',
    },
    bytes: translateModel,
  },
  {
    entry: {
      id: 'test-sr-x2', name: 'Test SR x2', task: 'super-resolution', file: 'test-sr-x2.onnx', scale: 2,
      input: { name: 'lr', range: [0, 1] }, output: { name: 'sr', range: [0, 1] }, multipleOf: 1,
      description: 'Tiny test upscaler (not trained).', tile: { size: 128, overlap: 16 }, tier: 'real-time',
    },
    bytes: () => srModel(2),
  },
  {
    entry: {
      id: 'test-sr-x4', name: 'Test SR x4', task: 'super-resolution', file: 'test-sr-x4.onnx', scale: 4,
      input: { name: 'lr', range: [0, 1] }, output: { name: 'sr', range: [0, 1] }, multipleOf: 1,
      description: 'Tiny test upscaler (not trained).', tile: { size: 128, overlap: 16 }, tier: 'quality',
    },
    bytes: () => srModel(4, 31),
  },
];

/** Writes the fixture models and a manifest into `dir`; returns the manifest JSON. */
export function writeFixtures(dir: string): { version: 1; models: ModelEntryInput[] } {
  mkdirSync(dir, { recursive: true });
  for (const m of FIXTURE_MODELS) {
    const bytes = m.bytes();
    const tmp = path.join(dir, `${m.entry.file}.tmp`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, path.join(dir, m.entry.file));
    m.entry.bytes = bytes.length;
  }
  const manifest = { version: 1 as const, models: FIXTURE_MODELS.map((m) => m.entry) };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
