/**
 * checkOnnx: validates an ONNX file against the Ganvas model contract (docs/model-contract.md)
 * with onnxruntime-node, and optionally proves it equal to a tfjs model.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { DataType, onnx, toNumber, type IValueInfoProto, type ModelProto } from './onnx/proto';
import { compareAtSize, randomInput, runOnnx, type Range, type SizeReport } from './parity';
import { defaultCheckSizes } from './export';

export type DimInfo = number | string | null;

export interface CheckOptions {
  /** Compare against this tfjs model (NHWC) at `sizes`. */
  model?: LayersModel;
  sizes?: [number, number][];
  multipleOf?: number;
  /** Require 3-channel input and output (default true). */
  rgb?: boolean;
  /** Pixel ranges for the random inputs and the fp16 bound; default: the file's ganvas metadata, else [0, 1]. */
  inputRange?: Range;
  outputRange?: Range;
  tolerance?: number;
}

export interface CheckReport {
  file: string;
  bytes: number;
  irVersion: number;
  opset: number;
  producer: string;
  nodes: number;
  inputName: string;
  outputName: string;
  inputDims: DimInfo[];
  outputDims: DimInfo[];
  /** Some initializers are stored as float16. */
  fp16Weights: boolean;
  metadata: Record<string, string>;
  /** The test inference onnxruntime ran: NCHW input and output dims. */
  run: { inputDims: number[]; outputDims: number[] };
  /** Output size / input size (null when not one integer for both axes and rgb is false). */
  scale: number | null;
  parity?: SizeReport[];
}

export class OnnxCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxCheckError';
  }
}

function dimsOf(v: IValueInfoProto): DimInfo[] | null {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dimValue != null && toNumber(d.dimValue as never) > 0 ? toNumber(d.dimValue as never) : d.dimParam || null));
}

function elemTypeName(t: number | null | undefined): string {
  return t == null ? 'unknown' : (DataType[t] ?? String(t));
}

function parseRange(s: string | undefined): Range | undefined {
  if (!s) return undefined;
  const parts = s.split(',').map(Number);
  return parts.length === 2 && parts.every(Number.isFinite) ? [parts[0], parts[1]] : undefined;
}

function decode(file: string, bytes: Uint8Array): ModelProto {
  if (bytes.byteLength === 0) throw new OnnxCheckError(`${file} is empty`);
  let m: ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new OnnxCheckError(`${file} is not a valid ONNX model (protobuf decoding failed, the file is truncated or corrupt): ${(err as Error).message}`);
  }
  if (!m.graph) throw new OnnxCheckError(`${file} is not a valid ONNX model: it has no graph`);
  if (!m.opsetImport?.length) throw new OnnxCheckError(`${file} is not a valid ONNX model: it declares no opset`);
  return m;
}

function isLayersModel(v: unknown): v is LayersModel {
  return typeof v === 'object' && v !== null && 'predict' in v && 'layers' in v && 'inputs' in v;
}

/** `checkOnnx(file)`, `checkOnnx(file, tfjsModel)` or `checkOnnx(file, { model, sizes, ... })`. */
export async function checkOnnx(file: string, modelOrOpts: LayersModel | CheckOptions = {}): Promise<CheckReport> {
  const opts: CheckOptions = isLayersModel(modelOrOpts) ? { model: modelOrOpts } : modelOrOpts;
  const rgb = opts.rgb ?? true;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    throw new OnnxCheckError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const m = decode(file, bytes);
  const graph = m.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name));
  const outputs = graph.output ?? [];
  const violations: string[] = [];
  if (inputs.length !== 1) violations.push(`it has ${inputs.length} graph inputs (${inputs.map((v) => v.name).join(', ')}), the contract needs exactly one`);
  if (outputs.length !== 1) violations.push(`it has ${outputs.length} graph outputs (${outputs.map((v) => v.name).join(', ')}), the contract needs exactly one`);
  const checkIo = (v: IValueInfoProto | undefined, what: string): DimInfo[] => {
    if (!v) return [];
    const t = v.type?.tensorType?.elemType;
    if (t !== DataType.FLOAT) violations.push(`${what} "${v.name}" is ${elemTypeName(t)}, the contract needs float32`);
    const dims = dimsOf(v);
    if (dims == null) return [];
    if (dims.length !== 4) violations.push(`${what} "${v.name}" has rank ${dims.length}, the contract needs 4-D NCHW`);
    else if (rgb && typeof dims[1] === 'number' && dims[1] !== 3) violations.push(`${what} "${v.name}" has ${dims[1]} channels (NCHW axis 1), the contract needs 3 (RGB)`);
    else if (rgb && what === 'input' && dims[1] !== 3) violations.push(`input "${v.name}" has a dynamic channel axis, the contract needs a fixed 3`);
    return dims;
  };
  const inputDims = checkIo(inputs[0], 'input');
  const outputDims = checkIo(outputs[0], 'output');
  if (violations.length) throw new OnnxCheckError(`${file} violates the model contract: ${violations.join('; ')}`);

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new OnnxCheckError(`onnxruntime cannot load ${file}: ${(err as Error).message}`);
  }
  const metadata = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const inputRange = opts.inputRange ?? parseRange(metadata['ganvas.input.range']) ?? [0, 1];
  const outputRange = opts.outputRange ?? parseRange(metadata['ganvas.output.range']) ?? inputRange;
  const multipleOf = opts.multipleOf ?? (Number(metadata['ganvas.multipleOf']) || 1);
  const fp16Weights = (graph.initializer ?? []).some((t) => t.dataType === DataType.FLOAT16);
  const inputName = inputs[0].name!;
  const outputName = outputs[0].name!;
  try {
    // One real inference at a non-square size, so swapped H/W shows up.
    const fixed = (d: DimInfo, fallback: number) => (typeof d === 'number' ? d : Math.ceil(fallback / multipleOf) * multipleOf);
    const h = fixed(inputDims[2], 32);
    const w = fixed(inputDims[3], 48);
    const c = typeof inputDims[1] === 'number' ? inputDims[1] : 3;
    const x = randomInput(h, w, c, inputRange, 99);
    let result;
    try {
      result = await runOnnx(session, inputName, x);
    } catch (err) {
      throw new OnnxCheckError(`onnxruntime failed to run ${file} on a 1x${c}x${h}x${w} input: ${(err as Error).message}`);
    } finally {
      x.dispose();
    }
    const y = result[outputName];
    const ydims = y.dims.map(Number);
    if (ydims.length !== 4) throw new OnnxCheckError(`${file}: output "${outputName}" has shape [${ydims.join(', ')}], the contract needs 4-D NCHW`);
    if (rgb && ydims[1] !== 3) throw new OnnxCheckError(`${file}: output "${outputName}" has ${ydims[1]} channels, the contract needs 3 (RGB)`);
    const data = y.data as Float32Array;
    if (y.type !== 'float32') throw new OnnxCheckError(`${file}: output "${outputName}" is ${y.type}, the contract needs float32`);
    if (!data.every(Number.isFinite)) throw new OnnxCheckError(`${file}: output "${outputName}" contains NaN or Infinity for a random input`);
    const s = ydims[2] / h;
    const scale = Number.isInteger(s) && ydims[3] === s * w ? s : null;
    if (rgb && scale == null) throw new OnnxCheckError(`${file}: output ${ydims[2]}x${ydims[3]} for input ${h}x${w} is not an integer scale of the input`);

    let parity: SizeReport[] | undefined;
    if (opts.model) {
      parity = [];
      const sizes = opts.sizes ?? defaultCheckSizes(opts.model, multipleOf);
      for (const [i, [sh, sw]] of sizes.entries()) {
        const r = await compareAtSize(opts.model, session, { inputName, outputName }, sh, sw, { inputRange, outputRange, fp16: fp16Weights, tolerance: opts.tolerance, seed: 4321 + i });
        r.input.dispose();
        parity.push(r.report);
        if (!(r.report.maxAbsDiff <= r.report.bound)) {
          const what = r.report.shapeMismatch ?? `max |diff| ${r.report.maxAbsDiff.toExponential(2)} > bound ${r.report.bound.toExponential(2)}`;
          throw new OnnxCheckError(`${file} does not match the tfjs model: ${what} at input ${sh}x${sw}`);
        }
      }
    }
    return {
      file,
      bytes: bytes.byteLength,
      irVersion: toNumber(m.irVersion as never),
      opset: toNumber((m.opsetImport!.find((o) => !o.domain || o.domain === 'ai.onnx') ?? m.opsetImport![0]).version as never),
      producer: `${m.producerName ?? ''} ${m.producerVersion ?? ''}`.trim(),
      nodes: graph.node?.length ?? 0,
      inputName,
      outputName,
      inputDims,
      outputDims,
      fp16Weights,
      metadata,
      run: { inputDims: [1, c, h, w], outputDims: ydims },
      scale,
      parity,
    };
  } finally {
    await session.release();
  }
}
