/** Identity-at-inference layers, Flatten, and nested models. */
import { attr } from '../onnx/builder';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Emitter } from './types';

/** Dropout, GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D: identity at inference. */
export const identity: Emitter = (ctx) => [ctx.g.op('Identity', [ctx.inputs[0]], {}, ctx.name)];

/** Flatten: tfjs flattens NHWC order, so a rank-4 (NCHW) value is transposed back first. */
export const flatten: Emitter = (ctx) => {
  let x = ctx.inputs[0];
  if (ctx.inputShapes[0].length === 4) x = ctx.g.op('Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) }, `${ctx.name}/nhwc`);
  return [ctx.g.op('Flatten', [x], { axis: attr.int(1) }, ctx.name)];
};

/** A LayersModel (functional or Sequential) used as a layer: its graph is inlined. */
export const nestedModel: Emitter = (ctx) => ctx.emitModel(ctx.layer as unknown as LayersModel, ctx.inputs);

/** Rescaling: x * scale + offset. */
export const rescaling: Emitter = (ctx) => {
  const scale = ctx.config.scale ?? 1;
  const offset = ctx.config.offset ?? 0;
  if (typeof scale !== 'number' || typeof offset !== 'number') return ctx.unsupported(`non-scalar scale/offset ${JSON.stringify({ scale, offset })}`);
  const g = ctx.g;
  const y = g.op('Mul', [ctx.inputs[0], g.float(`${ctx.name}/scale`, [scale], [])], {}, offset === 0 ? ctx.name : `${ctx.name}/mul`);
  return [offset === 0 ? y : g.op('Add', [y, g.float(`${ctx.name}/offset`, [offset], [])], {}, ctx.name)];
};
