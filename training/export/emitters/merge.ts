/** Merge layers: Add, Multiply, Average, Maximum, Minimum, Concatenate. */
import { attr } from '../onnx/builder';
import { onnxAxis, type EmitContext, type Emitter } from './types';

function requireSameRank(ctx: EmitContext): number {
  const ranks = new Set(ctx.inputShapes.map((s) => s.length));
  if (ranks.size !== 1) ctx.unsupported(`inputs of different ranks (${[...ranks].join(', ')})`);
  return ctx.inputShapes[0].length;
}

function variadic(opType: string): Emitter {
  return (ctx) => {
    requireSameRank(ctx);
    if (ctx.inputs.length === 2 && (opType === 'Sum' || opType === 'Mul')) {
      return [ctx.g.op(opType === 'Sum' ? 'Add' : 'Mul', ctx.inputs, {}, ctx.name)];
    }
    if (opType === 'Mul') {
      let y = ctx.inputs[0];
      for (let i = 1; i < ctx.inputs.length; i++) y = ctx.g.op('Mul', [y, ctx.inputs[i]], {}, i === ctx.inputs.length - 1 ? ctx.name : `${ctx.name}/mul${i}`);
      return [y];
    }
    return [ctx.g.op(opType, ctx.inputs, {}, ctx.name)];
  };
}

export const add = variadic('Sum');
export const multiply = variadic('Mul');
export const average = variadic('Mean');
export const maximum = variadic('Max');
export const minimum = variadic('Min');

export const concatenate: Emitter = (ctx) => {
  const rank = requireSameRank(ctx);
  const axis = ctx.config.axis ?? -1;
  if (typeof axis !== 'number') return ctx.unsupported(`axis ${JSON.stringify(axis)}`);
  return [ctx.g.op('Concat', ctx.inputs, { axis: attr.int(onnxAxis(axis, rank)) }, ctx.name)];
};
