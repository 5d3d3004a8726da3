/**
 * exportOnnx: tfjs LayersModel -> ONNX file, written only after onnxruntime-node reproduces
 * model.predict at two input sizes within the parity bound.
 */
import * as ort from 'onnxruntime-node';
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { convertToOnnx, type ConvertOptions } from './convert';
import { FP16_TOLERANCE, FP32_TOLERANCE, compareAtSize, locateDivergence, type Divergence, type Range, type SizeReport } from './parity';
import { writeFileAtomic } from '../io/atomic';

export interface ExportOptions extends Omit<ConvertOptions, 'debugOutputs'> {
  outFile: string;
  /** Pixel range the model takes (random parity inputs are drawn from it; stored as metadata). Default [0, 1]. */
  inputRange?: Range;
  /** Pixel range the model produces (sets the fp16 bound; stored as metadata). Default: inputRange. */
  outputRange?: Range;
  /** Spatial dims must be a multiple of this (default check sizes are rounded up to it). */
  multipleOf?: number;
  check?: {
    /** [height, width] input sizes to compare at. */
    sizes?: [number, number][];
    /** Overrides FP32_TOLERANCE / FP16_TOLERANCE. */
    tolerance?: number;
  };
  /**
   * Enforce the image contract (3-channel RGB input and output, output = integer scale x input).
   * Default true; turn off to export e.g. a PatchGAN discriminator (any channels, any output rank).
   */
  rgb?: boolean;
}

export interface ExportReport {
  file: string;
  bytes: number;
  opset: number;
  nodes: number;
  parameters: number;
  fp16: boolean;
  inputName: string;
  outputName: string;
  /** Output size / input size, when it is one integer for both axes. */
  scale: number | null;
  sizes: SizeReport[];
  maxAbsDiff: number;
  tolerance: number;
}

export class ExportParityError extends Error {
  constructor(
    message: string,
    readonly sizes: SizeReport[],
    readonly divergence: Divergence | null,
    readonly layers: Divergence[],
  ) {
    super(message);
    this.name = 'ExportParityError';
  }
}

function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** Default check sizes: the model's fixed size, or two sizes (one odd when multipleOf is 1). */
export function defaultCheckSizes(model: LayersModel, multipleOf = 1): [number, number][] {
  const [, h, w] = model.inputs[0].shape;
  if (h != null && w != null) return [[h, w]];
  const base: [number, number][] = multipleOf === 1 ? [[32, 48], [37, 29]] : [[32, 48], [64, 40]];
  return base.map(([a, b]) => [h ?? roundUp(a, multipleOf), w ?? roundUp(b, multipleOf)]);
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : String(v);
}

function validateContract(model: LayersModel, rgb: boolean): void {
  const inShape = model.inputs[0]?.shape ?? [];
  const outShape = model.outputs[0]?.shape ?? [];
  if (inShape.length !== 4) throw new Error(`model input must be 4-D NHWC, got [${inShape.join(', ')}]`);
  if (!rgb) return;
  if (outShape.length !== 4) throw new Error(`model output must be 4-D NHWC, got [${outShape.join(', ')}]`);
  if (inShape[3] !== 3) throw new Error(`the model contract needs a 3-channel RGB input, the model takes ${inShape[3]} channels (pass rgb: false to export anyway)`);
  if (outShape[3] !== 3) throw new Error(`the model contract needs a 3-channel RGB output, the model produces ${outShape[3]} channels (pass rgb: false to export anyway)`);
}

export async function exportOnnx(model: LayersModel, options: ExportOptions): Promise<ExportReport> {
  const rgb = options.rgb ?? true;
  validateContract(model, rgb);
  const inputRange = options.inputRange ?? [0, 1];
  const outputRange = options.outputRange ?? inputRange;
  const multipleOf = options.multipleOf ?? 1;
  const fp16 = options.fp16 ?? false;
  const metadata = {
    'ganvas.input.range': inputRange.join(','),
    'ganvas.output.range': outputRange.join(','),
    'ganvas.multipleOf': String(multipleOf),
    'ganvas.weights': fp16 ? 'float16' : 'float32',
    ...options.metadata,
  };
  const convertOpts: ConvertOptions = { inputName: options.inputName, outputName: options.outputName, fp16, emitters: options.emitters, metadata };
  const converted = convertToOnnx(model, convertOpts);

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(converted.bytes);
  } catch (err) {
    throw new Error(`onnxruntime rejected the exported graph (an exporter bug): ${err instanceof Error ? err.message : String(err)}`);
  }
  const sizes = options.check?.sizes ?? defaultCheckSizes(model, multipleOf);
  if (sizes.length === 0) throw new Error('check.sizes is empty: the export is only written after a parity check');
  for (const [h, w] of sizes) {
    if (h % multipleOf || w % multipleOf) throw new Error(`check size ${h}x${w} is not a multiple of multipleOf ${multipleOf}`);
  }
  const reports: SizeReport[] = [];
  let failing: { report: SizeReport; input: tf.Tensor4D } | null = null;
  let scale: number | null = null;
  try {
    for (const [i, [h, w]] of sizes.entries()) {
      const r = await compareAtSize(model, session, converted, h, w, { inputRange, outputRange, fp16, tolerance: options.check?.tolerance, seed: 1234 + i });
      reports.push(r.report);
      const [, , oh, ow] = r.report.outputDims;
      const s = oh / h;
      if (rgb && !r.report.shapeMismatch && (r.report.outputDims.length !== 4 || !Number.isInteger(s) || ow !== s * w || (scale != null && s !== scale))) {
        r.input.dispose();
        throw new Error(
          `output ${oh}x${ow} for input ${h}x${w} is not an integer scale of the input; ` +
            `the contract needs output = scale x input (a model with stride-2 layers needs --multiple-of)`,
        );
      }
      scale = s;
      if (!(r.report.maxAbsDiff <= r.report.bound) && !failing) failing = r;
      else r.input.dispose();
    }
  } finally {
    await session.release();
  }

  if (failing) {
    const rel = options.check?.tolerance ?? (fp16 ? FP16_TOLERANCE : FP32_TOLERANCE);
    const { first, layers } = await locateDivergence(model, convertOpts, failing.input, rel);
    failing.input.dispose();
    const { height, width, maxAbsDiff, bound, shapeMismatch } = failing.report;
    const where = first
      ? `first diverging layer: "${first.layerName}" (${first.className}), ` +
        (Number.isFinite(first.maxAbsDiff) ? `max |diff| ${fmt(first.maxAbsDiff)} (its activations reach ${fmt(first.refMaxAbs)})` : 'output shape differs')
      : 'no single layer exceeds the bound on its own (errors accumulate); per-layer differences are in error.layers';
    const what = shapeMismatch ?? `max |diff| ${fmt(maxAbsDiff)} > bound ${fmt(bound)}`;
    throw new ExportParityError(
      `ONNX export does not match the tfjs model: ${what} at input ${height}x${width}; ${where}. ` +
        `Nothing was written to ${options.outFile}.`,
      reports,
      first,
      layers,
    );
  }

  await writeFileAtomic(options.outFile, converted.bytes);
  return {
    file: options.outFile,
    bytes: converted.bytes.byteLength,
    opset: converted.opset,
    nodes: converted.nodes,
    parameters: converted.parameters,
    fp16,
    inputName: converted.inputName,
    outputName: converted.outputName,
    scale: rgb ? scale : null,
    sizes: reports,
    maxAbsDiff: Math.max(...reports.map((r) => r.maxAbsDiff)),
    tolerance: options.check?.tolerance ?? (fp16 ? FP16_TOLERANCE : FP32_TOLERANCE),
  };
}
