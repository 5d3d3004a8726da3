/**
 * The CycleGAN ResNet generator, layer for layer as Zhu et al.'s PyTorch `ResnetGenerator`
 * (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py) with norm_layer=InstanceNorm2d
 * (affine=False, so every conv has a bias) and padding_type='reflect':
 *
 *   ReflectionPad(3), Conv7x7(ngf), IN, ReLU
 *   2x [Conv3x3 stride 2 (pad 1), IN, ReLU]                  channels ngf -> 2ngf -> 4ngf
 *   nBlocks x ResnetBlock: x + [RPad1, Conv3x3, IN, ReLU, (Dropout 0.5), RPad1, Conv3x3, IN]
 *   2x [ConvTranspose3x3 stride 2 (pad 1, output_padding 1), IN, ReLU]   4ngf -> 2ngf -> ngf
 *   ReflectionPad(3), Conv7x7(out), Tanh
 *
 * NHWC, dynamic H and W (input shape [null, null, C]); H and W must be multiples of 4.
 * PyTorch's stride-2 conv with padding=1 is TF 'same' padding shifted by one pixel, so the
 * downsampling convs use an explicit ZeroPadding2D(1) + 'valid' conv, and the transposed convs a
 * 'valid' transpose (2H+1 outputs) cropped by one row/column at the top/left: that gives exactly
 * PyTorch's out[i] = sum_k in[(i + 1 - k) / 2] * w[k], so PyTorch weights port over unchanged
 * (after the usual OIHW -> HWIO transpose). Weights are initialised N(0, 0.02), biases 0, as in
 * the reference's init_weights('normal').
 */
import * as tf from '@tensorflow/tfjs-core';
import { initializers, input, layers, model, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { InstanceNorm, ReflectionPad2D } from './layers';

type Shape = (number | null)[];

// tfjs-layers' Cropping2D computes null - n = -n for dynamic dims, which corrupts every symbolic
// shape after it. Same class name (the exporter and saved checkpoints see a plain Cropping2D),
// with a computeOutputShape that keeps unknown dims unknown.
const Cropping2DBase = layers.cropping2D({ cropping: [[0, 0], [0, 0]] }).constructor as unknown as new (args: {
  cropping: [[number, number], [number, number]];
  name?: string;
}) => InstanceType<typeof layers.Layer> & { cropping: [[number, number], [number, number]] };

export class Cropping2D extends Cropping2DBase {
  static className = 'Cropping2D';
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const [[t, b], [l, r]] = this.cropping;
    return [s[0], s[1] == null ? null : s[1] - t - b, s[2] == null ? null : s[2] - l - r, s[3]];
  }
}
tf.serialization.registerClass(Cropping2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

export interface ResnetGeneratorOptions {
  ngf?: number;
  nBlocks?: number;
  inChannels?: number;
  outChannels?: number;
  useDropout?: boolean;
  name?: string;
}

const init = (): ReturnType<typeof initializers.randomNormal> => initializers.randomNormal({ mean: 0, stddev: 0.02 });

function conv(x: SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string): SymbolicTensor {
  return layers
    .conv2d({ filters, kernelSize, strides, padding: 'valid', useBias: true, kernelInitializer: init(), biasInitializer: 'zeros', name })
    .apply(x) as SymbolicTensor;
}

function norm(x: SymbolicTensor, name: string): SymbolicTensor {
  return new InstanceNorm({ name }).apply(x) as SymbolicTensor;
}

function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return layers.reLU({ name }).apply(x) as SymbolicTensor;
}

function rpad(x: SymbolicTensor, padding: number, name: string): SymbolicTensor {
  return new ReflectionPad2D({ padding, name }).apply(x) as SymbolicTensor;
}

export function resnetGenerator(opts: ResnetGeneratorOptions = {}): LayersModel {
  const { ngf = 64, nBlocks = 9, inChannels = 3, outChannels = 3, useDropout = false, name = 'resnet_generator' } = opts;
  for (const [k, v] of Object.entries({ ngf, nBlocks, inChannels, outChannels })) {
    if (!Number.isInteger(v) || v < (k === 'nBlocks' ? 0 : 1)) throw new Error(`resnetGenerator: ${k} must be a positive integer, got ${v}`);
  }
  const inp = input({ shape: [null, null, inChannels], name: `${name}_input` });
  let x = rpad(inp, 3, 'stem_pad');
  x = relu(norm(conv(x, ngf, 7, 1, 'stem_conv'), 'stem_norm'), 'stem_relu');

  let ch = ngf;
  for (let i = 0; i < 2; i++) {
    ch *= 2;
    x = layers.zeroPadding2d({ padding: 1, name: `down${i}_pad` }).apply(x) as SymbolicTensor;
    x = relu(norm(conv(x, ch, 3, 2, `down${i}_conv`), `down${i}_norm`), `down${i}_relu`);
  }

  for (let b = 0; b < nBlocks; b++) {
    let y = rpad(x, 1, `res${b}_pad1`);
    y = relu(norm(conv(y, ch, 3, 1, `res${b}_conv1`), `res${b}_norm1`), `res${b}_relu`);
    if (useDropout) y = layers.dropout({ rate: 0.5, name: `res${b}_dropout` }).apply(y) as SymbolicTensor;
    y = rpad(y, 1, `res${b}_pad2`);
    y = norm(conv(y, ch, 3, 1, `res${b}_conv2`), `res${b}_norm2`);
    x = layers.add({ name: `res${b}_add` }).apply([x, y]) as SymbolicTensor;
  }

  for (let i = 0; i < 2; i++) {
    ch /= 2;
    x = layers
      .conv2dTranspose({ filters: ch, kernelSize: 3, strides: 2, padding: 'valid', useBias: true, kernelInitializer: init(), biasInitializer: 'zeros', name: `up${i}_convt` })
      .apply(x) as SymbolicTensor;
    x = new Cropping2D({ cropping: [[1, 0], [1, 0]], name: `up${i}_crop` }).apply(x) as SymbolicTensor;
    x = relu(norm(x, `up${i}_norm`), `up${i}_relu`);
  }

  x = rpad(x, 3, 'head_pad');
  x = conv(x, outChannels, 7, 1, 'head_conv');
  const out = layers.activation({ activation: 'tanh', name: 'head_tanh' }).apply(x) as SymbolicTensor;
  return model({ inputs: inp, outputs: out, name });
}

/** Throws a clear error unless H and W are multiples of 4 (two stride-2 down/up samplings). */
export function checkGeneratorInput(h: number, w: number): void {
  if (h % 4 !== 0 || w % 4 !== 0) throw new Error(`the ResNet generator needs H and W that are multiples of 4, got ${h}x${w}`);
}
