/**
 * A real-time CycleGAN generator for the webcam, in the spirit of GAN Compression (Li et al.
 * 2020, whose compressed CycleGAN has 0.36M parameters): the ResNet generator's layout
 * (7x7 stem, two stride-2 downsamplings, residual blocks, two upsamplings, 7x7 head, tanh) with
 *   - depthwise-separable residual blocks (3x3 depthwise + 1x1 pointwise),
 *   - nearest-neighbour upsampling followed by a separable conv instead of transposed convs
 *     (cheaper, and no checkerboard artefacts).
 * ngf 32 with 6 blocks: ~0.32M parameters and ~2.4 GMACs at 256x256 (see stats printed at start).
 *
 * The webcam variant (`tinyGenerator`) cuts the full-resolution cost, which dominates at
 * small widths: a 3x3 stem and head instead of 7x7, and separable stride-2 downsamplings
 * (3x3 depthwise stride 2 + 1x1), and U-Net-style additive skips (see `skips`). ngf 16 with
 * 4 blocks: ~0.05M parameters, ~0.3 GMACs at 256x256 (6 blocks, as shipped: 64K, 0.40),
 * small enough for 10+ fps in CPU-only browsers (docs/bench-site.md).
 *
 * Only layers the ONNX exporter maps are used: Conv2D, DepthwiseConv2D, ZeroPadding2D,
 * UpSampling2D, Add, activations, InstanceNorm, ReflectionPad2D. NHWC; H and W must be
 * multiples of 4. Input and output in [-1, 1].
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { InstanceNorm, ReflectionPad2D } from './layers';

export interface LightGeneratorOptions {
  /** Channels after the stem (the bottleneck has 4 x ngf). Default 32. */
  ngf?: number;
  /** Separable residual blocks at 1/4 resolution. Default 6. */
  nBlocks?: number;
  name?: string;
  /** Seed for the N(0, 0.02) weight init (CycleGAN's init). */
  seed?: number;
  /** Kernel of the full-resolution stem and head convs. Default 7. */
  edgeKernel?: number;
  /** Depthwise-separable stride-2 downsamplings instead of full 3x3 convs. Default false. */
  separableDown?: boolean;
  /**
   * U-Net-style additive skips: the stem's output is added to the last upsampling's, the first
   * downsampling's to the first upsampling's, so fine structure does not have to pass the 1/4
   * resolution bottleneck (without them a narrow generator's output is blocky). Default false.
   */
  skips?: boolean;
}

/** The webcam generator: the light generator with a 3x3 stem/head, separable downsampling and skips. */
export function tinyGenerator(opts: Omit<LightGeneratorOptions, 'edgeKernel' | 'separableDown' | 'skips'> = {}): tfl.LayersModel {
  return lightGenerator({ ngf: 16, nBlocks: 4, ...opts, edgeKernel: 3, separableDown: true, skips: true, name: opts.name ?? 'tiny_generator' });
}

type T = tfl.SymbolicTensor;

export function lightGenerator(opts: LightGeneratorOptions = {}): tfl.LayersModel {
  const ngf = opts.ngf ?? 32;
  const nBlocks = opts.nBlocks ?? 6;
  let seed = opts.seed ?? 1;
  const init = () => tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: seed++ });
  const conv = (filters: number, kernelSize: number, strides = 1, useBias = true) =>
    tfl.layers.conv2d({ filters, kernelSize, strides, padding: 'valid', useBias, kernelInitializer: init() });
  const edge = opts.edgeKernel ?? 7;
  const dw = (strides = 1) =>
    tfl.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'valid', useBias: false, depthwiseInitializer: init() });
  const apply = (layer: tfl.layers.Layer, x: T): T => layer.apply(x) as T;
  const norm = (x: T) => apply(new InstanceNorm({ epsilon: 1e-5 }), x);
  const relu = (x: T) => apply(tfl.layers.reLU(), x);
  const rpad = (x: T, p: number) => apply(new ReflectionPad2D({ padding: p }), x);
  const sep = (x: T, filters: number) => apply(conv(filters, 1), apply(dw(), rpad(x, 1)));

  const input = tfl.input({ shape: [null, null, 3], name: 'input' });
  const half = (edge - 1) / 2;
  let h = relu(norm(apply(conv(ngf, edge), rpad(input, half))));
  const skips: T[] = [h]; // full resolution, then 1/2
  // Downsampling: zero pad 1 + 3x3 stride 2 (PyTorch's Conv2d(k=3, s=2, p=1)), or its separable form.
  for (const mult of [2, 4]) {
    const padded = apply(tfl.layers.zeroPadding2d({ padding: 1 }), h);
    const down = opts.separableDown ? apply(conv(ngf * mult, 1), apply(dw(2), padded)) : apply(conv(ngf * mult, 3, 2), padded);
    h = relu(norm(down));
    if (mult === 2) skips.push(h);
  }
  const c = ngf * 4;
  for (let i = 0; i < nBlocks; i++) {
    let r = relu(norm(sep(h, c)));
    r = norm(sep(r, c));
    h = apply(tfl.layers.add(), [h, r] as unknown as T);
  }
  for (const mult of [2, 1]) {
    h = apply(tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }), h);
    h = relu(norm(sep(h, ngf * mult)));
    if (opts.skips) h = apply(tfl.layers.add(), [h, skips.pop()!] as unknown as T);
  }
  h = apply(tfl.layers.activation({ activation: 'tanh' }), apply(conv(3, edge), rpad(h, half)));
  return tfl.model({ inputs: input, outputs: h, name: opts.name ?? 'light_generator' });
}
