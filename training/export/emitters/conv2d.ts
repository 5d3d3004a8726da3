import { attr } from '../onnx/builder';
import { cfgPair, channelBias, emitActivation, hwioToOihw, requireChannelsLast, requireRank, windowPadding, type Emitter } from './types';

/** Conv2D -> Conv (HWIO -> OIHW weights; TF 'same' padding as explicit pads or SAME_UPPER) + activation. */
export const conv2d: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  const kernel = cfgPair(ctx, 'kernelSize');
  const strides = cfgPair(ctx, 'strides', [1, 1]);
  const dilations = cfgPair(ctx, 'dilationRate', [1, 1]);
  const w = hwioToOihw(ctx.weight('kernel'));
  const inputs = [ctx.inputs[0], ctx.g.float(`${ctx.name}/kernel`, w.values, w.shape, true)];
  const bias = channelBias(ctx);
  if (bias) inputs.push(bias);
  const act = ctx.config.activation ?? 'linear';
  const y = ctx.g.op(
    'Conv',
    inputs,
    {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      dilations: attr.ints(dilations),
      group: attr.int(1),
      ...windowPadding(ctx, ctx.config.padding, kernel, strides, dilations),
    },
    act === 'linear' ? ctx.name : `${ctx.name}/conv`,
  );
  return [emitActivation(ctx, y, act, ctx.name)];
};
