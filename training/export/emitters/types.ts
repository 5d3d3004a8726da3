/**
 * The emitter interface: one function per tfjs layer class that appends the equivalent ONNX
 * nodes to the graph (like onnxruntime's per-op kernel registry, in reverse).
 *
 * Layout convention inside the exported graph: every rank-4 value is NCHW (tfjs's NHWC
 * transposed); values of any other rank keep tfjs's layout. Emitters translate axes, pads and
 * weight layouts accordingly.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { layers, LayersModel } from '@tensorflow/tfjs-layers';
import { attr, type Attr, type GraphBuilder } from '../onnx/builder';

export type Layer = layers.Layer;
export type Shape = (number | null)[];

export interface LayerWeight {
  values: Float32Array;
  shape: number[];
}

export interface EmitContext {
  g: GraphBuilder;
  layer: Layer;
  className: string;
  /** layer.getConfig(), as tfjs serializes it (camelCase keys). */
  config: tf.serialization.ConfigDict;
  /** ONNX value names of the inputs (rank-4 ones are NCHW). */
  inputs: string[];
  /** tfjs (NHWC) static shapes of the inputs and outputs; null = dynamic. */
  inputShapes: Shape[];
  outputShapes: Shape[];
  /** Base name for this layer's values and nodes (the layer name, prefixed inside nested models). */
  name: string;
  /** A weight of this layer by its short name ("kernel", "bias", "gamma", ...). Throws if absent. */
  weight(shortName: string): LayerWeight;
  /** Whether the layer has that weight. */
  hasWeight(shortName: string): boolean;
  /** Throws the exporter's "unsupported" error naming this layer. */
  unsupported(what: string): never;
  /** Emits a nested LayersModel (a model used as a layer) on the given inputs; returns its outputs. */
  emitModel(model: LayersModel, inputs: string[]): string[];
}

/** Appends the ONNX nodes for one layer call; returns the ONNX value names of the layer's outputs. */
export type Emitter = (ctx: EmitContext) => string[];

export class UnsupportedLayerError extends Error {
  constructor(
    readonly layerName: string,
    readonly className: string,
    readonly detail: string,
  ) {
    super(`cannot export layer "${layerName}" (${className}): ${detail}`);
    this.name = 'UnsupportedLayerError';
  }
}

// ---- helpers shared by emitters ----

export function cfgNumber(ctx: EmitContext, key: string, fallback?: number): number {
  const v = ctx.config[key];
  if (v == null && fallback !== undefined) return fallback;
  if (typeof v !== 'number') ctx.unsupported(`config "${key}" = ${JSON.stringify(v)} is not a number`);
  return v;
}

/** A config entry that tfjs stores as a number or an [a, b] pair. */
export function cfgPair(ctx: EmitContext, key: string, fallback?: [number, number]): [number, number] {
  const v = ctx.config[key];
  if (v == null && fallback) return fallback;
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return [v[0], v[0]];
  return ctx.unsupported(`config "${key}" = ${JSON.stringify(v)} is not a number or a pair`);
}

export function requireChannelsLast(ctx: EmitContext): void {
  const df = ctx.config.dataFormat;
  if (df != null && df !== 'channelsLast') ctx.unsupported(`dataFormat "${String(df)}" (only channelsLast)`);
}

export function requireRank(ctx: EmitContext, rank: number, index = 0): void {
  const r = ctx.inputShapes[index]?.length;
  if (r !== rank) ctx.unsupported(`input rank ${r} (expected ${rank})`);
}

/** Maps a tfjs axis of a rank-r tensor to the ONNX value's axis (NHWC -> NCHW for rank 4). */
export function onnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a];
}

/** tfjs 2-D spatial weight [kh, kw, a, b] -> [b, a, kh, kw] (HWIO -> OIHW). */
export function hwioToOihw(w: LayerWeight): LayerWeight {
  const [kh, kw, ci, co] = w.shape;
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = w.values[((y * kw + x) * ci + i) * co + o];
  return { values: out, shape: [co, ci, kh, kw] };
}

/** tfjs Conv2DTranspose kernel [kh, kw, out, in] -> ONNX ConvTranspose weight [in, out, kh, kw]. */
export function hwoiToIohw(w: LayerWeight): LayerWeight {
  // Same index shuffle: the tfjs kernel's third axis is "out" and its last is "in".
  return hwioToOihw(w);
}

/** Explicit pads or auto_pad for a TF-style 'valid' / 'same' convolution or pooling window. */
export function windowPadding(
  ctx: EmitContext,
  padding: unknown,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number] = [1, 1],
): Record<string, Attr> {
  if (padding === 'valid') return { pads: attr.ints([0, 0, 0, 0]) };
  if (padding !== 'same') return ctx.unsupported(`padding "${String(padding)}" (only 'valid' and 'same')`);
  const inShape = ctx.inputShapes[0];
  const begin: number[] = [];
  const end: number[] = [];
  for (let d = 0; d < 2; d++) {
    const k = (kernel[d] - 1) * dilations[d] + 1;
    const s = strides[d];
    const size = inShape[1 + d];
    let total: number;
    if (s === 1) total = k - 1;
    else if (size != null) total = Math.max((Math.ceil(size / s) - 1) * s + k - size, 0);
    else if (k === 1) total = 0;
    // Dynamic size and stride > 1: TF's 'same' pad depends on the runtime size. ONNX's
    // auto_pad SAME_UPPER computes exactly TF's rule (extra pixel at the end) at run time.
    else return { auto_pad: attr.str('SAME_UPPER') };
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return { pads: attr.ints([...begin, ...end]) };
}

/** Applies a tfjs activation (by serialized name) to `x`; returns the new value (or `x` for linear). */
export function emitActivation(ctx: EmitContext, x: string, activation: unknown, name: string, rank = 4): string {
  const g = ctx.g;
  const act = activation == null ? 'linear' : String(activation);
  const softmaxAxis = rank === 4 ? 1 : -1;
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x], {}, name);
    case 'relu6':
      return g.op('Clip', [x, g.float(`${name}/min`, [0], []), g.float(`${name}/max`, [6], [])], {}, name);
    case 'elu':
      return g.op('Elu', [x], { alpha: attr.float(1) }, name);
    case 'selu':
      return g.op('Selu', [x], {}, name);
    case 'tanh':
      return g.op('Tanh', [x], {}, name);
    case 'sigmoid':
      return g.op('Sigmoid', [x], {}, name);
    case 'hardSigmoid':
      return g.op('HardSigmoid', [x], { alpha: attr.float(0.2), beta: attr.float(0.5) }, name);
    case 'softplus':
      return g.op('Softplus', [x], {}, name);
    case 'softsign':
      return g.op('Softsign', [x], {}, name);
    case 'softmax':
      return g.op('Softmax', [x], { axis: attr.int(softmaxAxis) }, name);
    case 'logSoftmax':
      return g.op('LogSoftmax', [x], { axis: attr.int(softmaxAxis) }, name);
    case 'swish':
      return g.op('Mul', [g.op('Sigmoid', [x], {}, `${name}/sigmoid`), x], {}, name);
    case 'mish': {
      const t = g.op('Tanh', [g.op('Softplus', [x], {}, `${name}/softplus`)], {}, `${name}/tanh`);
      return g.op('Mul', [x, t], {}, name);
    }
    case 'gelu': {
      // x * 0.5 * (1 + erf(x / sqrt(2)))
      const e = g.op('Erf', [g.op('Div', [x, g.float(`${name}/sqrt2`, [Math.SQRT2], [])], {}, `${name}/div`)], {}, `${name}/erf`);
      const one = g.op('Add', [e, g.float(`${name}/one`, [1], [])], {}, `${name}/add`);
      return g.op('Mul', [g.op('Mul', [x, g.float(`${name}/half`, [0.5], [])], {}, `${name}/half_x`), one], {}, name);
    }
    case 'gelu_new': {
      // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
      const x3 = g.op('Mul', [g.op('Mul', [x, x], {}, `${name}/x2`), x], {}, `${name}/x3`);
      const inner = g.op('Add', [x, g.op('Mul', [x3, g.float(`${name}/c`, [0.044715], [])], {}, `${name}/cx3`)], {}, `${name}/inner`);
      const t = g.op('Tanh', [g.op('Mul', [inner, g.float(`${name}/k`, [Math.sqrt(2 / Math.PI)], [])], {}, `${name}/scaled`)], {}, `${name}/tanh`);
      const one = g.op('Add', [t, g.float(`${name}/one`, [1], [])], {}, `${name}/add`);
      return g.op('Mul', [g.op('Mul', [x, g.float(`${name}/half`, [0.5], [])], {}, `${name}/half_x`), one], {}, name);
    }
    default:
      return ctx.unsupported(`activation "${act}"`);
  }
}

/** Adds a per-channel bias (NCHW) when the layer has one. */
export function channelBias(ctx: EmitContext): string | undefined {
  if (ctx.config.useBias === false || !ctx.hasWeight('bias')) return undefined;
  const b = ctx.weight('bias');
  return ctx.g.float(`${ctx.name}/bias`, b.values, b.shape, true);
}
