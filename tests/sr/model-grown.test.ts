/**
 * srModelGrown: an SR network rebuilt at another scale keeps every scale-free layer's weights
 * (head, residual blocks, body conv; the real-time tier's convs) and starts only the sub-pixel
 * tail fresh, so an x4 run can start from a trained x2 model (EDSR's x2 -> x4 initialisation);
 * rebuilt deeper, its new residual blocks start as the identity, so it computes what the source did;
 * rebuilt wider, its new channels start unseen by the old ones, so it computes what the source did.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { buildSrModel, srModelGrown, srOptionsOf } from '../../training/models/sr';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: () => {} });
});

describe('srModelGrown', () => {
  it('reads the architecture back from a quality model and a real-time model', () => {
    const q = buildSrModel({ tier: 'quality', scale: 2, features: [8], blocks: 3, seed: 1 });
    expect(srOptionsOf(q)).toEqual({ tier: 'quality', scale: 2, features: [8], blocks: 3, resScale: 1, skip: 'bicubic' });
    const r = buildSrModel({ tier: 'real-time', scale: 3, features: [12, 6], skip: 'nearest', seed: 1 });
    expect(srOptionsOf(r)).toEqual({ tier: 'real-time', scale: 3, features: [12, 6], blocks: 0, resScale: 1, skip: 'nearest' });
  });

  it('x2 -> x4: copies every layer but the tail, and the new model upsamples x4', () => {
    const x2 = buildSrModel({ tier: 'quality', scale: 2, features: [8], blocks: 2, seed: 3 });
    const { model, copied, fresh, identity } = srModelGrown(x2, { scale: 4 }, 5);
    expect(identity).toEqual([]);
    expect(fresh).toEqual(['tail_conv']);
    expect(copied.sort()).toEqual(['block0_conv1', 'block0_conv2', 'block1_conv1', 'block1_conv2', 'body_conv', 'head'].sort());
    for (const name of copied) {
      const a = x2.getLayer(name).getWeights();
      const b = model.getLayer(name).getWeights();
      a.forEach((t, i) => expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(t.dataSync())));
    }
    const x = tf.randomUniform([1, 10, 12, 3], 0, 1, 'float32', 9);
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 40, 48, 3]);
    // The fresh tail starts near zero, so the x4 model starts as (almost) its bicubic skip alone.
    const tail = model.getLayer('tail_conv');
    const trained = tail.getWeights();
    tail.setWeights(trained.map((w) => tf.zerosLike(w)));
    const skipOnly = model.predict(x) as tf.Tensor;
    tail.setWeights(trained);
    expect(tf.max(tf.abs(tf.sub(y, skipOnly))).dataSync()[0]).toBeLessThan(0.05);
    expect(tf.max(tf.abs(tf.sub(y, skipOnly))).dataSync()[0]).toBeGreaterThan(0);
  });

  it('deeper: new blocks start as the identity (same output), then train like any other block', () => {
    const src = buildSrModel({ tier: 'quality', scale: 2, features: [8], blocks: 2, seed: 3 });
    const { model, copied, fresh, identity } = srModelGrown(src, { blocks: 4 }, 7);
    expect(srOptionsOf(model)).toMatchObject({ tier: 'quality', scale: 2, features: [8], blocks: 4 });
    expect(identity).toEqual(['block2_conv2', 'block3_conv2']);
    expect(fresh).toEqual(['block2_conv1', 'block3_conv1']);
    expect(copied).toContain('tail_conv');
    const x = tf.randomUniform([1, 9, 11, 3], 0, 1, 'float32', 4);
    const a = src.predict(x) as tf.Tensor;
    const b = model.predict(x) as tf.Tensor;
    expect(b.shape).toEqual(a.shape);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    // The new blocks are not dead: their zeroed conv gets a gradient on the first step.
    const conv2 = model.getLayer('block2_conv2');
    const kernel = conv2.trainableWeights[0]!;
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar, [kernel.read() as tf.Variable]);
    const g = Object.values(grads)[0]!;
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    // Shrinking, or deepening a real-time network, is refused with a message.
    expect(() => srModelGrown(model, { blocks: 3 })).toThrow(/cannot have fewer/);
    const rt = buildSrModel({ tier: 'real-time', scale: 2, features: [8, 4], seed: 1 });
    expect(() => srModelGrown(rt, { blocks: 2 })).toThrow(/only a quality-tier/);
  });

  it('wider: trained weights kept in the old channels, same output, and the new channels learn', () => {
    const src = buildSrModel({ tier: 'quality', scale: 2, features: [6], blocks: 2, seed: 3 });
    const { model, copied, fresh, identity, widened } = srModelGrown(src, { features: 9, blocks: 3 }, 7);
    expect(srOptionsOf(model)).toMatchObject({ tier: 'quality', scale: 2, features: [9], blocks: 3 });
    expect(widened.sort()).toEqual(['block0_conv1', 'block0_conv2', 'block1_conv1', 'block1_conv2', 'body_conv', 'head', 'tail_conv'].sort());
    expect(copied).toEqual([]);
    expect(identity).toEqual(['block2_conv2']);
    expect(fresh).toEqual(['block2_conv1']);
    // The old corner of every widened kernel is the trained kernel.
    const a = src.getLayer('block1_conv1').getWeights()[0]!;
    const b = model.getLayer('block1_conv1').getWeights()[0]!;
    expect(b.shape).toEqual([3, 3, 9, 9]);
    expect(Array.from(tf.slice(b, [0, 0, 0, 0], [3, 3, 6, 6]).dataSync())).toEqual(Array.from(a.dataSync()));
    expect(tf.max(tf.abs(tf.slice(b, [0, 0, 6, 0], [3, 3, 3, 6]))).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(tf.slice(b, [0, 0, 0, 6], [3, 3, 9, 3]))).dataSync()[0]).toBeGreaterThan(0);
    const x = tf.randomUniform([1, 9, 11, 3], 0, 1, 'float32', 4);
    const y0 = src.predict(x) as tf.Tensor;
    const y1 = model.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(y0, y1))).dataSync()[0]).toBeLessThan(1e-5);
    // The zeroed fan-out of the new channels into the tail gets a gradient on the first step.
    const kernel = model.getLayer('tail_conv').trainableWeights[0]!;
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar, [kernel.read() as tf.Variable]);
    const g = Object.values(grads)[0]!;
    expect(tf.max(tf.abs(tf.slice(g, [0, 0, 6, 0], [3, 3, 3, 12]))).dataSync()[0]).toBeGreaterThan(0);
    // Wider and another scale: the tail starts fresh (its channels mean other sub-pixel phases).
    expect(srModelGrown(src, { features: 8, scale: 4 }).fresh).toEqual(['tail_conv']);
    expect(() => srModelGrown(model, { features: 8 })).toThrow(/cannot have fewer \(asked for 8\)/);
    const rt = buildSrModel({ tier: 'real-time', scale: 2, features: [8, 4], seed: 1 });
    expect(() => srModelGrown(rt, { features: 9 })).toThrow(/deepened or widened/);
  });
});
