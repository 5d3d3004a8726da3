import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { InstanceNorm, PixelShuffle, ReflectionPad2D } from '../../training/models/layers';

tf.setBackend('cpu');

describe('custom layers', () => {
  it('InstanceNorm gives each sample and channel zero mean, unit variance', () => {
    const x = tf.randomNormal([2, 5, 7, 3], 3, 2);
    const y = new InstanceNorm().apply(x) as tf.Tensor;
    const { mean, variance } = tf.moments(y, [1, 2]);
    expect(Math.max(...(tf.abs(mean).dataSync() as Float32Array))).toBeLessThan(1e-4);
    for (const v of variance.dataSync()) expect(v).toBeCloseTo(1, 3);
  });

  it('ReflectionPad2D mirrors without repeating the edge', () => {
    const x = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
    const y = new ReflectionPad2D({ padding: 1 }).apply(tf.tile(x, [1, 2, 1, 1])) as tf.Tensor;
    expect(y.shape).toEqual([1, 4, 5, 1]);
    expect(Array.from(y.dataSync().slice(0, 5))).toEqual([2, 1, 2, 3, 2]);
  });

  it('PixelShuffle matches tf.depthToSpace (DCR order)', () => {
    const x = tf.randomNormal([1, 3, 4, 12]) as tf.Tensor4D;
    const y = new PixelShuffle({ scale: 2 }).apply(x) as tf.Tensor;
    const ref = tf.depthToSpace(x, 2, 'NHWC');
    expect(y.shape).toEqual([1, 6, 8, 3]);
    expect(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]).toBe(0);
  });

  it('a model with all three layers round-trips through serialization', async () => {
    const input = tfl.input({ shape: [null, null, 3] });
    let h = new ReflectionPad2D({ padding: 1 }).apply(input) as tfl.SymbolicTensor;
    h = tfl.layers.conv2d({ filters: 12, kernelSize: 3 }).apply(h) as tfl.SymbolicTensor;
    h = new InstanceNorm({ affine: true }).apply(h) as tfl.SymbolicTensor;
    h = new PixelShuffle({ scale: 2 }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: h });
    const saved: tf.io.ModelArtifacts[] = [];
    await model.save(tf.io.withSaveHandler(async (a) => { saved.push(a); return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved[0]));
    const x = tf.randomNormal([1, 6, 6, 3]);
    const d = tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0];
    expect(d).toBe(0);
  });
});
