/** Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax. */
import { attr } from '../onnx/builder';
import { cfgNumber, emitActivation, onnxAxis, type Emitter } from './types';

export const activation: Emitter = (ctx) => {
  const y = emitActivation(ctx, ctx.inputs[0], ctx.config.activation, ctx.name, ctx.inputShapes[0].length);
  return [y === ctx.inputs[0] ? ctx.g.op('Identity', [y], {}, ctx.name) : y];
};

export const relu: Emitter = (ctx) => {
  const max = ctx.config.maxValue;
  if (max == null) return [ctx.g.op('Relu', [ctx.inputs[0]], {}, ctx.name)];
  if (typeof max !== 'number') return ctx.unsupported(`maxValue ${JSON.stringify(max)}`);
  const lo = ctx.g.float(`${ctx.name}/min`, [0], []);
  const hi = ctx.g.float(`${ctx.name}/max`, [max], []);
  return [ctx.g.op('Clip', [ctx.inputs[0], lo, hi], {}, ctx.name)];
};

export const leakyRelu: Emitter = (ctx) => [
  ctx.g.op('LeakyRelu', [ctx.inputs[0]], { alpha: attr.float(cfgNumber(ctx, 'alpha', 0.3)) }, ctx.name),
];

export const elu: Emitter = (ctx) => [ctx.g.op('Elu', [ctx.inputs[0]], { alpha: attr.float(cfgNumber(ctx, 'alpha', 1)) }, ctx.name)];

export const thresholdedRelu: Emitter = (ctx) => [
  ctx.g.op('ThresholdedRelu', [ctx.inputs[0]], { alpha: attr.float(cfgNumber(ctx, 'theta', 1)) }, ctx.name),
];

/** Softmax layer (tfjs default axis 1). Several axes: exp(x - logsumexp(x, axes)), as tfjs computes it. */
export const softmax: Emitter = (ctx) => {
  const rank = ctx.inputShapes[0].length;
  const axis = ctx.config.axis ?? 1;
  const axes = Array.isArray(axis) ? axis : [axis];
  if (!axes.every((a): a is number => typeof a === 'number')) return ctx.unsupported(`axis ${JSON.stringify(axis)}`);
  const g = ctx.g;
  if (axes.length === 1) return [g.op('Softmax', [ctx.inputs[0]], { axis: attr.int(onnxAxis(axes[0], rank)) }, ctx.name)];
  const lse = g.op('ReduceLogSumExp', [ctx.inputs[0]], { axes: attr.ints(axes.map((a) => onnxAxis(a, rank))), keepdims: attr.int(1) }, `${ctx.name}/lse`);
  return [g.op('Exp', [g.op('Sub', [ctx.inputs[0], lse], {}, `${ctx.name}/sub`)], {}, ctx.name)];
};

/**
 * PReLU: tfjs alpha has the input's shape without the batch axis, with 1 on shared axes,
 * e.g. [1, 1, C] for sharedAxes [1, 2]. For rank 4 it becomes [C, h, w] to broadcast over NCHW.
 */
export const prelu: Emitter = (ctx) => {
  const a = ctx.weight('alpha');
  let values = a.values;
  let shape = a.shape;
  if (ctx.inputShapes[0].length === 4) {
    const [h, w, c] = a.shape;
    values = new Float32Array(a.values.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) values[(k * h + y) * w + x] = a.values[(y * w + x) * c + k];
    shape = [c, h, w];
  }
  return [ctx.g.op('PRelu', [ctx.inputs[0], ctx.g.float(`${ctx.name}/alpha`, values, shape, true)], {}, ctx.name)];
};
