import { attr, type Attr } from '../onnx/builder';
import { cfgPair, requireChannelsLast, requireRank, type Emitter } from './types';

/**
 * UpSampling2D -> Resize by integer scales. tfjs resizes with alignCorners = false and
 * halfPixelCenters = false, i.e. ONNX coordinate_transformation_mode "asymmetric"
 * (nearest: floor of the source coordinate; bilinear: "linear").
 */
export const upSampling2d: Emitter = (ctx) => {
  requireChannelsLast(ctx);
  requireRank(ctx, 4);
  const [sh, sw] = cfgPair(ctx, 'size', [2, 2]);
  const interpolation = ctx.config.interpolation ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') return ctx.unsupported(`interpolation "${String(interpolation)}"`);
  const g = ctx.g;
  const scales = g.float(`${ctx.name}/scales`, [1, 1, sh, sw], [4]);
  const attrs: Record<string, Attr> =
    interpolation === 'nearest'
      ? { mode: attr.str('nearest'), coordinate_transformation_mode: attr.str('asymmetric'), nearest_mode: attr.str('floor') }
      : { mode: attr.str('linear'), coordinate_transformation_mode: attr.str('asymmetric') };
  return [g.op('Resize', [ctx.inputs[0], '', scales], attrs, ctx.name)];
};
