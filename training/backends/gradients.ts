/**
 * Gradient fixes for tfjs-core, registered for every backend.
 *
 * MirrorPad: tfjs-core 4.22's gradient only slices the centre out of dy, dropping what the
 * reflected border pixels contributed. Every ReflectionPad2D in a CycleGAN generator feeds a
 * conv, so the wrong gradient would bias the first/last rows and columns of every feature map.
 * The correct gradient folds each border of dy back onto the pixels it was copied from (on wasm
 * and native in one fused pass, fused-kernels.ts; with tf ops elsewhere).
 */
import * as tf from '@tensorflow/tfjs-core';
// In Node, tfjs-core's own bundle registers no gradients; tfjs-layers' node bundle registers all of
// them (the broken MirrorPad one included) when it loads. Loading it here, before our fixes are
// registered, guarantees that ours win.
import '@tensorflow/tfjs-layers';
import { fusedMirrorPadGradient } from './fused-kernels';

type Mode = 'reflect' | 'symmetric';

/** Folds the padded dy of one axis back onto the unpadded axis of length `len`. */
function foldAxis(dy: tf.Tensor, axis: number, before: number, after: number, len: number, mode: Mode): tf.Tensor {
  if (before === 0 && after === 0) return dy;
  const rank = dy.rank;
  const begin = (at: number): number[] => dy.shape.map((_, d) => (d === axis ? at : 0));
  const size = (n: number): number[] => dy.shape.map((s, d) => (d === axis ? n : s));
  const padAt = (lo: number, hi: number): [number, number][] =>
    Array.from({ length: rank }, (_, d) => (d === axis ? [lo, hi] : [0, 0]) as [number, number]);
  const off = mode === 'reflect' ? 1 : 0;
  // a 1-wide border needs no reversing (and tfjs-wasm's Reverse kernel is slow)
  const rev = (t: tf.Tensor, n: number): tf.Tensor => (n === 1 ? t : tf.reverse(t, axis));
  let out = tf.slice(dy, begin(before), size(len));
  if (before > 0) {
    // dy[before-1-m] was copied from x[m+off] (m = 0..before-1).
    const left = rev(tf.slice(dy, begin(0), size(before)), before);
    out = tf.add(out, tf.pad(left, padAt(off, len - off - before)));
  }
  if (after > 0) {
    // dy[before+len+k] was copied from x[len-1-off-k] (k = 0..after-1); reversed, it starts at len-off-after.
    const right = rev(tf.slice(dy, begin(before + len), size(after)), after);
    const start = len - off - after;
    out = tf.add(out, tf.pad(right, padAt(start, len - start - after)));
  }
  return out;
}

/** Gradient of MirrorPad (reflect or symmetric) with respect to its input. */
export function mirrorPadGrad(dy: tf.Tensor, xShape: number[], paddings: [number, number][], mode: Mode): tf.Tensor {
  return tf.tidy(() => {
    let g = dy;
    for (let axis = 0; axis < xShape.length; axis++) {
      const [before, after] = paddings[axis];
      g = foldAxis(g, axis, before, after, xShape[axis], mode);
    }
    return g;
  });
}

let registered = false;

/** Registers Ganvas's gradient fixes (idempotent). */
export function registerGanvasGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.MirrorPad,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0];
      const { paddings, mode } = attrs as unknown as tf.MirrorPadAttrs;
      const pads = paddings as [number, number][];
      return { x: () => fusedMirrorPadGradient(dy as tf.Tensor, x.shape, pads, mode) ?? mirrorPadGrad(dy as tf.Tensor, x.shape, pads, mode) };
    },
  });
}
