/**
 * The 70x70 PatchGAN discriminator, layer for layer as Zhu et al.'s PyTorch `NLayerDiscriminator`
 * (junyanz/pytorch-CycleGAN-and-pix2pix) with norm_layer=InstanceNorm2d (so every conv has a bias):
 *
 *   Conv4x4 s2 (ndf), LeakyReLU 0.2
 *   (nLayers-1)x [Conv4x4 s2, IN, LeakyReLU 0.2]   channels ndf * min(2^n, 8)
 *   Conv4x4 s1, IN, LeakyReLU 0.2                   channels ndf * min(2^nLayers, 8)
 *   Conv4x4 s1 -> 1 channel: one logit per patch (no sigmoid; the loss decides)
 *
 * The reference pads every conv by 1 with k=4; TF 'same' pads differently, so each conv is an
 * explicit ZeroPadding2D(1) + 'valid' conv. With nLayers=3 each output sees a 70x70 input patch,
 * and a 256x256 input gives a 30x30 map. Dynamic H and W; weights N(0, 0.02), biases 0.
 */
import { initializers, input, layers, model, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { InstanceNorm } from './layers';

export interface PatchGanOptions {
  ndf?: number;
  nLayers?: number;
  inChannels?: number;
  name?: string;
}

function padConv(x: SymbolicTensor, filters: number, strides: number, name: string): SymbolicTensor {
  const padded = layers.zeroPadding2d({ padding: 1, name: `${name}_pad` }).apply(x) as SymbolicTensor;
  return layers
    .conv2d({
      filters,
      kernelSize: 4,
      strides,
      padding: 'valid',
      useBias: true,
      kernelInitializer: initializers.randomNormal({ mean: 0, stddev: 0.02 }),
      biasInitializer: 'zeros',
      name: `${name}_conv`,
    })
    .apply(padded) as SymbolicTensor;
}

function lrelu(x: SymbolicTensor, name: string): SymbolicTensor {
  return layers.leakyReLU({ alpha: 0.2, name }).apply(x) as SymbolicTensor;
}

export function patchGan(opts: PatchGanOptions = {}): LayersModel {
  const { ndf = 64, nLayers = 3, inChannels = 3, name = 'patchgan' } = opts;
  for (const [k, v] of Object.entries({ ndf, nLayers, inChannels })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`patchGan: ${k} must be a positive integer, got ${v}`);
  }
  const inp = input({ shape: [null, null, inChannels], name: `${name}_input` });
  let x = lrelu(padConv(inp, ndf, 2, 'l0'), 'l0_lrelu');
  for (let n = 1; n < nLayers; n++) {
    x = padConv(x, ndf * Math.min(2 ** n, 8), 2, `l${n}`);
    x = lrelu(new InstanceNorm({ name: `l${n}_norm` }).apply(x) as SymbolicTensor, `l${n}_lrelu`);
  }
  x = padConv(x, ndf * Math.min(2 ** nLayers, 8), 1, `l${nLayers}`);
  x = lrelu(new InstanceNorm({ name: `l${nLayers}_norm` }).apply(x) as SymbolicTensor, `l${nLayers}_lrelu`);
  const out = padConv(x, 1, 1, 'out');
  return model({ inputs: inp, outputs: out, name });
}

/** Receptive field (input pixels per output logit) of a patchGan with this many layers. */
export function patchGanReceptiveField(nLayers = 3): number {
  // Backwards from one output: two stride-1 k4 convs, then nLayers stride-2 k4 convs.
  let rf = 1;
  rf = (rf - 1) * 1 + 4;
  rf = (rf - 1) * 1 + 4;
  for (let i = 0; i < nLayers; i++) rf = (rf - 1) * 2 + 4;
  return rf;
}
