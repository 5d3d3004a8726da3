/**
 * Whole-image instance normalization for tiled inference: an ONNX graph rewrite.
 *
 * InstanceNormalization computes a mean and variance per channel over whatever H x W it is given, so a
 * photo run in tiles gets different statistics in every tile: a patchwork of brightness and colour.
 * This module rewrites a model once (at load time, for any contract model, third-party included) into
 * variants that share the original weights:
 *
 *   - `stats`: the original graph plus, for every InstanceNormalization k, two extra outputs
 *     `ganvas_stat{k}_mean` and `ganvas_stat{k}_var` ([N, C, 1, 1] float32): the statistics that layer
 *     used. Run it once on a downscaled copy of the photo.
 *   - `fixed`: every InstanceNormalization k reads its mean and variance from extra inputs
 *     `ganvas_norm{k}_mean` / `ganvas_norm{k}_var` ([1, C, 1, 1] float32) instead of computing them,
 *     so the network is a purely local operator: tiles run with the same statistics join into one image.
 *   - `probe`: `fixed` plus per-layer outputs of the mean and variance of each normalized layer's input
 *     over a sub-rectangle of the tile (input `ganvas_region`: [top, left, bottom, right] as fractions of
 *     the tile's H and W), so statistics can be accumulated exactly over the parts each tile owns.
 *
 * The graph is otherwise untouched (same input/output names), so a model without InstanceNormalization
 * needs no rewrite and runs as before. Pure: onnx-proto (protobufjs) only, usable in the browser worker
 * and in Node.
 */
import onnxProto, { type onnx as OnnxNs } from 'onnx-proto';

// onnx-proto is CommonJS without named exports: take the namespace from the default export
const { onnx } = onnxProto;
type IModel = OnnxNs.IModelProto;
type INode = OnnxNs.INodeProto;
type ITensor = OnnxNs.ITensorProto;
type IValueInfo = OnnxNs.IValueInfoProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

export type NormVariant = 'stats' | 'fixed' | 'probe';

export interface InstanceNormLayer {
  /** 0-based position among the graph's InstanceNormalization nodes (topological order of the file). */
  index: number;
  /** Node name (may be empty in third-party files). */
  node: string;
  /** The tensor the layer normalizes. */
  input: string;
  epsilon: number;
  /** Channel count when the scale is a constant, else null. */
  channels: number | null;
}

export interface NormModelInfo {
  inputName: string;
  outputName: string;
  opset: number;
  layers: InstanceNormLayer[];
}

/** Names of the extra tensors of layer k. */
export const normNames = {
  statMean: (k: number) => `ganvas_stat${k}_mean`,
  statVar: (k: number) => `ganvas_stat${k}_var`,
  normMean: (k: number) => `ganvas_norm${k}_mean`,
  normVar: (k: number) => `ganvas_norm${k}_var`,
  region: 'ganvas_region',
};

function toNum(v: number | { toNumber(): number } | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function decodeModel(bytes: Uint8Array): IModel {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`not an ONNX model (protobuf decode failed: ${(e as Error).message})`);
  }
}

function opsetOf(m: IModel): number {
  const o = (m.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? toNum(o.version) : 1;
}

/** The InstanceNormalization layers of a model (empty when it has none: then no rewrite is needed). */
export function inspectInstanceNorm(bytes: Uint8Array | IModel): NormModelInfo {
  const m = bytes instanceof Uint8Array ? decodeModel(bytes) : bytes;
  const g = m.graph;
  if (!g) throw new Error('the ONNX file has no graph');
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const realInputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  const layers: InstanceNormLayer[] = [];
  for (const n of g.node ?? []) {
    if (n.opType !== 'InstanceNormalization' || (n.domain && n.domain !== 'ai.onnx')) continue;
    const eps = (n.attribute ?? []).find((a) => a.name === 'epsilon');
    const scale = inits.get(n.input?.[1] ?? '');
    layers.push({
      index: layers.length,
      node: n.name ?? '',
      input: n.input?.[0] ?? '',
      epsilon: eps?.f ?? 1e-5,
      channels: scale?.dims?.length === 1 ? toNum(scale.dims[0]) : null,
    });
  }
  return { inputName: realInputs[0]?.name ?? '', outputName: g.output?.[0]?.name ?? '', opset: opsetOf(m), layers };
}

function int64s(name: string, values: number[]): ITensor {
  return { name, dims: [values.length], dataType: INT64, int64Data: values };
}

function floatInput(name: string, dims: (number | string)[]): IValueInfo {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/**
 * Rewrites a model into one of the variants above. Throws when the model has no InstanceNormalization
 * (check `inspectInstanceNorm(bytes).layers.length` first). Returns the encoded ONNX bytes.
 */
export function rewriteInstanceNorm(bytes: Uint8Array, variant: NormVariant): Uint8Array {
  const m = decodeModel(bytes);
  const info = inspectInstanceNorm(m);
  if (!info.layers.length) throw new Error('the model has no InstanceNormalization layer: nothing to rewrite');
  const g = m.graph!;
  const opset = info.opset;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const newInits: ITensor[] = [];
  const newInputs: IValueInfo[] = [];
  const newOutputs: IValueInfo[] = [];
  const nodes: INode[] = [];
  let uid = 0;
  const tmp = (what: string) => `ganvas_in/${what}_${uid++}`;

  // shared constants, added on first use (onnxruntime warns about unused initializers)
  const used = new Set<string>();
  const constant = (name: string, values: number[]) => {
    if (!used.has(name)) newInits.push(int64s(name, values));
    used.add(name);
    return name;
  };
  const SHAPE_1C11 = () => constant('ganvas_in/shape_1c11', [1, -1, 1, 1]);
  const AXES_HW = () => constant('ganvas_in/axes_hw', [2, 3]);
  const reduceMean = (x: string, y: string): INode =>
    opset >= 18
      ? { opType: 'ReduceMean', input: [x, AXES_HW()], output: [y], attribute: [{ name: 'keepdims', type: A.INT, i: 1 }] }
      : { opType: 'ReduceMean', input: [x], output: [y], attribute: [{ name: 'axes', type: A.INTS, ints: [2, 3] }, { name: 'keepdims', type: A.INT, i: 1 }] };
  const op = (opType: string, input: string[], output: string, attribute: INode['attribute'] = []): INode => ({ opType, input, output: [output], attribute });

  if (variant === 'probe') {
    newInputs.push(floatInput(normNames.region, [4]));
    newInits.push(int64s('ganvas_in/i0', [0]), int64s('ganvas_in/i2', [2]), int64s('ganvas_in/i4', [4]));
  }

  /** Mean and variance of x over H, W (float32, keepdims), optionally over the probe region only. */
  const statsOf = (x: string, half: boolean, k: number, meanOut: string, varOut: string) => {
    let src = x;
    if (variant === 'probe') {
      // region fractions -> integer feature-map coordinates of this layer
      const shape = tmp('shape'), hw = tmp('hw'), hwf = tmp('hwf'), hw2 = tmp('hw2'), pos = tmp('pos'), posr = tmp('posr'), posi = tmp('posi');
      const starts = tmp('starts'), ends = tmp('ends'), crop = tmp('crop');
      nodes.push(
        op('Shape', [x], shape),
        op('Slice', [shape, 'ganvas_in/i2', 'ganvas_in/i4', 'ganvas_in/i0'], hw),
        op('Cast', [hw], hwf, [{ name: 'to', type: A.INT, i: FLOAT }]),
        op('Concat', [hwf, hwf], hw2, [{ name: 'axis', type: A.INT, i: 0 }]),
        op('Mul', [normNames.region, hw2], pos),
        op('Round', [pos], posr),
        op('Cast', [posr], posi, [{ name: 'to', type: A.INT, i: INT64 }]),
        op('Slice', [posi, 'ganvas_in/i0', 'ganvas_in/i2', 'ganvas_in/i0'], starts),
        op('Slice', [posi, 'ganvas_in/i2', 'ganvas_in/i4', 'ganvas_in/i0'], ends),
        op('Slice', [x, starts, ends, AXES_HW()], crop),
      );
      src = crop;
    }
    if (half) {
      const f = tmp('f32');
      nodes.push(op('Cast', [src], f, [{ name: 'to', type: A.INT, i: FLOAT }]));
      src = f;
    }
    const d = tmp('d'), d2 = tmp('d2');
    nodes.push(reduceMean(src, meanOut), op('Sub', [src, meanOut], d), op('Mul', [d, d], d2), reduceMean(d2, varOut));
    newOutputs.push(floatInput(meanOut, ['N', `C${k}`, 1, 1]), floatInput(varOut, ['N', `C${k}`, 1, 1]));
  };

  let k = 0;
  for (const n of g.node ?? []) {
    const isIN = n.opType === 'InstanceNormalization' && (!n.domain || n.domain === 'ai.onnx');
    if (!isIN) {
      nodes.push(n);
      continue;
    }
    const layer = info.layers[k];
    const [x, scale, bias] = n.input ?? [];
    const half = inits.get(scale ?? '')?.dataType === FLOAT16;
    if (variant === 'stats') {
      nodes.push(n);
      statsOf(x, half, k, normNames.statMean(k), normNames.statVar(k));
    } else {
      if (variant === 'probe') statsOf(x, half, k, normNames.statMean(k), normNames.statVar(k));
      // y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a (all [1, C, 1, 1] but x)
      let mean = normNames.normMean(k), v = normNames.normVar(k);
      newInputs.push(floatInput(mean, [1, `C${k}`, 1, 1]), floatInput(v, [1, `C${k}`, 1, 1]));
      if (half) {
        const mh = tmp('mean16'), vh = tmp('var16');
        nodes.push(op('Cast', [mean], mh, [{ name: 'to', type: A.INT, i: FLOAT16 }]), op('Cast', [v], vh, [{ name: 'to', type: A.INT, i: FLOAT16 }]));
        mean = mh;
        v = vh;
      }
      const epsName = `ganvas_in/eps${k}`;
      newInits.push(half
        ? { name: epsName, dims: [], dataType: FLOAT16, int32Data: [f32ToF16Bits(layer.epsilon)] }
        : { name: epsName, dims: [], dataType: FLOAT, floatData: [layer.epsilon] });
      const ve = tmp('ve'), sd = tmp('sd'), sr = tmp('scale'), br = tmp('bias'), a = tmp('a'), ma = tmp('ma'), b = tmp('b'), xa = tmp('xa');
      nodes.push(
        op('Add', [v, epsName], ve),
        op('Sqrt', [ve], sd),
        op('Reshape', [scale, SHAPE_1C11()], sr),
        op('Reshape', [bias, SHAPE_1C11()], br),
        op('Div', [sr, sd], a),
        op('Mul', [mean, a], ma),
        op('Sub', [br, ma], b),
        op('Mul', [x, a], xa),
        { opType: 'Add', name: n.name ? `${n.name}/fixed` : undefined, input: [xa, b], output: [n.output![0]] },
      );
    }
    k++;
  }
  g.node = nodes;
  g.initializer = [...(g.initializer ?? []), ...newInits];
  g.input = [...(g.input ?? []), ...newInputs];
  g.output = [...(g.output ?? []), ...newOutputs];
  // value_info for rewritten tensors is unchanged (same names, same shapes); nothing to drop
  return onnx.ModelProto.encode(m).finish();
}

/** IEEE half-precision bits of a float (round to nearest), for an fp16 epsilon constant. */
function f32ToF16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign | Math.round((mant | 0x800000) / 2 ** (14 - exp)) >> 0;
  if (exp >= 31) return sign | 0x7c00;
  return sign | ((exp << 10) + Math.round(mant / 0x2000)); // a mantissa that rounds up carries into the exponent
}
