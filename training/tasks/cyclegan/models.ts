/**
 * Network factories for CycleGAN: the published ResNet generator (training/models/resnet-generator)
 * or the real-time light generator (training/models/light-generator), and the 70x70 PatchGAN
 * (training/models/patchgan). Sizes and costs come from training/models/stats.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { lightGenerator } from '../../models/light-generator';
import { resnetGenerator } from '../../models/resnet-generator';
import { patchGan } from '../../models/patchgan';
import { countParams as countParamsOf, macs } from '../../models/stats';

export type GeneratorKind = 'resnet' | 'light';

export interface NetOptions {
  generator: GeneratorKind;
  ngf: number;
  nBlocks: number;
  ndf: number;
  dLayers: number;
}

export async function buildGenerator(o: NetOptions, name: string, seed = 1): Promise<tfl.LayersModel> {
  if (o.generator === 'light') return lightGenerator({ ngf: o.ngf, nBlocks: o.nBlocks, name, seed });
  return resnetGenerator({ ngf: o.ngf, nBlocks: o.nBlocks, name });
}

export async function buildDiscriminator(o: NetOptions, name: string): Promise<tfl.LayersModel> {
  return patchGan({ ndf: o.ndf, nLayers: o.dLayers, name });
}

export function countParams(model: tfl.LayersModel): number {
  return countParamsOf(model);
}

/** Multiply-accumulates of one forward pass at h x w. */
export function countMacs(model: tfl.LayersModel, h: number, w: number): number {
  return macs(model, h, w);
}
