import { attr } from '../onnx/builder';
import { cfgNumber, requireRank, type Emitter } from './types';

/**
 * Ganvas PixelShuffle -> DepthToSpace mode DCR. Both read the input channel (i*r + j)*C + c for
 * output pixel (h*r + i, w*r + j, c): TF's depth_to_space order.
 */
export const pixelShuffle: Emitter = (ctx) => {
  requireRank(ctx, 4);
  const r = cfgNumber(ctx, 'scale');
  return [ctx.g.op('DepthToSpace', [ctx.inputs[0]], { blocksize: attr.int(r), mode: attr.str('DCR') }, ctx.name)];
};
