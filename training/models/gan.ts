/**
 * Network factories shared by the unpaired translation trainers (CycleGAN and CUT/FastCUT): the
 * published ResNet generator (./resnet-generator), the real-time light generator and the webcam
 * tiny generator (./light-generator), the half-resolution webcam generator (./halfres-generator),
 * and the PatchGAN discriminator (./patchgan), all with a seeded N(0, 0.02) init so a run is
 * reproducible from its seed. Sizes and costs: ./stats.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { lightGenerator, tinyGenerator } from './light-generator';
import { halfResGenerator } from './halfres-generator';
import { resnetGenerator } from './resnet-generator';
import { patchGan } from './patchgan';

export const GENERATOR_KINDS = ['resnet', 'light', 'tiny', 'halfres'] as const;
export type GeneratorKind = (typeof GENERATOR_KINDS)[number];

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
  if (o.generator === 'halfres') return halfResGenerator({ ngf: o.ngf, nBlocks: o.nBlocks, name, seed });
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
