/**
 * Network factories for CycleGAN: the published ResNet generator (training/models/resnet-generator)
 * or the real-time light generator (training/models/light-generator), and the 70x70 PatchGAN
 * (training/models/patchgan). Sizes and costs: training/models/stats.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { lightGenerator, tinyGenerator } from '../../models/light-generator';
import { resnetGenerator } from '../../models/resnet-generator';
import { patchGan } from '../../models/patchgan';

export type GeneratorKind = 'resnet' | 'light' | 'tiny';

export interface NetOptions {
  generator: GeneratorKind;
  ngf: number;
  nBlocks: number;
  ndf: number;
  dLayers: number;
}

export async function buildGenerator(o: NetOptions, name: string, seed = 1): Promise<tfl.LayersModel> {
  if (o.generator === 'light') return lightGenerator({ ngf: o.ngf, nBlocks: o.nBlocks, name, seed });
  if (o.generator === 'tiny') return tinyGenerator({ ngf: o.ngf, nBlocks: o.nBlocks, name, seed });
  return seededInit(resnetGenerator({ ngf: o.ngf, nBlocks: o.nBlocks, name }), seed);
}

export async function buildDiscriminator(o: NetOptions, name: string, seed = 101): Promise<tfl.LayersModel> {
  return seededInit(patchGan({ ndf: o.ndf, nLayers: o.dLayers, name }), seed);
}

/**
 * Re-draws every kernel from N(0, 0.02) (CycleGAN's init) with a seed and zeroes biases, so a
 * run is reproducible from --seed (tfjs-layers' initializers are unseeded by default).
 */
export function seededInit(model: tfl.LayersModel, seed: number): tfl.LayersModel {
  let s = seed;
  const values = model.weights.map((w) =>
    /kernel/.test(w.originalName ?? w.name)
      ? tf.randomNormal(w.shape as number[], 0, 0.02, 'float32', s++)
      : /bias|beta/.test(w.originalName ?? w.name)
        ? tf.zeros(w.shape as number[])
        : /gamma/.test(w.originalName ?? w.name)
          ? tf.ones(w.shape as number[])
          : w.read().clone(),
  );
  model.setWeights(values);
  tf.dispose(values);
  return model;
}
