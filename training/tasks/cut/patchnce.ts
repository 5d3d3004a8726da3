/**
 * PatchNCE (Park, Efros, Zhang, Zhu, ECCV 2020), as in the reference code
 * (taesungp/contrastive-unpaired-translation: models/patchnce.py, networks.PatchSampleF):
 *
 *  - for each encoder layer, `numPatches` locations are drawn (one random permutation of H*W,
 *    the same locations for every image of the batch and for query and key);
 *  - the features there go through that layer's 2-layer MLP head (Linear(C, nc), ReLU,
 *    Linear(nc, nc); nc = 256) and are L2-normalised;
 *  - for each query patch (from the output G(x)) the positive is the key patch at the same place
 *    of the input x, the negatives are the other sampled patches of the same image; the loss is
 *    the cross-entropy of [q.k+, q.k-...] / tau with the positive as class 0 (tau = 0.07); the
 *    self-similarity entries of the negatives are set to -10 (exp(-10/tau) ~ 0), as upstream.
 *
 * Keys are constants (the reference detaches them): callers compute them outside the gradient
 * tape. tfjs-backend-wasm has no UnsortedSegmentSum, the kernel tf.gather's gradient needs, so
 * the patch gather carries its own gradient (a scatter of dy back to the sampled rows).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '../../data/unpaired';
import { seededInit } from '../../models/gan';

export interface PatchNceOptions {
  /** Patches per layer (paper: 256). */
  numPatches: number;
  /** Temperature (paper: 0.07). */
  temperature: number;
}

/** Draws `min(n, count)` distinct indices in [0, count) (the first entries of a random permutation). */
export function samplePatchIds(count: number, n: number, rng: Rng): Int32Array {
  const perm = Int32Array.from({ length: count }, (_, i) => i);
  const k = Math.min(n, count);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(count - i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k);
}

/**
 * Rows `ids` of a [B, N, C] tensor: [B, P, C]. Differentiable on every backend (the gradient is a
 * ScatterNd of dy into zeros; ids are distinct).
 */
export function gatherPatches(x: tf.Tensor3D, ids: Int32Array): tf.Tensor3D {
  const [b, n, c] = x.shape;
  const p = ids.length;
  const f = tf.customGrad(((xs: tf.Tensor) => ({
    value: tf.tidy(() => tf.gather(xs, tf.tensor1d(ids, 'int32'), 1)),
    gradFunc: (dy: tf.Tensor) =>
      tf.tidy(() => {
        const updates = tf.transpose(dy, [1, 0, 2]); // [P, B, C]
        const scattered = tf.scatterND(tf.tensor2d(ids, [p, 1], 'int32'), updates, [n, b, c]);
        return tf.transpose(scattered, [1, 0, 2]);
      }),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor3D;
}

/**
 * L2-normalises the last axis: x / sqrt(|x|^2 + 1e-12). (The reference divides by |x| + 1e-7,
 * whose gradient is NaN for an all-zero row, which a ReLU MLP head can produce.)
 */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12)));
}

/**
 * The 2-layer MLP head of one NCE layer: Linear(C, nc) + ReLU + Linear(nc, nc), written as two 1x1
 * convolutions over a [1, 1, rows, C] image (the same function; on tfjs-backend-wasm the 1x1
 * convolutions and their gradients run on XNNPACK, several times faster than its BatchMatMul).
 * N(0, 0.02) weights from `seed`, zero biases (the reference's init_net 'normal').
 */
export function buildMlpHead(inChannels: number, nc: number, name: string, seed: number): tfl.LayersModel {
  const inp = tfl.input({ shape: [1, null, inChannels], name: `${name}_input` });
  const h = tfl.layers.conv2d({ filters: nc, kernelSize: 1, activation: 'relu', name: `${name}_fc1` }).apply(inp) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: nc, kernelSize: 1, name: `${name}_fc2` }).apply(h) as tfl.SymbolicTensor;
  return seededInit(tfl.model({ inputs: inp, outputs: out, name }), seed);
}

/**
 * Projects the features of one layer at the sampled locations: [B, H, W, C] -> [B, P, nc],
 * L2-normalised. `head` null: the raw features (the reference's netF 'sample'), normalised.
 */
export function projectPatches(feat: tf.Tensor4D, ids: Int32Array, head: tfl.LayersModel | null): tf.Tensor3D {
  const [b, h, w, c] = feat.shape;
  const rows = gatherPatches(tf.reshape(feat, [b, h * w, c]) as tf.Tensor3D, ids);
  const p = ids.length;
  const projected = head ? (head.apply(tf.reshape(rows, [1, 1, b * p, c])) as tf.Tensor) : rows;
  return tf.reshape(l2Normalize(projected), [b, p, -1]) as tf.Tensor3D;
}

/**
 * q . k^T per image ([B, P, D] x [B, P, D] -> [B, P, P]) as a 1x1 convolution of q with k^T as the
 * filter (XNNPACK on wasm; its BatchMatMul is slow). Keys are constants, so only the input
 * gradient (a fast kernel) is ever needed.
 */
function similarities(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
  const [b, p, d] = q.shape;
  const one = (i: number) => {
    const qi = b === 1 ? q : tf.slice(q, [i, 0, 0], [1, -1, -1]);
    const ki = b === 1 ? k : tf.slice(k, [i, 0, 0], [1, -1, -1]);
    const filter = tf.reshape(tf.transpose(tf.reshape(ki, [k.shape[1], d])), [1, 1, d, k.shape[1]]);
    return tf.reshape(tf.conv2d(tf.reshape(qi, [1, 1, p, d]) as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid'), [1, p, k.shape[1]]);
  };
  return (b === 1 ? one(0) : tf.concat(Array.from({ length: b }, (_, i) => one(i)), 0)) as tf.Tensor3D;
}

/**
 * PatchNCE loss of L2-normalised query and key patches [B, P, D] (negatives from the same image):
 * the mean over the B*P patches of -log softmax([q.k+, q.k_j (j != i)] / tau)[0]. Every logit is at
 * most 1 / tau (unit vectors), so the log-sum-exp is taken with that constant shift: exact, no
 * overflow, and no max (whose gradient costs a comparison pass).
 */
export function patchNceLoss(q: tf.Tensor3D, k: tf.Tensor3D, temperature: number): tf.Scalar {
  const p = q.shape[1];
  const pos = tf.sum(tf.mul(q, k), -1, true); // [B, P, 1]
  const neg = similarities(q, k); // [B, P, P]
  const eye = tf.reshape(tf.eye(p), [1, p, p]);
  const masked = tf.add(tf.mul(neg, tf.sub(1, eye)), tf.mul(eye, -10));
  const shift = 1 / temperature;
  const logits = tf.sub(tf.div(tf.concat([pos, masked], -1), temperature), shift); // [B, P, 1 + P], all <= ~0
  const logZ = tf.log(tf.sum(tf.exp(logits), -1)); // [B, P]
  const first = tf.squeeze(tf.slice(logits, [0, 0, 0], [-1, -1, 1]), [2]);
  return tf.mean(tf.sub(logZ, first)) as tf.Scalar;
}
