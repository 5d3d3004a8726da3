import { attr } from '../onnx/builder';
import { cfgNumber, requireRank, type Emitter } from './types';

/** Ganvas InstanceNorm -> InstanceNormalization (scale 1, B 0 when affine is false). */
export const instanceNorm: Emitter = (ctx) => {
  requireRank(ctx, 4);
  const c = ctx.inputShapes[0][3];
  if (c == null) return ctx.unsupported('unknown channel count');
  const affine = ctx.config.affine === true;
  const scale = affine ? ctx.weight('gamma').values : new Float32Array(c).fill(1);
  const bias = affine ? ctx.weight('beta').values : new Float32Array(c);
  const g = ctx.g;
  const inputs = [ctx.inputs[0], g.float(`${ctx.name}/gamma`, scale, [c], affine), g.float(`${ctx.name}/beta`, bias, [c], affine)];
  return [g.op('InstanceNormalization', inputs, { epsilon: attr.float(cfgNumber(ctx, 'epsilon', 1e-5)) }, ctx.name)];
};
