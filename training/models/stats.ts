/**
 * Model size and cost: parameter counts and multiply-accumulates (MACs) for one input image,
 * found by walking the layers of a tfjs-layers functional model with concrete shapes.
 * FLOPs = 2 * MACs. Counted: Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, Dense
 * (and nested models). Normalisation, activations, padding and merges cost no MACs here.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';

type Shape = (number | null)[];

interface SymbolicLike {
  id: number;
  shape: Shape;
}

interface NodeLike {
  inputTensors: SymbolicLike[];
  outputTensors: SymbolicLike[];
}

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  computeOutputShape(shape: Shape | Shape[]): Shape | Shape[];
  inboundNodes: NodeLike[];
}

export function countParams(model: LayersModel): number {
  return model.countParams();
}

export interface LayerCost {
  name: string;
  className: string;
  outputShape: number[];
  macs: number;
}

function pair(v: unknown): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  throw new Error(`expected a number or pair, got ${JSON.stringify(v)}`);
}

function layerMacs(layer: LayerLike, inShape: number[], outShape: number[]): number {
  const cfg = layer.getConfig();
  const cls = layer.getClassName();
  const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  switch (cls) {
    case 'Conv2D': {
      const [kh, kw] = pair(cfg.kernelSize);
      const [n, oh, ow, co] = outShape;
      return n * oh * ow * co * kh * kw * inShape[3];
    }
    case 'Conv2DTranspose': {
      // every input pixel scatters a kh x kw x co patch
      const [kh, kw] = pair(cfg.kernelSize);
      const [n, ih, iw, ci] = inShape;
      return n * ih * iw * ci * kh * kw * outShape[3];
    }
    case 'DepthwiseConv2D': {
      const [kh, kw] = pair(cfg.kernelSize);
      return prod(outShape) * kh * kw;
    }
    case 'SeparableConv2D': {
      const [kh, kw] = pair(cfg.kernelSize);
      const [n, oh, ow, co] = outShape;
      const mult = Number(cfg.depthMultiplier ?? 1);
      const mid = inShape[3] * mult;
      return n * oh * ow * mid * kh * kw + n * oh * ow * mid * co;
    }
    case 'Dense':
      return prod(outShape) * inShape[inShape.length - 1];
    default:
      return 0;
  }
}

/**
 * Per-layer MACs for one batch-1 input of h x w pixels. Nested models are expanded
 * (their layers are listed with the nested model's name as prefix).
 */
export function layerCosts(model: LayersModel, h: number, w: number): LayerCost[] {
  const shapes = new Map<number, number[]>();
  const inputs = model.inputs as unknown as SymbolicLike[];
  for (const t of inputs) {
    const s = t.shape;
    if (s.length !== 4) throw new Error(`macs: expected a 4-D NHWC input, got [${s.join(', ')}]`);
    shapes.set(t.id, [1, h, w, s[3] ?? 0]);
  }
  const costs: LayerCost[] = [];
  const ownNodes = new Set<unknown>();
  for (const layer of model.layers as unknown as LayerLike[]) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) {
      const ins = node.inputTensors.map((t) => shapes.get(t.id));
      if (ins.some((s) => s == null) || ownNodes.has(node)) continue; // a node of another model
      ownNodes.add(node);
      const inShapes = ins as number[][];
      const nested = (layer as unknown as { layers?: unknown }).layers;
      let outShapes: number[][];
      if (Array.isArray(nested)) {
        const inner = layerCosts(layer as unknown as LayersModel, inShapes[0][1], inShapes[0][2]);
        for (const c of inner) costs.push({ ...c, name: `${layer.name}/${c.name}` });
        const out = layer.computeOutputShape(inShapes.length === 1 ? inShapes[0] : inShapes);
        outShapes = (Array.isArray(out[0]) ? out : [out]) as number[][];
      } else {
        const out = layer.computeOutputShape(inShapes.length === 1 ? inShapes[0] : inShapes);
        outShapes = (Array.isArray(out[0]) ? out : [out]) as number[][];
        if (outShapes.some((s) => s.some((d) => d == null || !(d > 0)))) {
          throw new Error(`macs: layer ${layer.name} (${layer.getClassName()}) gives shape [${outShapes[0].join(', ')}] for a ${h}x${w} input`);
        }
        costs.push({ name: layer.name, className: layer.getClassName(), outputShape: outShapes[0], macs: layerMacs(layer, inShapes[0], outShapes[0]) });
      }
      node.outputTensors.forEach((t, i) => shapes.set(t.id, outShapes[i]));
    }
  }
  return costs;
}

/** Multiply-accumulates of one forward pass on a batch-1 h x w input. */
export function macs(model: LayersModel, h: number, w: number): number {
  return layerCosts(model, h, w).reduce((a, c) => a + c.macs, 0);
}

/** Output shape [1, H', W', C] of the model for a batch-1 h x w input. */
export function outputShapeFor(model: LayersModel, h: number, w: number): number[] {
  const costs = layerCosts(model, h, w);
  return costs[costs.length - 1]?.outputShape ?? [];
}
