/**
 * Custom tfjs-layers layers that GAN and super-resolution models need and tfjs-layers lacks.
 * All tensors inside tfjs models are NHWC (channels last); the ONNX exporter maps each of
 * these classes to its NCHW ONNX op (InstanceNormalization, Pad mode=reflect, DepthToSpace DCR).
 *
 * Each class is registered for serialization, so a saved model (checkpoint) loads back with them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers } from '@tensorflow/tfjs-layers';
import { instanceNormalize } from '../backends/fused-kernels';

type LayerArgs = ConstructorParameters<typeof layers.Layer>[0];
type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  return (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
}

function shape4(inputShape: Shape | Shape[]): (number | null)[] {
  const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
  if (s.length !== 4) throw new Error(`expected a 4-D NHWC input, got shape [${s.join(', ')}]`);
  return s;
}

export interface InstanceNormArgs extends NonNullable<LayerArgs> {
  /** Added to the variance before the square root. PyTorch's default. */
  epsilon?: number;
  /** Learn a per-channel scale and shift. The CycleGAN reference implementation uses affine=false. */
  affine?: boolean;
}

/** Instance normalisation over H and W, per sample and channel (Ulyanov et al. 2016). */
export class InstanceNorm extends layers.Layer {
  static className = 'InstanceNorm';
  readonly epsilon: number;
  readonly affine: boolean;
  private gamma?: ReturnType<layers.Layer['addWeight']>;
  private beta?: ReturnType<layers.Layer['addWeight']>;

  constructor(args: InstanceNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
    this.affine = args.affine ?? false;
  }

  override build(inputShape: Shape | Shape[]): void {
    const channels = shape4(inputShape)[3];
    if (channels == null) throw new Error('InstanceNorm needs a known channel count');
    if (this.affine) {
      this.gamma = this.addWeight('gamma', [channels], 'float32', initializers.ones());
      this.beta = this.addWeight('beta', [channels], 'float32', initializers.zeros());
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      let y: tf.Tensor = instanceNormalize(x, this.epsilon);
      if (this.affine && this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma.read()), this.beta.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, affine: this.affine };
  }
}

export interface ReflectionPad2DArgs extends NonNullable<LayerArgs> {
  padding: number;
}

/** Reflection padding of H and W by `padding` pixels on every side (PyTorch ReflectionPad2d). */
export class ReflectionPad2D extends layers.Layer {
  static className = 'ReflectionPad2D';
  readonly padding: number;

  constructor(args: ReflectionPad2DArgs) {
    super(args);
    this.padding = args.padding;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w, c] = shape4(inputShape);
    const p = 2 * this.padding;
    return [n, h == null ? null : h + p, w == null ? null : w + p, c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const p = this.padding;
    return tf.mirrorPad(single(inputs), [[0, 0], [p, p], [p, p], [0, 0]], 'reflect');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

export interface PixelShuffleArgs extends NonNullable<LayerArgs> {
  scale: number;
}

/**
 * Sub-pixel upsampling (Shi et al. 2016): [N, H, W, C*r*r] -> [N, H*r, W*r, C].
 * Channel order is TensorFlow's depth_to_space (ONNX DepthToSpace mode "DCR"):
 *   out[n, h*r+i, w*r+j, c] = in[n, h, w, (i*r + j)*C + c].
 * Written with reshape/transpose so it has gradients on every backend.
 */
export class PixelShuffle extends layers.Layer {
  static className = 'PixelShuffle';
  readonly scale: number;

  constructor(args: PixelShuffleArgs) {
    super(args);
    this.scale = args.scale;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w, c] = shape4(inputShape);
    const r = this.scale;
    if (c != null && c % (r * r) !== 0) throw new Error(`PixelShuffle(${r}) needs channels divisible by ${r * r}, got ${c}`);
    return [n, h == null ? null : h * r, w == null ? null : w * r, c == null ? null : c / (r * r)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const [n, h, w, c] = x.shape;
      const r = this.scale;
      const oc = c / (r * r);
      // [n, h, w, i, j, oc] -> [n, h, i, w, j, oc] -> [n, h*r, w*r, oc]
      const t = tf.transpose(tf.reshape(x, [n, h, w, r, r, oc]), [0, 1, 3, 2, 4, 5]);
      return tf.reshape(t, [n, h * r, w * r, oc]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}

for (const cls of [InstanceNorm, ReflectionPad2D, PixelShuffle]) tf.serialization.registerClass(cls);

/** Class names of this file's layers, for the exporter's emitter table. */
export const CUSTOM_LAYER_CLASSES = ['InstanceNorm', 'ReflectionPad2D', 'PixelShuffle'] as const;
