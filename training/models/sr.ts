/**
 * Super-resolution networks (tfjs-layers functional models, NHWC, RGB in [0,1] in and out).
 *
 * Both tiers work at LR resolution and upsample once at the end with depth-to-space
 * (PixelShuffle, ONNX DepthToSpace DCR), and both predict a residual over an upsampled copy of
 * the input (a global skip, which makes training converge much faster on a small compute budget):
 * - `skip: 'bicubic'` (default): a fixed (non-trainable) 5x5 conv on the reflection-padded input
 *   whose s*s*3 output channels are the s*s sub-pixel phases of Keys/MATLAB bicubic upsampling,
 *   so after depth-to-space the skip *is* bicubic upsampling (VDSR-style residual learning: the
 *   network spends no capacity on interpolation);
 * - `skip: 'nearest'` (the session-1/2 models): the input tiled s*s times along channels, which
 *   after depth-to-space is nearest-neighbour upsampling.
 * Both use only Pad/Conv/Concat/Add/DepthToSpace (no Resize op), so they export to any ONNX runtime.
 *
 * - real-time tier (ESPCN/FSRCNN class, < 60K parameters): 5x5 conv + a few thin 3x3 convs.
 * - quality tier (EDSR-baseline-like): head conv, B residual blocks (conv-ReLU-conv + skip),
 *   body conv with a long skip, then the sub-pixel tail.
 * - discriminator (SRGAN fine-tune): strided convs + LeakyReLU, global average pool, one logit.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { cubic } from '../data/bicubic';
import { PixelShuffle, ReflectionPad2D } from './layers';

export type SrTier = 'real-time' | 'quality';
export type SrSkip = 'bicubic' | 'nearest';

export interface SrModelOptions {
  tier: SrTier;
  scale: number;
  /** real-time: widths of the convs before the tail (first one is 5x5). quality: [features]. */
  features?: number[];
  /** quality tier: residual blocks. */
  blocks?: number;
  /** quality tier: residual scaling inside blocks (EDSR uses 0.1 for wide nets, 1 for the baseline). */
  resScale?: number;
  /** Global skip the network's residual is added to (default bicubic). */
  skip?: SrSkip;
  name?: string;
  /** Seed of the weight initialisers (each layer gets seed + its index); random when absent. */
  seed?: number;
}

export const SR_INPUT_NAME = 'lr';

export function defaultSrOptions(tier: SrTier, scale: number): Required<Omit<SrModelOptions, 'name' | 'seed'>> {
  if (tier === 'real-time') return { tier, scale, features: [64, 32, 32, 32], blocks: 0, resScale: 1, skip: 'bicubic' };
  return { tier, scale, features: [48], blocks: 8, resScale: 1, skip: 'bicubic' };
}

/**
 * Weights of bicubic upsampling by `scale` as one conv on a 2-pixel reflection-padded input:
 * [5, 5, 3, 3*s*s] (HWIO), output channel (i*s + j)*3 + c is sub-pixel phase (i, j) of colour c,
 * the depth-to-space (DCR) order. Phase i samples LR position n + (i + 0.5)/s - 0.5 (MATLAB's
 * imresize geometry) with Keys' a = -0.5 cubic, taps normalised to sum to 1 as MATLAB does.
 */
export function bicubicSkipKernel(scale: number): tf.Tensor4D {
  const taps = [-2, -1, 0, 1, 2];
  const phase = Array.from({ length: scale }, (_, i) => {
    const d = (i + 0.5) / scale - 0.5;
    const w = taps.map((k) => cubic(k - d));
    const sum = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / sum);
  });
  const C = 3 * scale * scale;
  const k = new Float32Array(5 * 5 * 3 * C);
  for (let ky = 0; ky < 5; ky++)
    for (let kx = 0; kx < 5; kx++)
      for (let i = 0; i < scale; i++)
        for (let j = 0; j < scale; j++)
          for (let c = 0; c < 3; c++) k[((ky * 5 + kx) * 3 + c) * C + (i * scale + j) * 3 + c] = phase[i][ky] * phase[j][kx];
  return tf.tensor4d(k, [5, 5, 3, C]);
}

let seedCounter: number | undefined;
function nextSeed(): number | undefined {
  return seedCounter === undefined ? undefined : seedCounter++;
}

function conv(filters: number, kernel: number, name: string, activation: 'relu' | 'linear' = 'linear', tailInit = false) {
  return tfl.layers.conv2d({
    filters,
    kernelSize: kernel,
    padding: 'same',
    activation,
    name,
    kernelInitializer: tailInit ? tfl.initializers.randomNormal({ mean: 0, stddev: 1e-3, seed: nextSeed() }) : tfl.initializers.heNormal({ seed: nextSeed() }),
  });
}

/** The s*s*3-channel global skip (see the file comment) and the conv layer holding fixed weights, if any. */
function globalSkip(input: tfl.SymbolicTensor, scale: number, skip: SrSkip): { skip: tfl.SymbolicTensor; fixed?: tfl.layers.Layer } {
  const r2 = scale * scale;
  if (skip === 'nearest') {
    return { skip: r2 === 1 ? input : (tfl.layers.concatenate({ axis: -1, name: 'tail_tile' }).apply(Array(r2).fill(input)) as tfl.SymbolicTensor) };
  }
  const padded = new ReflectionPad2D({ padding: 2, name: 'skip_pad' }).apply(input) as tfl.SymbolicTensor;
  const fixed = tfl.layers.conv2d({ filters: 3 * r2, kernelSize: 5, padding: 'valid', useBias: false, trainable: false, name: 'skip_bicubic' });
  return { skip: fixed.apply(padded) as tfl.SymbolicTensor, fixed };
}

/** Global skip + residual + depth-to-space, shared by both tiers. */
function subPixelTail(input: tfl.SymbolicTensor, features: tfl.SymbolicTensor, scale: number, skipKind: SrSkip): { out: tfl.SymbolicTensor; fixed?: tfl.layers.Layer } {
  const r2 = scale * scale;
  // Small init: the network starts as (almost) the skip's plain upsampling.
  const res = conv(3 * r2, 3, 'tail_conv', 'linear', true).apply(features) as tfl.SymbolicTensor;
  const { skip, fixed } = globalSkip(input, scale, skipKind);
  const sum = tfl.layers.add({ name: 'tail_add' }).apply([res, skip]) as tfl.SymbolicTensor;
  return { out: new PixelShuffle({ scale, name: 'tail_shuffle' }).apply(sum) as tfl.SymbolicTensor, fixed };
}

export function buildSrModel(opts: SrModelOptions): tfl.LayersModel {
  const d = defaultSrOptions(opts.tier, opts.scale);
  const scale = opts.scale;
  if (![2, 3, 4].includes(scale)) throw new Error(`scale must be 2, 3 or 4, got ${scale}`);
  const features = opts.features?.length ? opts.features : d.features;
  seedCounter = opts.seed;
  const input = tfl.input({ shape: [null, null, 3], name: SR_INPUT_NAME });
  let x: tfl.SymbolicTensor = input;
  if (opts.tier === 'real-time') {
    features.forEach((f, i) => {
      x = conv(f, i === 0 ? 5 : 3, `conv${i + 1}`, 'relu').apply(x) as tfl.SymbolicTensor;
    });
  } else {
    const f = features[0];
    const blocks = opts.blocks ?? d.blocks;
    const resScale = opts.resScale ?? d.resScale;
    const head = conv(f, 3, 'head').apply(input) as tfl.SymbolicTensor;
    x = head;
    for (let b = 0; b < blocks; b++) {
      let r = conv(f, 3, `block${b}_conv1`, 'relu').apply(x) as tfl.SymbolicTensor;
      r = conv(f, 3, `block${b}_conv2`).apply(r) as tfl.SymbolicTensor;
      if (resScale !== 1) r = tfl.layers.rescaling({ scale: resScale, name: `block${b}_scale` }).apply(r) as tfl.SymbolicTensor;
      x = tfl.layers.add({ name: `block${b}_add` }).apply([x, r]) as tfl.SymbolicTensor;
    }
    const body = conv(f, 3, 'body_conv').apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.add({ name: 'body_add' }).apply([head, body]) as tfl.SymbolicTensor;
  }
  const { out, fixed } = subPixelTail(input, x, scale, opts.skip ?? d.skip);
  seedCounter = undefined;
  const model = tfl.model({ inputs: input, outputs: out, name: opts.name ?? `sr_${opts.tier === 'real-time' ? 'realtime' : 'quality'}_x${scale}` });
  if (fixed) {
    const k = bicubicSkipKernel(scale);
    fixed.setWeights([k]);
    k.dispose();
  }
  return model;
}

/** The upscaling factor of an SR model (its depth-to-space tail), or undefined when it has none. */
export function srScaleOf(model: tfl.LayersModel): number | undefined {
  return (model.layers.find((l) => l instanceof PixelShuffle) as PixelShuffle | undefined)?.scale;
}

/** The architecture options of a built (or loaded) SR model, read back from its layer names. */
export function srOptionsOf(model: tfl.LayersModel): Required<Omit<SrModelOptions, 'name' | 'seed'>> {
  const names = new Set(model.layers.map((l) => l.name));
  const filters = (name: string) => (model.getLayer(name).getWeights()[0] as tf.Tensor).shape[3] as number;
  const scale = srScaleOf(model);
  if (!scale) throw new Error(`${model.name} has no depth-to-space tail: not a Ganvas SR model`);
  const skip: SrSkip = names.has('skip_bicubic') ? 'bicubic' : 'nearest';
  if (names.has('head')) {
    const blocks = model.layers.filter((l) => /^block\d+_conv1$/.test(l.name)).length;
    const scaleLayer = names.has('block0_scale') ? (model.getLayer('block0_scale').getConfig() as { scale?: number }) : null;
    return { tier: 'quality', scale, features: [filters('head')], blocks, resScale: scaleLayer?.scale ?? 1, skip };
  }
  const convs = model.layers.filter((l) => /^conv\d+$/.test(l.name)).map((l) => filters(l.name));
  if (!convs.length) throw new Error(`${model.name}: neither a quality (head, blocks) nor a real-time (conv1..) SR model`);
  return { tier: 'real-time', scale, features: convs, blocks: 0, resScale: 1, skip };
}

/**
 * The same network at another scale and/or deeper, started from `source`'s weights. Every layer
 * except the sub-pixel tail is scale-free (EDSR's trick: the x3/x4 models start from the trained
 * x2 one), so each layer with the same name and weight shapes is copied; the tail conv (3*s*s
 * outputs) starts fresh with its small init when the scale changes, the bicubic skip is rebuilt
 * for the new scale. Extra residual blocks (quality tier, `blocks` above the source's) are appended
 * after the trained ones with their second conv zeroed, so each new block starts as the identity
 * and the deeper network computes exactly what the source did (zero-init residual branches, as
 * in Goyal et al. 2017 / Net2Net's function-preserving growth); training then grows them.
 * Wider (quality tier, `features` above the source's): every conv keeps its trained weights in
 * the old channels; the new output channels start with the fresh layer's random init and every
 * weight that reads a new channel into an old one is zero, so the new channels compute something
 * but nothing old sees them yet: the wider network computes exactly what the source did, and the
 * zero weights get gradients from the first step (Net2Net-style widening with zeroed fan-out).
 */
export function srModelGrown(
  source: tfl.LayersModel,
  to: { scale?: number; blocks?: number; features?: number },
  seed?: number,
): { model: tfl.LayersModel; copied: string[]; fresh: string[]; identity: string[]; widened: string[] } {
  const o = srOptionsOf(source);
  const scale = to.scale ?? o.scale;
  const blocks = to.blocks ?? o.blocks;
  const width = to.features ?? o.features[0];
  if ((blocks !== o.blocks || width !== o.features[0]) && o.tier !== 'quality') throw new Error(`${source.name}: only a quality-tier network (residual blocks) can be deepened or widened`);
  if (blocks < o.blocks) throw new Error(`${source.name} has ${o.blocks} residual blocks; a network started from it cannot have fewer (asked for ${blocks})`);
  if (width < o.features[0]) throw new Error(`${source.name} has ${o.features[0]} features; a network started from it cannot have fewer (asked for ${width})`);
  const features = o.tier === 'quality' ? [width] : o.features;
  const model = buildSrModel({ ...o, scale, blocks, features, name: source.name.replace(/x\d$/, `x${scale}`), seed });
  const copied: string[] = [];
  const fresh: string[] = [];
  const identity: string[] = [];
  const widened: string[] = [];
  for (const layer of model.layers) {
    if (!layer.trainable || !layer.getWeights().length) continue;
    const from = source.layers.find((l) => l.name === layer.name);
    const w = from?.getWeights() ?? [];
    const mine = layer.getWeights();
    if (w.length === mine.length && w.every((t, i) => t.shape.join() === mine[i]!.shape.join())) {
      layer.setWeights(w);
      copied.push(layer.name);
    } else if (width > o.features[0] && !(layer.name === 'tail_conv' && scale !== o.scale) && w.length === mine.length && w.every((t, i) => fitsInside(t.shape, mine[i]!.shape))) {
      // (The tail's sub-pixel channels mean other phases at another scale: that tail starts fresh.)
      const wide = w.map((t, i) => widenedWeight(t, mine[i]!));
      layer.setWeights(wide);
      tf.dispose(wide);
      widened.push(layer.name);
    } else if (!from && /^block\d+_conv2$/.test(layer.name)) {
      const zeros = mine.map((t) => tf.zerosLike(t));
      layer.setWeights(zeros);
      tf.dispose(zeros);
      identity.push(layer.name);
    } else fresh.push(layer.name);
  }
  return { model, copied, fresh, identity, widened };
}

/** Same rank, same kernel size, no dimension smaller: a trained weight that a wider layer can hold. */
function fitsInside(small: number[], big: number[]): boolean {
  if (small.length !== big.length) return false;
  if (small.length === 4 && (small[0] !== big[0] || small[1] !== big[1])) return false;
  return small.every((d, i) => d <= big[i]!);
}

/**
 * A conv kernel [k, k, in, out] or bias [out] of a widened layer: the trained values in the old
 * [in, out] corner, zero where a new input channel feeds an old output, the fresh init elsewhere
 * (new output channels, so they are not dead).
 */
function widenedWeight(trained: tf.Tensor, fresh: tf.Tensor): tf.Tensor {
  const t = trained.dataSync();
  const out = Float32Array.from(fresh.dataSync());
  if (trained.rank === 1) {
    out.set(t);
    return tf.tensor1d(out);
  }
  const [kh, kw, inOld, outOld] = trained.shape as [number, number, number, number];
  const [, , inNew, outNew] = fresh.shape as [number, number, number, number];
  for (let p = 0; p < kh * kw; p++) {
    for (let i = 0; i < inNew; i++) {
      for (let c = 0; c < outOld; c++) out[(p * inNew + i) * outNew + c] = i < inOld ? t[(p * inOld + i) * outOld + c]! : 0;
    }
  }
  return tf.tensor4d(out, [kh, kw, inNew, outNew]);
}

/** SRGAN-style discriminator: conv-LeakyReLU stages with stride-2 downsampling, global average pool, one logit. */
export function buildDiscriminator(opts: { base?: number; stages?: number } = {}): tfl.LayersModel {
  const base = opts.base ?? 8;
  const stages = opts.stages ?? 4;
  const input = tfl.input({ shape: [null, null, 3], name: 'image' });
  let x: tfl.SymbolicTensor = input;
  for (let i = 0; i < stages; i++) {
    const f = base * 2 ** Math.min(i, 3);
    x = tfl.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', name: `d${i}_conv1` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.leakyReLU({ alpha: 0.2, name: `d${i}_act1` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({ filters: f, kernelSize: 4, strides: 2, padding: 'same', name: `d${i}_conv2` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.leakyReLU({ alpha: 0.2, name: `d${i}_act2` }).apply(x) as tfl.SymbolicTensor;
  }
  x = tfl.layers.globalAveragePooling2d({ name: 'd_pool' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 1, name: 'd_logit' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: x, name: 'sr_discriminator' });
}

export function countParameters(model: tfl.LayersModel): number {
  return model.countParams();
}

/**
 * Receptive radius of a model made of stride-1 convolutions (the SR networks here), in input pixels:
 * the longest chain of (kernel - 1) / 2 * dilation through the layer graph (residual adds and the
 * skip branch take the larger of their inputs). An output pixel depends on the input pixels within
 * this distance, so a tile whose outer `radius` pixels are discarded gives the whole-image result.
 * Throws on a strided or pooling layer, where the radius would need another formula.
 */
export function receptiveRadius(model: tfl.LayersModel): number {
  const first = (v: number[] | number | undefined, d: number) => (Array.isArray(v) ? Math.max(...v) : (v ?? d));
  const radius = new Map<string, number>();
  for (const layer of model.layers) {
    const inputs = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    let r = Math.max(0, ...inputs.map((l) => radius.get(l.name) ?? 0));
    const cfg = layer.getConfig() as { kernelSize?: number[] | number; strides?: number[] | number; dilationRate?: number[] | number };
    if (cfg.kernelSize !== undefined) {
      if (first(cfg.strides, 1) !== 1) throw new Error(`receptiveRadius: layer ${layer.name} has stride ${first(cfg.strides, 1)}; only stride-1 networks are supported`);
      r += Math.floor((first(cfg.kernelSize, 1) - 1) / 2) * first(cfg.dilationRate, 1);
    } else if (/pool/i.test(layer.getClassName())) {
      throw new Error(`receptiveRadius: layer ${layer.name} (${layer.getClassName()}) is not supported`);
    }
    radius.set(layer.name, r);
  }
  return Math.max(0, ...model.outputLayers.map((l) => radius.get(l.name) ?? 0));
}

/**
 * Multiply-accumulates of the convs for one forward pass on an h x w input, in billions.
 * Valid for the SR models here: every conv runs at input resolution, stride 1.
 */
export function estimateGmacs(model: tfl.LayersModel, h = 256, w = 256): number {
  let macs = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Conv2D') continue;
    const [kh = 0, kw = 0, cin = 0, cout = 0] = (layer.getWeights()[0] as tf.Tensor).shape; // [kh, kw, cin, cout]
    macs += h * w * kh * kw * cin * cout;
  }
  return macs / 1e9;
}
