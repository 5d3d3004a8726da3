/**
 * Anything that translates an RGB image: an ONNX model that follows the manifest contract
 * (Ganvas's own or third-party, run with onnxruntime-node), or a generator in a Ganvas training
 * checkpoint (run with tfjs). Inputs are resized to the evaluation size by the caller.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { parseManifest, type ModelEntry } from '../../../lib/contract/manifest';
import { checkpointModelFolder, loadLayersModel, type GeneratorWeights } from '../../checkpoint';
import type { RgbImage } from '../../data/images';
import { exists } from '../../io/fs';

export type Range = [number, number];

export interface Translator {
  label: string;
  multipleOf: number;
  translate(img: RgbImage): Promise<RgbImage>;
  dispose(): Promise<void>;
}

function toFloats(img: RgbImage, [lo, hi]: Range, layout: 'nchw' | 'nhwc'): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = lo + (img.data[i * 3 + c] / 255) * (hi - lo);
      out[layout === 'nchw' ? c * n + i : i * 3 + c] = v;
    }
  }
  return out;
}

function fromFloats(data: Float32Array, width: number, height: number, [lo, hi]: Range, layout: 'nchw' | 'nhwc'): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[layout === 'nchw' ? c * n + i : i * 3 + c];
      out[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
    }
  }
  return { width, height, data: out };
}

export async function onnxTranslator(
  file: string | { bytes: Uint8Array; label: string },
  entry: Pick<ModelEntry, 'input' | 'output' | 'multipleOf'> | null,
  fallbackRange: Range,
): Promise<Translator> {
  const label = typeof file === 'string' ? file : file.label;
  let session: ort.InferenceSession;
  try {
    session = typeof file === 'string' ? await ort.InferenceSession.create(file) : await ort.InferenceSession.create(file.bytes);
  } catch (err) {
    throw new Error(`cannot load ONNX model ${label}: ${(err as Error).message}`);
  }
  const inputName = entry?.input.name ?? session.inputNames[0];
  const outputName = entry?.output.name ?? session.outputNames[0];
  const inRange = (entry?.input.range ?? fallbackRange) as Range;
  const outRange = (entry?.output.range ?? fallbackRange) as Range;
  return {
    label: path.basename(label),
    multipleOf: entry?.multipleOf ?? 4,
    async translate(img) {
      const x = new ort.Tensor('float32', toFloats(img, inRange, 'nchw'), [1, 3, img.height, img.width]);
      const r = await session.run({ [inputName]: x });
      const y = r[outputName];
      const [, c, h, w] = y.dims as number[];
      if (c !== 3) throw new Error(`${label}: output has ${c} channels, expected 3 (NCHW RGB)`);
      return fromFloats(y.data as Float32Array, w, h, outRange, 'nchw');
    },
    async dispose() {
      await session.release();
    },
  };
}

/**
 * A tfjs generator run through onnxruntime-node (converted in memory by the exporter, whose
 * parity with tfjs is tested per layer): several times faster than tfjs-wasm on the CPU. Falls
 * back to tfjs when the model has a layer the exporter does not map.
 */
export async function fastLayersTranslator(model: tfl.LayersModel, label: string, range: Range = [-1, 1]): Promise<Translator> {
  const { convertToOnnx, UnsupportedLayerError } = await import('../../export');
  try {
    const c = convertToOnnx(model);
    const t = await onnxTranslator({ bytes: c.bytes, label }, { input: { name: c.inputName, range }, output: { name: c.outputName, range }, multipleOf: 4 }, range);
    model.dispose();
    return t;
  } catch (err) {
    if (err instanceof UnsupportedLayerError) return tfjsTranslator(model, label, range);
    throw err;
  }
}

export function tfjsTranslator(model: tfl.LayersModel, label: string, range: Range = [-1, 1]): Translator {
  return {
    label,
    multipleOf: 4,
    async translate(img) {
      const y = tf.tidy(() => model.predict(tf.tensor4d(toFloats(img, range, 'nhwc'), [1, img.height, img.width, 3])) as tf.Tensor);
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return fromFloats(data, img.width, img.height, range, 'nhwc');
    },
    async dispose() {
      model.dispose();
    },
  };
}

/**
 * Resolves a model argument: an .onnx file, a manifest id, a checkpoint folder (step-N), or a run
 * folder (its newest checkpoint). For checkpoints, `generator` picks G (A->B) or F (B->A) and
 * `weights` its weight average (the default, when kept) or its trained weights; they run through
 * onnxruntime like the learning curve's (fastLayersTranslator), so both score the same numbers.
 */
export async function resolveTranslator(
  spec: string,
  opts: { manifest?: string; range?: Range; generator?: 'G' | 'F'; weights?: GeneratorWeights },
): Promise<{ translator: Translator; entry: ModelEntry | null; checkpoint: string | null }> {
  const range = opts.range ?? [-1, 1];
  let entries: ModelEntry[] = [];
  if (opts.manifest && (await exists(opts.manifest))) {
    entries = parseManifest(JSON.parse(await fs.readFile(opts.manifest, 'utf8'))).models;
  }
  const byId = entries.find((e) => e.id === spec);
  if (byId) {
    const file = path.join(path.dirname(opts.manifest!), byId.file);
    return { translator: await onnxTranslator(file, byId, range), entry: byId, checkpoint: null };
  }
  if (spec.endsWith('.onnx')) {
    if (!(await exists(spec))) throw new Error(`model file ${spec} does not exist`);
    const entry = entries.find((e) => path.resolve(path.dirname(opts.manifest!), e.file) === path.resolve(spec)) ?? null;
    return { translator: await onnxTranslator(spec, entry, range), entry, checkpoint: null };
  }
  if (await exists(spec)) {
    const { checkpoint, folder } = await checkpointModelFolder(spec, opts.generator ?? 'G', opts.weights);
    const model = await loadLayersModel(folder);
    return { translator: await fastLayersTranslator(model, `${checkpoint}#${path.basename(folder)}`, range), entry: null, checkpoint };
  }
  throw new Error(`model "${spec}" is not a file, a folder, or an id in ${opts.manifest ?? 'the manifest'}`);
}
