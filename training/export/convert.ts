/**
 * tfjs LayersModel (NHWC) -> ONNX ModelProto (NCHW, dynamic N/H/W).
 *
 * Walks the functional graph through the layers' inbound nodes (so shared layers, residual
 * branches and nested models work), calling the emitter registered for each layer class.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { GraphBuilder, OPSET, encodeModel, type Dim, type IoSpec } from './onnx/builder';
import type { IModelProto } from './onnx/proto';
import { EMITTERS } from './registry';
import { UnsupportedLayerError, type EmitContext, type Emitter, type Layer, type LayerWeight, type Shape } from './emitters/types';

export interface ConvertOptions {
  /** ONNX graph input name (default "input"). */
  inputName?: string;
  /** ONNX graph output name (default "output"). */
  outputName?: string;
  /** Store weights as float16 (Cast to float32 inside the graph); inputs/outputs stay float32. */
  fp16?: boolean;
  /** Extra or replacement emitters by layer className. */
  emitters?: Readonly<Record<string, Emitter>>;
  /** Expose every top-level layer output as an extra graph output (to locate a divergence). */
  debugOutputs?: boolean;
  /** Stored in the ONNX file's metadata_props. */
  metadata?: Record<string, string>;
}

/** One top-level layer call and the ONNX value holding its (first) output. */
export interface TraceEntry {
  layerName: string;
  className: string;
  tensor: SymbolicTensor;
  value: string;
  rank: number;
}

export interface Converted {
  model: IModelProto;
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  trace: TraceEntry[];
  nodes: number;
  opset: number;
  /** Number of learned float parameters written. */
  parameters: number;
}

interface GraphNode {
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
}
type TensorWithIndex = SymbolicTensor & { nodeIndex: number; tensorIndex: number };
type LayerWithNodes = Layer & { inboundNodes: GraphNode[] };

const tensorKey = (t: SymbolicTensor) => `${t.sourceLayer.name}\u0000${(t as TensorWithIndex).nodeIndex}\u0000${(t as TensorWithIndex).tensorIndex}`;

/** Layer calls needed to compute `outputs`, in topological order. */
function topologicalCalls(outputs: SymbolicTensor[]): { layer: LayerWithNodes; nodeIndex: number }[] {
  const order: { layer: LayerWithNodes; nodeIndex: number }[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: SymbolicTensor) => {
    const layer = t.sourceLayer as LayerWithNodes;
    const nodeIndex = (t as TensorWithIndex).nodeIndex;
    const key = `${layer.name}\u0000${nodeIndex}`;
    const s = state.get(key);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`cycle in the model graph at layer "${layer.name}"`);
    state.set(key, 'visiting');
    if (layer.getClassName() !== 'InputLayer') {
      const node = layer.inboundNodes[nodeIndex];
      if (!node) throw new Error(`layer "${layer.name}" has no inbound node ${nodeIndex}`);
      for (const input of node.inputTensors) visit(input);
    }
    state.set(key, 'done');
    order.push({ layer, nodeIndex });
  };
  // Iterative deepening is not needed for the model sizes here; recursion depth = graph depth.
  for (const t of outputs) visit(t);
  return order;
}

/**
 * tfjs shapes with unknown dims as null. Some tfjs layers compute garbage for unknown dims
 * (stock Cropping2D gives null - n = -n), which must not be mistaken for a static size.
 */
function staticShape(shape: Shape): Shape {
  return shape.map((d) => (d == null || d <= 0 ? null : d));
}

function layerWeights(layer: Layer): Map<string, LayerWeight> {
  const out = new Map<string, LayerWeight>();
  for (const v of layer.weights) {
    const short = v.originalName.split('/').pop()!;
    const t = v.read();
    if (t.dtype !== 'float32') throw new Error(`weight ${v.name} of layer "${layer.name}" is ${t.dtype}, not float32`);
    out.set(short, { values: new Float32Array(t.dataSync() as Float32Array), shape: t.shape.slice() });
  }
  return out;
}

class Converter {
  readonly g = new GraphBuilder();
  readonly trace: TraceEntry[] = [];
  private readonly table: Readonly<Record<string, Emitter>>;
  private weightCache = new Map<Layer, Map<string, LayerWeight>>();
  parameters = 0;

  constructor(emitters?: Readonly<Record<string, Emitter>>) {
    this.table = { ...EMITTERS, ...emitters };
  }

  /** A layer's weights, read once per layer (a shared layer's weights are counted once). */
  weights(layer: Layer): Map<string, LayerWeight> {
    let w = this.weightCache.get(layer);
    if (!w) {
      w = layerWeights(layer);
      this.weightCache.set(layer, w);
      for (const v of w.values()) this.parameters += v.values.length;
    }
    return w;
  }

  emitGraph(model: LayersModel, inputValues: string[], prefix: string, depth: number): string[] {
    if (model.inputs.length !== inputValues.length) {
      throw new Error(`model "${model.name}" has ${model.inputs.length} inputs, got ${inputValues.length}`);
    }
    const values = new Map<string, string>();
    model.inputs.forEach((t, i) => values.set(tensorKey(t), inputValues[i]));
    for (const { layer, nodeIndex } of topologicalCalls(model.outputs)) {
      const className = layer.getClassName();
      if (className === 'InputLayer') {
        const t = layer.inboundNodes[nodeIndex].outputTensors[0];
        if (!values.has(tensorKey(t))) throw new Error(`model "${model.name}" uses input layer "${layer.name}" that is not one of its inputs`);
        continue;
      }
      const node = layer.inboundNodes[nodeIndex];
      const inputs = node.inputTensors.map((t) => {
        const v = values.get(tensorKey(t));
        if (v == null) throw new Error(`internal: no ONNX value for the input of "${layer.name}"`);
        return v;
      });
      const name = `${prefix}${layer.name}${nodeIndex > 0 ? `_call${nodeIndex}` : ''}`;
      const emitter = this.table[className];
      const unsupported = (what: string): never => {
        throw new UnsupportedLayerError(`${prefix}${layer.name}`, className, what);
      };
      if (!emitter) unsupported(`no ONNX emitter for layer class ${className} (supported: ${Object.keys(this.table).sort().join(', ')})`);
      // Read lazily: a nested model's own weights are read through its inner layers instead.
      const weights = () => this.weights(layer);
      const ctx: EmitContext = {
        g: this.g,
        layer,
        className,
        config: layer.getConfig(),
        inputs,
        inputShapes: node.inputTensors.map((t) => staticShape(t.shape as Shape)),
        outputShapes: node.outputTensors.map((t) => staticShape(t.shape as Shape)),
        name,
        weight: (short) => weights().get(short) ?? unsupported(`missing weight "${short}" (has: ${[...weights().keys()].join(', ') || 'none'})`),
        hasWeight: (short) => weights().has(short),
        unsupported,
        emitModel: (inner, innerInputs) => this.emitGraph(inner, innerInputs, `${name}/`, depth + 1),
      };
      const outs = emitter(ctx);
      if (outs.length !== node.outputTensors.length) {
        throw new Error(`emitter for ${className} ("${layer.name}") returned ${outs.length} outputs, the layer has ${node.outputTensors.length}`);
      }
      node.outputTensors.forEach((t, i) => values.set(tensorKey(t), outs[i]));
      if (depth === 0) {
        this.trace.push({ layerName: layer.name, className, tensor: node.outputTensors[0], value: outs[0], rank: node.outputTensors[0].shape.length });
      }
    }
    return model.outputs.map((t) => values.get(tensorKey(t))!);
  }
}

/** Symbolic NCHW dims for a tfjs NHWC shape (dynamic dims get names). */
function nchwDims(shape: Shape, names: [string, string, string]): Dim[] {
  if (shape.length !== 4) return shape.map((d, i) => d ?? (i === 0 ? names[0] : `d${i}`));
  const [n, h, w, c] = shape;
  return [n ?? names[0], c, h ?? names[1], w ?? names[2]];
}

/** Converts a single-input, single-output tfjs LayersModel to ONNX. */
export function convertToOnnx(model: LayersModel, opts: ConvertOptions = {}): Converted {
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'output';
  if (inputName === outputName) throw new Error(`input and output names must differ (both "${inputName}")`);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`the exporter handles models with one input and one output; "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs`);
  }
  const inShape = model.inputs[0].shape as Shape;
  const outShape = model.outputs[0].shape as Shape;
  if (inShape.length !== 4) throw new Error(`model input must be a 4-D NHWC image tensor, got shape [${inShape.join(', ')}]`);
  const conv = new Converter(opts.emitters);
  conv.g.reserve(inputName);
  conv.g.reserve(outputName);
  let [out] = conv.emitGraph(model, [inputName], '', 0);
  if (out === inputName) {
    out = conv.g.op('Identity', [inputName], {}, `${outputName}/identity`);
  }
  conv.g.rename(out, outputName);
  for (const e of conv.trace) if (e.value === out) e.value = outputName;

  const inputs: IoSpec[] = [{ name: inputName, dims: nchwDims(inShape, ['N', 'H', 'W']) }];
  const outputs: IoSpec[] = [{ name: outputName, dims: nchwDims(outShape, ['N', 'H_out', 'W_out']) }];
  const extraOutputs = opts.debugOutputs
    ? [...new Set(conv.trace.map((e) => e.value))].filter((v) => v !== inputName && v !== outputName)
    : undefined;
  const onnxModel = conv.g.toModel({
    inputs,
    outputs,
    fp16: opts.fp16,
    extraOutputs,
    metadata: opts.metadata,
    graphName: model.name,
    docString: `Exported by Ganvas from the tfjs model "${model.name}". Tensors are NCHW float32.`,
  });
  return {
    model: onnxModel,
    bytes: encodeModel(onnxModel),
    inputName,
    outputName,
    trace: conv.trace,
    nodes: onnxModel.graph!.node!.length,
    opset: OPSET,
    parameters: conv.parameters,
  };
}
