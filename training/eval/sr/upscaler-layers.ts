/**
 * The two custom layers UpscalerJS's ESRGAN-thick models need, re-implemented from the package's
 * own `setup()`: MultiplyBeta is x * 0.2, PixelShuffle<s>x is depthToSpace NHWC. No Node APIs, so
 * the browser bench page (bench/sr-browser-page.ts) registers the same classes as peers.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Kwargs = Record<string, unknown>;

class MultiplyBeta extends tfl.layers.Layer {
  static className = 'MultiplyBeta';
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 0.2);
  }
}

function pixelShuffleClass(scale: number) {
  return class extends tfl.layers.Layer {
    static className = `PixelShuffle${scale}x`;
    override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
      const shape = (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
      return [shape[0], shape[1] == null ? null : shape[1] * scale, shape[2] == null ? null : shape[2] * scale, 3];
    }
    override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
      return tf.depthToSpace((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D, scale, 'NHWC');
    }
  };
}

let registered = false;
/** Registers the layers with tfjs's serialization (once). */
export function registerUpscalerLayers(): void {
  if (registered) return;
  registered = true;
  tf.serialization.registerClass(MultiplyBeta);
  for (const s of [2, 3, 4, 8]) tf.serialization.registerClass(pixelShuffleClass(s));
}
