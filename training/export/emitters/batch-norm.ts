import { attr } from '../onnx/builder';
import { cfgNumber, onnxAxis, type Emitter } from './types';

/** BatchNormalization (inference: moving mean/variance) -> BatchNormalization on the channel axis. */
export const batchNormalization: Emitter = (ctx) => {
  const rank = ctx.inputShapes[0].length;
  const raw = ctx.config.axis ?? -1;
  const axis = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
  if (typeof axis !== 'number' || onnxAxis(axis, rank) !== 1) {
    return ctx.unsupported(`normalization axis ${JSON.stringify(raw)} (only the channel axis)`);
  }
  const mean = ctx.weight('moving_mean');
  const c = mean.shape[0];
  const ones = new Float32Array(c).fill(1);
  const zeros = new Float32Array(c);
  const g = ctx.g;
  const scale = ctx.config.scale !== false && ctx.hasWeight('gamma') ? ctx.weight('gamma').values : ones;
  const bias = ctx.config.center !== false && ctx.hasWeight('beta') ? ctx.weight('beta').values : zeros;
  const inputs = [
    ctx.inputs[0],
    g.float(`${ctx.name}/gamma`, scale, [c], true),
    g.float(`${ctx.name}/beta`, bias, [c], true),
    g.float(`${ctx.name}/moving_mean`, mean.values, [c], true),
    g.float(`${ctx.name}/moving_variance`, ctx.weight('moving_variance').values, [c], true),
  ];
  return [g.op('BatchNormalization', inputs, { epsilon: attr.float(cfgNumber(ctx, 'epsilon', 1e-3)) }, ctx.name)];
};
