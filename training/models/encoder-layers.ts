/**
 * The encoder layers of a translation generator whose features PatchNCE compares (CUT, Park et
 * al. 2020). The reference takes 5 layers of its ResNet generator's encoder ('0,4,8,12,16': the
 * padded input, the first and second downsampling convs, and residual blocks 0 and 4 of 9). The
 * same choice is made here from the graph of any of the generators (resnet, light, tiny, halfres), so no
 * generator needs to know about CUT:
 *   1. the first reflection pad (the padded input image: pixel-level patches),
 *   2. the first stride-2 downsampling (for the separable form: the 1x1 conv after the strided
 *      depthwise conv),
 *   3. the second stride-2 downsampling,
 *   4. the first residual block's output,
 *   5. the output of the residual block halfway down (block floor(n/2)).
 * Duplicates are dropped (with 0 or 1 residual block there are fewer layers).
 */
import * as tfl from '@tensorflow/tfjs-layers';

type Layer = tfl.layers.Layer;

const cls = (l: Layer) => l.getClassName();
const strided = (l: Layer) => {
  const s = (l.getConfig() as { strides?: number | number[] }).strides;
  return Array.isArray(s) ? s.some((v) => v > 1) : (s ?? 1) > 1;
};

/** The layer that consumes `l`'s output, when there is exactly one. */
function next(l: Layer): Layer | null {
  const out = l.outboundNodes;
  return out.length === 1 ? (out[0].outboundLayer as Layer) : null;
}

/** Names the encoder layers of `generator` PatchNCE should use (in forward order). */
export function encoderLayerNames(generator: tfl.LayersModel): string[] {
  const layers = generator.layers as Layer[];
  const decoderStart = layers.findIndex((l) => ['UpSampling2D', 'Conv2DTranspose'].includes(cls(l)));
  const encoder = decoderStart < 0 ? layers : layers.slice(0, decoderStart);
  const picked: Layer[] = [];
  const pad = encoder.find((l) => cls(l) === 'ReflectionPad2D');
  if (pad) picked.push(pad);
  const downs: Layer[] = [];
  for (const l of encoder) {
    if (!strided(l)) continue;
    if (cls(l) === 'DepthwiseConv2D') {
      const after = next(l);
      downs.push(after && cls(after) === 'Conv2D' ? after : l);
    } else if (cls(l) === 'Conv2D') downs.push(l);
  }
  picked.push(...downs.slice(0, 2));
  // Residual blocks: the Add layers of the encoder (the tiny generator's U-Net skip adds come
  // after the first upsampling, so they are not here).
  const blocks = encoder.filter((l) => cls(l) === 'Add');
  if (blocks.length) {
    picked.push(blocks[0]);
    picked.push(blocks[Math.floor(blocks.length / 2)]);
  }
  const names = [...new Set(picked.map((l) => l.name))];
  if (names.length < 2) throw new Error(`${generator.name}: found only ${names.length} encoder layer(s) for PatchNCE (need 2 or more)`);
  return names;
}

/**
 * A model sharing `generator`'s layers and weights that outputs the named layers' features
 * (NHWC) for an input image: the encoder half of the generator, for PatchNCE.
 */
export function encoderModel(generator: tfl.LayersModel, names = encoderLayerNames(generator)): tfl.LayersModel {
  const outputs = names.map((n) => generator.getLayer(n).output as tfl.SymbolicTensor);
  return tfl.model({ inputs: generator.inputs, outputs, name: `${generator.name}_encoder` });
}
