/** Shared helpers for the export tests: tiny tfjs models with random weights, temp dirs, parity. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import '../../training/models/layers';
import { exportOnnx, type ExportOptions, type ExportReport } from '../../training/export';
import { seededUniform } from '../../training/export/parity';

export { tf, tfl };
export type ST = tfl.SymbolicTensor;

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ganvas-export-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Replaces every weight with seeded random values (biases and BN statistics too, so that bias,
 * mean and variance handling is actually exercised; variances stay positive).
 */
export function randomizeWeights(model: tfl.LayersModel, seed = 7, scale = 0.5): void {
  let s = seed;
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (!ws.length) continue;
    layer.setWeights(
      layer.getWeights().map((w, i) => {
        const positive = /variance/.test(ws[i].originalName);
        return tf.tensor(seededUniform(w.size, positive ? [0.5, 1.5] : [-scale, scale], s++), w.shape);
      }),
    );
  }
}

export function modelOf(input: ST, output: ST | ST[]): tfl.LayersModel {
  const m = tfl.model({ inputs: input, outputs: output });
  randomizeWeights(m);
  return m;
}

export function imageInput(channels = 3): ST {
  return tfl.input({ shape: [null, null, channels] });
}

/** Exports (rgb contract off unless asked) and asserts the fp32 parity bound at the given sizes. */
export async function expectParity(
  model: tfl.LayersModel,
  dir: string,
  sizes: [number, number][],
  opts: Partial<ExportOptions> = {},
): Promise<ExportReport> {
  const outFile = path.join(dir, `${model.name}.onnx`);
  const report = await exportOnnx(model, { outFile, rgb: false, check: { sizes }, ...opts });
  expect(report.sizes).toHaveLength(sizes.length);
  for (const s of report.sizes) expect(s.maxAbsDiff).toBeLessThanOrEqual(s.bound);
  if (!opts.fp16) expect(report.maxAbsDiff).toBeLessThan(1e-4 * 10); // bound is 1e-4 x max(1, |y|max); outputs here are O(1-10)
  return report;
}
