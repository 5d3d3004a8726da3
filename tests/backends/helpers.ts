/** Shared helpers for the backend tests: run the same computation on two backends and compare. */
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic pseudo-random values in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** max |a - b| / max |a|: the relative error of b against the reference a. */
export function relError(reference: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (reference.length !== actual.length) throw new Error(`length ${actual.length} != ${reference.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < reference.length; i++) {
    num = Math.max(num, Math.abs(reference[i] - actual[i]));
    den = Math.max(den, Math.abs(reference[i]));
  }
  return den === 0 ? num : num / den;
}

/** Runs f on the named backend, returning its output's shape and values; checks no tensor leaks. */
export async function runOn(backend: string, f: () => tf.Tensor): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const dataBefore = tf.engine().backend.numDataIds();
  const y = tf.tidy(f);
  const values = (await y.data()) as Float32Array;
  const shape = y.shape.slice();
  y.dispose();
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new Error(`${backend}: ${leaked} tensors leaked`);
  const leakedData = tf.engine().backend.numDataIds() - dataBefore;
  if (leakedData !== 0) throw new Error(`${backend}: ${leakedData} backend buffers leaked`);
  return { shape, values };
}
