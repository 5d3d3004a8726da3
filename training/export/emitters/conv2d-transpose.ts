import { attr } from '../onnx/builder';
import { cfgPair, channelBias, emitActivation, hwoiToIohw, requireChannelsLast, requireRank, type Emitter } from './types';

/**
 * Conv2DTranspose -> ConvTranspose.
 * tfjs output size: 'valid': in*s + max(k - s, 0); 'same': in*s. tfjs pads the equivalent forward
 * convolution with total = max(k - s, 0) for 'same' (floor half at the start), 0 for 'valid'.
 * ONNX output = s*(in-1) + output_padding + k - pad_begin - pad_end, so output_padding = max(s - k, 0)
 * in both cases (the extra rows/cols at the end, which receive only the bias, as in tfjs).
 */
export const conv2dTranspose: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  const kernel = cfgPair(ctx, 'kernelSize');
  const strides = cfgPair(ctx, 'strides', [1, 1]);
  const dilations = cfgPair(ctx, 'dilationRate', [1, 1]);
  if (dilations[0] !== 1 || dilations[1] !== 1) ctx.unsupported(`dilationRate [${dilations.join(', ')}] (only 1)`);
  const padding = ctx.config.padding;
  if (padding !== 'same' && padding !== 'valid') ctx.unsupported(`padding "${String(padding)}"`);
  const begin: number[] = [];
  const end: number[] = [];
  const outputPadding: number[] = [];
  for (let d = 0; d < 2; d++) {
    const k = kernel[d];
    const s = strides[d];
    const total = padding === 'same' ? Math.max(k - s, 0) : 0;
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
    outputPadding.push(Math.max(s - k, 0));
  }
  const w = hwoiToIohw(ctx.weight('kernel'));
  const inputs = [ctx.inputs[0], ctx.g.float(`${ctx.name}/kernel`, w.values, w.shape, true)];
  const bias = channelBias(ctx);
  if (bias) inputs.push(bias);
  const act = ctx.config.activation ?? 'linear';
  const y = ctx.g.op(
    'ConvTranspose',
    inputs,
    {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      pads: attr.ints([...begin, ...end]),
      output_padding: attr.ints(outputPadding),
      group: attr.int(1),
    },
    act === 'linear' ? ctx.name : `${ctx.name}/convT`,
  );
  return [emitActivation(ctx, y, act, ctx.name)];
};
