/** MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D. */
import { attr } from '../onnx/builder';
import { cfgPair, requireChannelsLast, requireRank, windowPadding, type Emitter } from './types';

function pool(opType: 'MaxPool' | 'AveragePool'): Emitter {
  return (ctx) => {
    requireChannelsLast(ctx);
    requireRank(ctx, 4);
    const size = cfgPair(ctx, 'poolSize', [2, 2]);
    const strides = ctx.config.strides == null ? size : cfgPair(ctx, 'strides');
    const attrs = { kernel_shape: attr.ints(size), strides: attr.ints(strides), ...windowPadding(ctx, ctx.config.padding ?? 'valid', size, strides) };
    // TF averages over the valid (unpadded) pixels only: count_include_pad = 0, ONNX's default.
    return [ctx.g.op(opType, [ctx.inputs[0]], opType === 'AveragePool' ? { ...attrs, count_include_pad: attr.int(0) } : attrs, ctx.name)];
  };
}

export const maxPooling2d = pool('MaxPool');
export const averagePooling2d = pool('AveragePool');

function globalPool(opType: 'ReduceMean' | 'ReduceMax'): Emitter {
  return (ctx) => {
    requireChannelsLast(ctx);
    requireRank(ctx, 4);
    const keep = ctx.config.keepDims === true;
    const y = ctx.g.op(opType, [ctx.inputs[0]], { axes: attr.ints([2, 3]), keepdims: attr.int(keep ? 1 : 0) }, ctx.name);
    return [y];
  };
}

export const globalAveragePooling2d = globalPool('ReduceMean');
export const globalMaxPooling2d = globalPool('ReduceMax');
