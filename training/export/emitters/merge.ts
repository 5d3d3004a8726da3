/** Merge layers: Add, Multiply, Average, Maximum, Minimum, Concatenate. */
import { attr } from '../onnx/builder';
import { onnxAxis, type EmitContext, type Emitter } from './types';

function requireSameRank(ctx: EmitContext): number {
  const ranks = new Set(ctx.inputShapes.map((s) => s.length));
  if (ranks.size !== 1) ctx.unsupported(`inputs of different ranks (${[...ranks].join(', ')})`);
  return ctx.inputShapes[0].length;
}

/**
 * Chains of two-input ops rather than ONNX's variadic Sum/Max/Min/Mean: onnxruntime-web's WebGPU
 * EP runs Add/Mul/Max/Min but not variadic Sum, which it would silently place on the CPU EP
 * (with GPU<->CPU copies around it).
 */
function chain(opType: 'Add' | 'Mul' | 'Max' | 'Min', average = false): Emitter {
  return (ctx) => {
    requireSameRank(ctx);
    const n = ctx.inputs.length;
    const last = average ? `${ctx.name}/sum` : ctx.name;
    let y = ctx.inputs[0];
    for (let i = 1; i < n; i++) y = ctx.g.op(opType, [y, ctx.inputs[i]], {}, i === n - 1 ? last : `${ctx.name}/${opType.toLowerCase()}${i}`);
    if (!average) return [y];
    // tfjs: mul(1 / n, sum)
    return [ctx.g.op('Mul', [y, ctx.g.float(`${ctx.name}/inv_n`, [1 / n], [])], {}, ctx.name)];
  };
}

export const add = chain('Add');
export const multiply = chain('Mul');
export const average = chain('Add', true);
export const maximum = chain('Max');
export const minimum = chain('Min');

export const concatenate: Emitter = (ctx) => {
  const rank = requireSameRank(ctx);
  const axis = ctx.config.axis ?? -1;
  if (typeof axis !== 'number') return ctx.unsupported(`axis ${JSON.stringify(axis)}`);
  return [ctx.g.op('Concat', ctx.inputs, { axis: attr.int(onnxAxis(axis, rank)) }, ctx.name)];
};
