import { attr } from '../onnx/builder';
import { emitActivation, type Emitter } from './types';

/**
 * Dense acts on the last (channel) axis. Rank 4 (NCHW here): a 1x1 Conv. Rank 2: Gemm.
 * Other ranks: MatMul (+ Add).
 */
export const dense: Emitter = (ctx) => {
  const g = ctx.g;
  const rank = ctx.inputShapes[0].length;
  const k = ctx.weight('kernel'); // [in, out]
  const [cin, cout] = k.shape;
  const hasBias = ctx.config.useBias !== false && ctx.hasWeight('bias');
  const act = ctx.config.activation ?? 'linear';
  const outName = act === 'linear' ? ctx.name : `${ctx.name}/dense`;
  let y: string;
  if (rank === 4) {
    const w = new Float32Array(k.values.length);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) w[o * cin + i] = k.values[i * cout + o];
    const inputs = [ctx.inputs[0], g.float(`${ctx.name}/kernel`, w, [cout, cin, 1, 1], true)];
    if (hasBias) inputs.push(g.float(`${ctx.name}/bias`, ctx.weight('bias').values, [cout], true));
    y = g.op('Conv', inputs, { kernel_shape: attr.ints([1, 1]) }, outName);
  } else if (rank === 2) {
    const inputs = [ctx.inputs[0], g.float(`${ctx.name}/kernel`, k.values, [cin, cout], true)];
    if (hasBias) inputs.push(g.float(`${ctx.name}/bias`, ctx.weight('bias').values, [cout], true));
    y = g.op('Gemm', inputs, {}, outName);
  } else {
    const m = g.op('MatMul', [ctx.inputs[0], g.float(`${ctx.name}/kernel`, k.values, [cin, cout], true)], {}, hasBias ? `${ctx.name}/matmul` : outName);
    y = hasBias ? g.op('Add', [m, g.float(`${ctx.name}/bias`, ctx.weight('bias').values, [cout], true)], {}, outName) : m;
  }
  return [emitActivation(ctx, y, act, ctx.name, rank)];
};
