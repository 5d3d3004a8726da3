/**
 * The image history buffer of Shrivastava et al. 2017, as used by CycleGAN: discriminators see
 * a mix of the newest fakes and fakes from earlier steps (pool of 50). Randomness comes from the
 * run's seeded Rng, and the pool is saved in checkpoints, so resume continues it exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../data/unpaired';

export class ImagePool {
  readonly images: Float32Array[] = [];
  constructor(readonly size: number) {}

  /**
   * For each image of the batch (NHWC, flat per image): while the pool is filling, store it and
   * return it; afterwards, with probability 1/2 return a stored image and store the new one in
   * its place, else return the new image.
   */
  query(batch: Float32Array, n: number, rng: Rng): Float32Array {
    if (this.size === 0) return batch;
    const per = batch.length / n;
    const out = new Float32Array(batch.length);
    for (let i = 0; i < n; i++) {
      const img = batch.slice(i * per, (i + 1) * per);
      if (this.images.length < this.size) {
        this.images.push(img);
        out.set(img, i * per);
      } else if (rng.next() > 0.5) {
        const j = rng.int(this.size);
        out.set(this.images[j], i * per);
        this.images[j] = img;
      } else {
        out.set(img, i * per);
      }
    }
    return out;
  }

  /** The stored images as one tensor [count, ...shape], or null when empty. */
  toTensor(shape: number[]): tf.Tensor | null {
    if (!this.images.length) return null;
    const per = this.images[0].length;
    const flat = new Float32Array(this.images.length * per);
    this.images.forEach((im, i) => flat.set(im, i * per));
    return tf.tensor(flat, [this.images.length, ...shape]);
  }

  restore(t: tf.Tensor | undefined): void {
    this.images.length = 0;
    if (!t) return;
    const n = t.shape[0];
    const data = t.dataSync() as Float32Array;
    const per = data.length / n;
    for (let i = 0; i < n; i++) this.images.push(data.slice(i * per, (i + 1) * per));
  }
}
