import { attr } from '../onnx/builder';
import { channelBias, emitActivation, hwioToOihw, requireChannelsLast, requireRank, type Emitter } from './types';
import { emitDepthwise } from './depthwise-conv2d';

/** SeparableConv2D -> depthwise Conv (group = C) then a 1x1 Conv with the bias, then the activation. */
export const separableConv2d: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  const d = emitDepthwise(ctx, undefined, `${ctx.name}/depthwise`);
  const pw = hwioToOihw(ctx.weight('pointwise_kernel'));
  const inputs = [d, ctx.g.float(`${ctx.name}/pointwise_kernel`, pw.values, pw.shape, true)];
  const bias = channelBias(ctx);
  if (bias) inputs.push(bias);
  const act = ctx.config.activation ?? 'linear';
  const y = ctx.g.op('Conv', inputs, { kernel_shape: attr.ints([1, 1]) }, act === 'linear' ? ctx.name : `${ctx.name}/pointwise`);
  return [emitActivation(ctx, y, act, ctx.name)];
};
