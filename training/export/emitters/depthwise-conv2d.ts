import { attr } from '../onnx/builder';
import { cfgPair, channelBias, emitActivation, requireChannelsLast, requireRank, windowPadding, type EmitContext, type Emitter, type LayerWeight } from './types';

/**
 * tfjs depthwise kernel [kh, kw, C, M] -> ONNX grouped-Conv weight [C*M, 1, kh, kw] (group = C).
 * tfjs orders the output channels c*M + m, which is also ONNX's group-major order.
 */
export function depthwiseWeight(w: LayerWeight): LayerWeight {
  const [kh, kw, c, m] = w.shape;
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < c; i++)
        for (let j = 0; j < m; j++) out[((i * m + j) * kh + y) * kw + x] = w.values[((y * kw + x) * c + i) * m + j];
  return { values: out, shape: [c * m, 1, kh, kw] };
}

/** The depthwise Conv node shared by DepthwiseConv2D and SeparableConv2D. */
export function emitDepthwise(ctx: EmitContext, bias: string | undefined, name: string): string {
  const kernel = cfgPair(ctx, 'kernelSize');
  const strides = cfgPair(ctx, 'strides', [1, 1]);
  const dilations = cfgPair(ctx, 'dilationRate', [1, 1]);
  const w = depthwiseWeight(ctx.weight('depthwise_kernel'));
  const inputs = [ctx.inputs[0], ctx.g.float(`${ctx.name}/depthwise_kernel`, w.values, w.shape, true)];
  if (bias) inputs.push(bias);
  return ctx.g.op(
    'Conv',
    inputs,
    {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      dilations: attr.ints(dilations),
      group: attr.int(ctx.weight('depthwise_kernel').shape[2]),
      ...windowPadding(ctx, ctx.config.padding, kernel, strides, dilations),
    },
    name,
  );
}

export const depthwiseConv2d: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  const act = ctx.config.activation ?? 'linear';
  const y = emitDepthwise(ctx, channelBias(ctx), act === 'linear' ? ctx.name : `${ctx.name}/depthwise`);
  return [emitActivation(ctx, y, act, ctx.name)];
};
