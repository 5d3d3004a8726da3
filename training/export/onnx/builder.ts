/**
 * A small ONNX graph builder: unique value names, nodes, float/int64 initializers, and the
 * final ModelProto (optionally with float16-stored weights that are Cast back to float32).
 */
import { AttrType, DataType, onnx, type IAttributeProto, type IModelProto, type INodeProto, type ITensorProto } from './proto';
import { toFloat16Bytes } from './float16';

export const OPSET = 17;
/** ONNX IR version 8 goes with opset 17 (ONNX 1.12+). */
export const IR_VERSION = 8;

export type Attr = Omit<IAttributeProto, 'name'>;
export const attr = {
  int: (i: number): Attr => ({ type: AttrType.INT, i }),
  ints: (ints: number[]): Attr => ({ type: AttrType.INTS, ints }),
  float: (f: number): Attr => ({ type: AttrType.FLOAT, f }),
  floats: (floats: number[]): Attr => ({ type: AttrType.FLOATS, floats }),
  str: (s: string): Attr => ({ type: AttrType.STRING, s: new TextEncoder().encode(s) }),
};

interface Initializer {
  tensor: ITensorProto;
  /** Learned weights (converted to float16 in the fp16 variant); structural constants stay as they are. */
  weight: boolean;
}

export type Dim = number | string | null;
export interface IoSpec {
  name: string;
  dims: Dim[];
}

export interface ModelOptions {
  inputs: IoSpec[];
  outputs: IoSpec[];
  /** Store learned float weights as float16 and Cast them to float32 at the start of the graph. */
  fp16?: boolean;
  /** Also expose these values as graph outputs (debug model for locating a divergence). */
  extraOutputs?: string[];
  metadata?: Record<string, string>;
  docString?: string;
  graphName?: string;
}

export class GraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();

  /** Reserve `base` (or `base_1`, `base_2`, ...) as a value/node name. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`ONNX value name "${name}" is already used`);
    this.used.add(name);
  }

  /** Adds a node and returns its output names. `outputs`: names to use (reserved) or a count. */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, opts: { name?: string; outputs?: string[] | number } = {}): string[] {
    const base = opts.name ?? opType;
    const outputs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, i) => this.unique(i === 0 ? base : `${base}:${i}`));
    this.nodes.push({
      opType,
      name: this.unique(`${base}/${opType}`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([name, a]) => ({ name, ...a })),
    });
    return outputs;
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, name?: string): string {
    return this.node(opType, inputs, attrs, { name })[0];
  }

  float(name: string, data: Float32Array | number[], dims: number[], weight = false): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(', ')}]`);
    const n = this.unique(name);
    const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push({ tensor: { name: n, dims, dataType: DataType.FLOAT, rawData: raw }, weight });
    return n;
  }

  int64(name: string, data: number[], dims: number[] = [data.length]): string {
    const n = this.unique(name);
    this.initializers.push({ tensor: { name: n, dims, dataType: DataType.INT64, int64Data: data }, weight: false });
    return n;
  }

  /** Renames a value everywhere (producer outputs and consumer inputs); `to` must have been reserved. */
  rename(from: string, to: string): void {
    for (const node of this.nodes) {
      node.output = node.output!.map((o) => (o === from ? to : o));
      node.input = node.input!.map((i) => (i === from ? to : i));
    }
  }

  toModel(opts: ModelOptions): IModelProto {
    const valueInfo = (io: IoSpec) => ({
      name: io.name,
      type: {
        tensorType: {
          elemType: DataType.FLOAT,
          shape: { dim: io.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : d == null ? {} : { dimParam: d })) },
        },
      },
    });
    const castNodes: INodeProto[] = [];
    const initializer = this.initializers.map(({ tensor, weight }) => {
      if (!opts.fp16 || !weight) return tensor;
      const f32 = new Float32Array(tensor.rawData!.slice().buffer);
      const halfName = `${tensor.name}__fp16`;
      castNodes.push({ opType: 'Cast', name: `${tensor.name}/Cast`, input: [halfName], output: [tensor.name!], attribute: [{ name: 'to', type: AttrType.INT, i: DataType.FLOAT }] });
      return { name: halfName, dims: tensor.dims, dataType: DataType.FLOAT16, rawData: toFloat16Bytes(f32) };
    });
    const extra = (opts.extraOutputs ?? []).map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } }));
    return {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'ganvas',
      producerVersion: '0.1.0',
      docString: opts.docString ?? '',
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: opts.graphName ?? 'ganvas',
        node: [...castNodes, ...this.nodes],
        initializer,
        input: opts.inputs.map(valueInfo),
        output: [...opts.outputs.map(valueInfo), ...extra],
      },
    };
  }
}

export function encodeModel(model: IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
