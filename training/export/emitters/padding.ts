/** ZeroPadding2D (Pad constant), ReflectionPad2D (Pad reflect), Cropping2D (Slice). */
import { attr } from '../onnx/builder';
import { cfgNumber, requireChannelsLast, requireRank, type EmitContext, type Emitter } from './types';

/** tfjs [[top, bottom], [left, right]] (or a number, or [sym_h, sym_w]). */
function pairs(ctx: EmitContext, key: string): [[number, number], [number, number]] {
  const v = ctx.config[key];
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = v;
    if (typeof a === 'number' && typeof b === 'number') return [[a, a], [b, b]];
    if (Array.isArray(a) && Array.isArray(b)) return [[Number(a[0]), Number(a[1])], [Number(b[0]), Number(b[1])]];
  }
  return ctx.unsupported(`config "${key}" = ${JSON.stringify(v)}`);
}

function pad(ctx: EmitContext, mode: 'constant' | 'reflect', [[t, b], [l, r]]: [[number, number], [number, number]]): string[] {
  const pads = ctx.g.int64(`${ctx.name}/pads`, [0, 0, t, l, 0, 0, b, r]);
  return [ctx.g.op('Pad', [ctx.inputs[0], pads], { mode: attr.str(mode) }, ctx.name)];
}

export const zeroPadding2d: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  return pad(ctx, 'constant', pairs(ctx, 'padding'));
};

export const reflectionPad2d: Emitter = (ctx) => {
  requireRank(ctx, 4);
  const p = cfgNumber(ctx, 'padding');
  return pad(ctx, 'reflect', [[p, p], [p, p]]);
};

export const cropping2d: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  const [[t, b], [l, r]] = pairs(ctx, 'cropping');
  const big = 2 ** 31 - 1; // "to the end"; Slice clamps
  const g = ctx.g;
  const inputs = [ctx.inputs[0], g.int64(`${ctx.name}/starts`, [t, l]), g.int64(`${ctx.name}/ends`, [b ? -b : big, r ? -r : big]), g.int64(`${ctx.name}/axes`, [2, 3])];
  return [g.op('Slice', inputs, {}, ctx.name)];
};
