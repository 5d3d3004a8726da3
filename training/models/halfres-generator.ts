/**
 * The half-resolution webcam generator: all of its layers work at 1/2 and 1/4 of the input's
 * resolution, and its output is the input plus a learned full-resolution residual:
 *
 *   reflect pad 1, 4x4 conv stride 2 (3 -> ngf, 1/2)       IN, ReLU           ---- skip ----.
 *   3x3 depthwise stride 2 + 1x1 (ngf -> 4 ngf, 1/4)        IN, ReLU                         |
 *   nBlocks x separable residual block (4 ngf, 1/4)                                          |
 *   nearest x2, separable conv (4 ngf -> ngf, 1/2)          IN, ReLU,  + skip  <-------------'
 *   3x3 conv (ngf -> 12), PixelShuffle x2 (DepthToSpace)    = residual r at full resolution
 *   output = input + r
 *
 * Why: a profile of the tiny webcam generator (onnxruntime, 256x256) puts ~55% of its time in the
 * few layers at full resolution (the 3x3 stem, the last upsampling's separable conv, their instance
 * norms, pads and layout reorders), which are memory-bound and carry little capacity, and only ~30%
 * in the residual blocks where the translation happens. Moving everything off full resolution makes
 * the same 64K-parameter network ~3x faster, so at the tiny generator's frame time it can have
 * about twice its bottleneck width (ngf 24: 132K parameters, 0.62 GMACs at 256). The input passes
 * through unchanged (edges are kept by construction; the residual's conv starts at zero, so an
 * untrained generator is the identity); the PixelShuffle lets the residual carry full-resolution
 * texture (each 1/2-resolution position writes its 2x2 block).
 *
 * The output is not squashed by tanh (input + residual can leave [-1, 1] slightly; the site and the
 * evaluator clamp, and the discriminator, which only sees real images in range, pushes it back).
 * Only layers the ONNX exporter maps: Conv2D, DepthwiseConv2D, ZeroPadding2D, ReflectionPad2D,
 * UpSampling2D, PixelShuffle, Add, ReLU, InstanceNorm. NHWC; H and W multiples of 4; [-1, 1].
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { InstanceNorm, PixelShuffle, ReflectionPad2D } from './layers';

export interface HalfResGeneratorOptions {
  /** Channels at 1/2 resolution (the bottleneck has 4 x ngf). Default 24. */
  ngf?: number;
  /** Separable residual blocks at 1/4 resolution. Default 6. */
  nBlocks?: number;
  name?: string;
  /** Seed for the N(0, 0.02) weight init (CycleGAN's init). */
  seed?: number;
}

type T = tfl.SymbolicTensor;

export function halfResGenerator(opts: HalfResGeneratorOptions = {}): tfl.LayersModel {
  const ngf = opts.ngf ?? 24;
  const nBlocks = opts.nBlocks ?? 6;
  let seed = opts.seed ?? 1;
  const init = () => tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: seed++ });
  const conv = (filters: number, kernelSize: number, strides = 1) =>
    tfl.layers.conv2d({ filters, kernelSize, strides, padding: 'valid', kernelInitializer: init() });
  const dw = (strides = 1) => tfl.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'valid', useBias: false, depthwiseInitializer: init() });
  const apply = (layer: tfl.layers.Layer, x: T): T => layer.apply(x) as T;
  const add = (a: T, b: T): T => apply(tfl.layers.add(), [a, b] as unknown as T);
  const norm = (x: T) => apply(new InstanceNorm({ epsilon: 1e-5 }), x);
  const relu = (x: T) => apply(tfl.layers.reLU(), x);
  const rpad = (x: T, p: number) => apply(new ReflectionPad2D({ padding: p }), x);
  const sep = (x: T, filters: number) => apply(conv(filters, 1), apply(dw(), rpad(x, 1)));

  const input = tfl.input({ shape: [null, null, 3], name: 'input' });
  // 1/2: reflect pad 1 + 4x4 stride 2 gives exactly H/2 x W/2
  const half = relu(norm(apply(conv(ngf, 4, 2), rpad(input, 1))));
  // 1/4: PyTorch's Conv2d(k=3, s=2, p=1) in separable form
  let h = relu(norm(apply(conv(ngf * 4, 1), apply(dw(2), apply(tfl.layers.zeroPadding2d({ padding: 1 }), half)))));
  for (let i = 0; i < nBlocks; i++) {
    let r = relu(norm(sep(h, ngf * 4)));
    r = norm(sep(r, ngf * 4));
    h = add(h, r);
  }
  h = apply(tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }), h);
  h = add(relu(norm(sep(h, ngf))), half);
  // the residual's conv starts at zero: an untrained generator is the identity (ReZero-like), and the
  // first step's gradient reaches this conv alone, the rest from the second step on
  const head = tfl.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'valid', kernelInitializer: 'zeros' });
  const residual = apply(new PixelShuffle({ scale: 2 }), apply(head, rpad(h, 1)));
  return tfl.model({ inputs: input, outputs: add(input, residual), name: opts.name ?? 'halfres_generator' });
}
