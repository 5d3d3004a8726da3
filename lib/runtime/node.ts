/**
 * Tiled image inference in Node (onnxruntime-node): the same driver and graph rewrite the site's worker
 * uses (lib/runtime/whole-image.ts, lib/onnx/instance-norm.ts), for evaluation and benchmarks.
 *
 *   const t = await createNodeTiler(readFileSync('public/models/cyclegan-summer2winter.onnx'));
 *   const { out } = await t.runImage(rgba, width, height, { inRange: [-1, 1], outRange: [-1, 1], scale: 1,
 *     multipleOf: 4, tile: { size: 512, overlap: 32 }, feather: 'linear' });
 *   await t.release();
 *
 * Or in one call: `translateImageTiled(modelBytes, rgba, width, height, spec)`.
 * Not imported by the site (it would pull onnxruntime-node into the bundle).
 */
import * as ort from 'onnxruntime-node';
import { inspectInstanceNorm, rewriteInstanceNorm, type NormModelInfo } from '../onnx/instance-norm';
import { cropRGBA } from '../imaging/tiles';
import { runTiledImage, type NormOptions, type RunVariant, type TensorData, type TiledImageResult, type TiledSpec, type Variant } from './whole-image';

export interface NodeTiler {
  info: NormModelInfo;
  /** Runs one variant of the model (sessions are created on first use). */
  run: RunVariant;
  /** Tiles an RGBA image (whole-image normalization for instance-norm models unless norm.mode is 'per-tile'). */
  runImage(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, spec: TiledSpec, norm?: NormOptions): Promise<TiledImageResult>;
  release(): Promise<void>;
}

export interface NodeTilerOptions {
  /** onnxruntime-node session options (default: CPU, intra-op threads left to onnxruntime). */
  session?: ort.InferenceSession.SessionOptions;
}

export async function createNodeTiler(modelBytes: Uint8Array, opts: NodeTilerOptions = {}): Promise<NodeTiler> {
  const info = inspectInstanceNorm(modelBytes);
  const sessions = new Map<Variant, Promise<ort.InferenceSession>>();
  const session = (v: Variant) => {
    let s = sessions.get(v);
    if (!s) {
      s = ort.InferenceSession.create(v === 'plain' ? modelBytes : rewriteInstanceNorm(modelBytes, v), opts.session ?? {});
      sessions.set(v, s);
    }
    return s;
  };
  const run: RunVariant = async (variant, feeds) => {
    const s = await session(variant);
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor('float32', t.data, t.dims);
    const out = await s.run(input);
    const res: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(out)) res[name] = { data: t.data as Float32Array, dims: [...t.dims] };
    return res;
  };
  return {
    info,
    run,
    runImage(rgba, width, height, spec, norm) {
      const src = rgba instanceof Uint8ClampedArray ? rgba : new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength);
      if (src.length < width * height * 4) throw new Error(`RGBA buffer holds ${src.length} bytes, a ${width}x${height} image needs ${width * height * 4}`);
      return runTiledImage({
        width,
        height,
        read: (x, y, w, h) => (x === 0 && y === 0 && w === width && h === height ? src : cropRGBA(src, width, x, y, w, h)),
        spec,
        info,
        run,
        norm,
      });
    },
    async release() {
      for (const s of sessions.values()) await (await s).release();
      sessions.clear();
    },
  };
}

/** One-call tiled translation of an RGBA image in Node (see createNodeTiler). */
export async function translateImageTiled(
  modelBytes: Uint8Array,
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  spec: TiledSpec,
  norm?: NormOptions,
): Promise<TiledImageResult> {
  const t = await createNodeTiler(modelBytes);
  try {
    return await t.runImage(rgba, width, height, spec, norm);
  } finally {
    await t.release();
  }
}
