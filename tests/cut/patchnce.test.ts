/**
 * PatchNCE pieces on the wasm backend (the one CI trains with): the loss against a plain-JS
 * evaluation of its formula, its gradients (through the patch gather, the MLP head and the L2
 * normalisation) against central finite differences on a tiny case, patch sampling, and the
 * encoder layers chosen from each generator.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { Rng } from '../../training/data/unpaired';
import { buildGenerator, GENERATOR_KINDS } from '../../training/models/gan';
import { encoderLayerNames, encoderModel } from '../../training/models/encoder-layers';
import { buildMlpHead, gatherPatches, l2Normalize, patchNceLoss, projectPatches, samplePatchIds } from '../../training/tasks/cut/patchnce';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.next() * 2 - 1);
}

/** -mean_i log softmax([q_i.k_i, q_i.k_j (j != i), -10 (j == i)] / tau)[0], per image, in float64. */
function referenceNce(q: Float32Array, k: Float32Array, b: number, p: number, d: number, tau: number): number {
  let total = 0;
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < p; i++) {
      const dot = (j: number) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(n * p + i) * d + c] * k[(n * p + j) * d + c];
        return s;
      };
      const logits = [dot(i) / tau];
      for (let j = 0; j < p; j++) logits.push((j === i ? -10 : dot(j)) / tau);
      const m = Math.max(...logits);
      const lse = m + Math.log(logits.reduce((a, v) => a + Math.exp(v - m), 0));
      total += lse - logits[0];
    }
  }
  return total / (b * p);
}

describe('PatchNCE loss', () => {
  it('equals the formula (positives at the same place, negatives from the same image only)', () => {
    for (const b of [1, 3]) {
      const [p, d] = [5, 4];
      const q1 = tf.tidy(() => l2Normalize(tf.tensor3d(values(b * p * d, 1), [b, p, d])));
      const k1 = tf.tidy(() => l2Normalize(tf.tensor3d(values(b * p * d, 2), [b, p, d])));
      const got1 = tf.tidy(() => patchNceLoss(q1 as tf.Tensor3D, k1 as tf.Tensor3D, 0.07).dataSync()[0]);
      const want1 = referenceNce(q1.dataSync() as Float32Array, k1.dataSync() as Float32Array, b, p, d, 0.07);
      expect(Math.abs(got1 - want1) / want1, `batch ${b}`).toBeLessThan(1e-5);
      tf.dispose([q1, k1]);
    }
    const [b, p, d] = [2, 5, 4];
    const q = tf.tidy(() => l2Normalize(tf.tensor3d(values(b * p * d, 1), [b, p, d])));
    const k = tf.tidy(() => l2Normalize(tf.tensor3d(values(b * p * d, 2), [b, p, d])));
    const got = tf.tidy(() => patchNceLoss(q as tf.Tensor3D, k as tf.Tensor3D, 0.07).dataSync()[0]);
    // A query identical to its key, far from the others, gives a loss near 0; shuffled keys a large one.
    const aligned = tf.tidy(() => patchNceLoss(q as tf.Tensor3D, q as tf.Tensor3D, 0.07).dataSync()[0]);
    expect(aligned).toBeLessThan(got);
    tf.dispose([q, k]);
  });

  it('gradients w.r.t. the features and the MLP head match finite differences (keys constant)', () => {
    const [b, h, w, c, nc, p] = [2, 3, 3, 4, 6, 5];
    const ids = samplePatchIds(h * w, p, new Rng(7));
    const head = buildMlpHead(c, nc, 'Htest', 11);
    // Weights of order 1 (the N(0, 0.02) init makes the normalised output ill-conditioned for FD).
    head.setWeights(head.weights.map((x, i) => tf.tensor(values((x.shape as number[]).reduce((a, v) => a * v, 1), 20 + i).map((v) => v * 0.8), x.shape as number[])));
    const feat = tf.variable(tf.tensor4d(values(b * h * w * c, 3), [b, h, w, c]));
    const keyFeat = tf.tensor4d(values(b * h * w * c, 4), [b, h, w, c]);
    const keys = tf.tidy(() => projectPatches(keyFeat, ids, head));
    const vars = [feat, ...head.trainableWeights.map((x) => (x as unknown as { val: tf.Variable }).val)];
    const loss = () => patchNceLoss(projectPatches(feat, ids, head), keys, 0.07);
    const { grads } = tf.variableGrads(loss, vars);
    const lossValue = () => tf.tidy(() => loss().dataSync()[0]);
    let checked = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const base = v.dataSync().slice();
      // Every entry of the small tensors, a spread of the larger ones.
      const stride = Math.max(1, Math.floor(base.length / 12));
      for (let i = 0; i < base.length; i += stride) {
        const eps = 2e-3;
        const at = (delta: number) => {
          const x = base.slice();
          x[i] += delta;
          v.assign(tf.tensor(x, v.shape));
          return lossValue();
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(fd - g[i]), `${v.name}[${i}]: analytic ${g[i]}, finite difference ${fd}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
    // Unsampled locations get no gradient: the scatter puts dy only at the sampled rows.
    const gf = tf.reshape(grads[feat.name], [b, h * w, c]).arraySync() as number[][][];
    const unsampled = [...Array(h * w).keys()].filter((i) => !ids.includes(i));
    expect(unsampled.length).toBe(h * w - p);
    for (const i of unsampled) expect(gf[0][i].every((x) => x === 0)).toBe(true);
    tf.dispose([feat, keyFeat, keys, ...Object.values(grads)]);
    head.dispose();
  });

  it('gathers the sampled rows; distinct ids, at most H*W of them', () => {
    const x = tf.tensor3d(values(2 * 6 * 3, 5), [2, 6, 3]);
    const ids = Int32Array.from([4, 0, 2]);
    const got = gatherPatches(x, ids).arraySync();
    const all = x.arraySync();
    expect(got).toEqual(all.map((rows) => [rows[4], rows[0], rows[2]]));
    const s = samplePatchIds(10, 256, new Rng(1));
    expect(s.length).toBe(10);
    expect(new Set(s).size).toBe(10);
    const t = samplePatchIds(1000, 256, new Rng(1));
    expect(new Set(t).size).toBe(256);
    expect(Math.max(...t)).toBeLessThan(1000);
    x.dispose();
  });
});

describe('NCE layers from the generators', () => {
  for (const generator of GENERATOR_KINDS) {
    it(`${generator}: 5 encoder layers, from the padded input down to the residual blocks`, async () => {
      const G = await buildGenerator({ generator, ngf: 4, nBlocks: 4, ndf: 4, dLayers: 2 }, 'G', 1);
      const names = encoderLayerNames(G);
      expect(names.length).toBe(5);
      const E = encoderModel(G, names);
      const feats = E.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor[];
      // Padded input (3 channels), 1/2 resolution, then 1/4 resolution for the rest.
      expect(feats[0].shape[3]).toBe(3);
      expect(feats[0].shape[1]).toBeGreaterThan(32);
      expect(feats.slice(1).map((f) => f.shape.slice(1, 3))).toEqual([[16, 16], [8, 8], [8, 8], [8, 8]]);
      // The encoder shares G's weights: no new variables.
      expect(E.weights.every((w) => G.weights.includes(w))).toBe(true);
      tf.dispose(feats);
      G.dispose();
    });
  }
});
