/**
 * The `native` tfjs backend: tfjs-backend-wasm with its heavy kernels (convolutions, their
 * gradients, matrix products) executed by onnxruntime-node's CPU kernels (MLAS: AVX2/AVX-512,
 * every core) through the synchronous native binding (ort.ts).
 *
 * 'native' is registered as a second name for the *same* BackendWasm instance: every tensor lives
 * on the wasm heap, every other kernel is the wasm one, and switching between 'wasm' and 'native'
 * moves no data. A native kernel
 *   1. computes the geometry with tfjs's own backend_util (same padding rules as every backend),
 *   2. takes a cached onnxruntime session for (op, geometry, attributes) (graphs.ts),
 *   3. allocates its output tensor on the wasm heap *first*, then takes Float32Array views of the
 *      inputs and the output (allocating can grow the heap and detach older views),
 *   4. runs the session with those views: onnxruntime reads the inputs and writes the output in
 *      place, with no copies on either side.
 * Only float32 is accepted (the only dtype tfjs convolutions use); anything else is refused with
 * the op's name. If a session cannot be created for a shape, the call says so once (op and shape)
 * and runs the plain wasm kernel instead, unless `native` was asked for explicitly (strict).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadOrt, SessionCache, type SessionSpec } from './ort';
import {
  ACTIVATIONS,
  convBackpropFilterGraph,
  convBackpropInputGraph,
  convForwardGraph,
  depthwiseBackpropFilterConvGraph,
  depthwiseBackpropFilterGraph,
  matMulGraph,
  NO_EPILOGUE,
  reduceGraph,
  type Activation,
  type ConvGeom,
  type Epilogue,
  type FilterGradMethod,
} from './graphs';

type Info = tf.TensorInfo;
type Inputs = Record<string, Info | undefined>;
type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Inputs; backend: BackendWasm; attrs: Attrs };

export const NATIVE_BACKEND = 'native';

interface NativeState {
  cache: SessionCache;
  /** true when `native` was asked for explicitly: a failing session is an error, not a fallback */
  strict: boolean;
  /** Conv2DBackpropFilter: 'auto' picks per shape class (see pickFilterGradMethod) */
  filterGrad: FilterGradMethod | 'auto';
  /** depthwise forward / input gradient: 'auto' picks per op and stride (see depthwiseOnWasm) */
  depthwise: DepthwisePlacement;
  /** DepthwiseConv2dNativeBackpropFilter: 'auto' picks by channel count (see pickDepthwiseFilterGradMethod) */
  depthwiseFilterGrad: DepthwiseFilterGradMethod | 'auto';
  warned: Set<string>;
  fallbacks: number;
  log: (line: string) => void;
}

let state: NativeState | null = null;

function nativeState(): NativeState {
  if (!state) throw new Error('the native backend is not initialised (call registerNativeBackend first)');
  return state;
}

/** Session cache statistics (the leak check reads these). */
export function nativeStats(): { sessions: number; created: number; released: number; runs: number; fallbacks: number } {
  const s = nativeState();
  return { sessions: s.cache.size, created: s.cache.created, released: s.cache.released, runs: s.cache.runs, fallbacks: s.fallbacks };
}

export function setNativeStrict(strict: boolean): void {
  nativeState().strict = strict;
}

export type DepthwisePlacement = 'auto' | 'native' | 'wasm';
export type DepthwiseFilterGradMethod = 'taps' | 'conv';

/** Forces one depthwise filter-gradient formulation (bench and tests); 'auto' restores the measured choice. */
export function setDepthwiseFilterGradMethod(method: DepthwiseFilterGradMethod | 'auto'): void {
  nativeState().depthwiseFilterGrad = method;
}

/**
 * The depthwise filter gradient per tap (Slice, Mul, ReduceSum over the pixels) or as one grouped
 * Conv (depthwiseBackpropFilterConvGraph). Best-of-20 wall times per call on this 2-core machine
 * (session 8): the grouped Conv won with few channels ([1,128,128,16]: 1.65 vs 5.08 ms; [1,64,64,32]
 * stride 2: 0.34 vs 0.43; batch 3 with 8 channels x3: 0.11 vs 3.5), the taps with 64 or more
 * ([1,32,32,128]: 0.80 vs 1.52; [1,128,128,64]: 9.3 vs 23.6); level at 32 channels, batch 4.
 */
export function pickDepthwiseFilterGradMethod(c: { ci: number; co: number }): DepthwiseFilterGradMethod {
  return c.ci * c.co <= 32 ? 'conv' : 'taps';
}

/** Forces where depthwise forward passes and input gradients run (bench and tests); 'auto' restores the measured choice. */
export function setDepthwisePlacement(placement: DepthwisePlacement): void {
  nativeState().depthwise = placement;
}

/**
 * Depthwise convolutions are memory-bound (9 MACs per output for 3x3): XNNPACK's NHWC kernel on
 * the wasm heap beat onnxruntime's NCHW one, whose graph transposes the input and output, 2-5x
 * for the forward pass (tiny-generator shapes, 128 px), and wasm's input gradient (a forward
 * depthwise conv of the zero-padded dy, wasm-kernels.ts) was 1.3-1.5x faster at stride 1 and level
 * at stride 2 (tfjs kernel profile of a tiny-generator CycleGAN step: depthwise forward 415 -> 204
 * ms, input gradient 380 -> 188 ms). Dilated ones stay native. The filter gradient stays native
 * (wasm's per-tap im2col was 2-4x slower, a JS loop 1-2x slower).
 */
export function depthwiseOnWasm(op: string, attrs: Attrs): boolean {
  const placement = nativeState().depthwise;
  if (placement !== 'auto') return placement === 'wasm';
  const pair = (v: unknown): [number, number] => (typeof v === 'number' ? [v, v] : ((v ?? [1, 1]) as [number, number]));
  const [dh, dw] = pair(attrs.dilations);
  if (dh !== 1 || dw !== 1) return false;
  if (op === tf.DepthwiseConv2dNativeBackpropInput) {
    const [sh, sw] = pair(attrs.strides);
    return sh === 1 && sw === 1;
  }
  return true;
}

/** Runs plain wasm's own kernel for `op` on the same arguments (same backend instance, no copies). */
function runWasmKernel(op: string, args: KernelArgs, missing: string): Info {
  const wasm = tf.getKernel(op, 'wasm');
  if (!wasm) throw new Error(missing);
  return wasm.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
}

function onWasmIfDepthwise(op: string, impl: (args: KernelArgs) => Info): (args: KernelArgs) => Info {
  return (args) => {
    if (!depthwiseOnWasm(op, args.attrs)) return impl(args);
    return runWasmKernel(op, args, `native ${op}: wasm has no ${op} kernel`);
  };
}

/** Forces one filter-gradient formulation (bench and tests); 'auto' restores the measured choice. */
export function setFilterGradMethod(method: FilterGradMethod | 'auto'): void {
  nativeState().filterGrad = method;
}

/**
 * The filter-gradient formulation per shape class, from bench:engine's comparison on a quiet machine
 * (docs/bench-engine.md, "Filter gradient", 10:12 UTC session 6): im2col + SGEMM won every class with
 * at least 8 input and output channels, small maps included (3x3 128->128 at 32x32, a ResNet block:
 * 6.7 vs 20.9 ms; PatchGAN 4x4 s2 64->128: 9.7 vs 11.8 ms; 3x3 s2 32->64 at 64: 1.3 vs 2.8 ms). The
 * swapped-axes Conv wins for few input channels (a 7x7 stem on RGB: 147 short columns per pixel,
 * 5.1 vs 17.9 ms), few output channels, and im2col buffers too large to materialise.
 * (Session 6 picked the Conv for every map under 4096 pixels, against its own table.)
 */
export function pickFilterGradMethod(c: ConvGeom): FilterGradMethod {
  const p = c.n * c.oh * c.ow;
  // a 1x1 filter's gradient is one matrix product x^T dy: im2col copies nothing, while the
  // swapped-axes Conv becomes a conv with one input channel and an oh x ow kernel (10 ms instead
  // of well under 1 ms for a 128->128 1x1 at 32x32)
  if (c.kh * c.kw === 1) return 'im2col';
  // few output channels at stride 1 (a generator's RGB head): the taps of dy, not of x (session 12,
  // medians of 6 interleaved calls, one thread: 7x7 32->3 at 128 px 3.2-4.3 ms vs 15 for the
  // swapped-axes Conv and 39-44 for x's im2col, at 256 px 12-18 vs 107-119; 3x3 16->3 at 256 px 2.8-4.2
  // vs 15-18; 3x3 32->8 at 128 px 2.1 vs 8.5 for im2col); x's im2col stays ahead from co = ci / 2
  // (3x3 64->32 at 128 px: 12.7 vs 15.1)
  const unitStride = c.sh === 1 && c.sw === 1 && c.dh === 1 && c.dw === 1;
  if (unitStride && (c.co < 8 || c.co * 4 <= c.ci)) return 'dycol';
  // few output channels otherwise: the Gemm's [taps*ci, co] result is a skinny product MLAS runs
  // poorly (210 ms vs 38 ms for the swapped-axes Conv)
  if (c.co < 8 || c.ci < 8) return 'conv';
  const im2colFloats = c.kh * c.kw * p * c.ci;
  return im2colFloats > 64 * 1024 * 1024 ? 'conv' : 'im2col';
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function requireFloat32(op: string, inputs: Inputs): void {
  for (const [name, info] of Object.entries(inputs)) {
    if (info && info.dtype !== 'float32') {
      throw new Error(`native ${op}: input '${name}' is ${info.dtype}; only float32 is supported`);
    }
  }
}

function requireNhwc(op: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`native ${op}: only NHWC is supported, got dataFormat ${String(dataFormat)}`);
  }
}

function shapeText(inputs: Inputs): string {
  return Object.entries(inputs)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} [${v!.shape.join(',')}]`)
    .join(', ');
}

/**
 * Runs the session for `key` (built by `build` on a miss) on `order`ed inputs into a new
 * float32 output of `outShape`. Falls back to the wasm kernel when the session cannot be made
 * and the backend was not asked for explicitly.
 */
function runNative(op: string, args: KernelArgs, key: string, build: () => SessionSpec, order: Info[], outShape: number[]): Info {
  const s = nativeState();
  const { backend } = args;
  let entry;
  try {
    entry = s.cache.get(key, build);
  } catch (err) {
    const msg = `${(err as Error).message} (inputs ${shapeText(args.inputs)})`;
    if (s.strict) throw new Error(msg);
    s.fallbacks++;
    if (!s.warned.has(key)) {
      s.warned.add(key);
      s.log(`${msg}; running plain wasm's ${op} for this shape instead`);
    }
    return runWasmKernel(op, args, `${msg}; and wasm has no ${op} kernel to fall back to`);
  }
  const out = backend.makeOutput(outShape, 'float32');
  if (sizeOf(outShape) === 0) return out;
  // views only after the output exists: makeOutput may have grown (detached) the heap
  const outView = backend.typedArrayFromHeap(out) as Float32Array;
  if (order.some((i) => sizeOf(i.shape) === 0)) {
    outView.fill(0);
    return out;
  }
  const views = order.map((i) => ({ data: backend.typedArrayFromHeap(i) as Float32Array, dims: i.shape }));
  s.cache.run(entry, views, [{ data: outView, dims: outShape }]);
  return out;
}

function geomOf(info: backend_util.Conv2DInfo, depthwise: boolean): ConvGeom {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    co: depthwise ? info.outChannels / info.inChannels : info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    bottom: info.padInfo.bottom,
    left: info.padInfo.left,
    right: info.padInfo.right,
    oh: info.outHeight,
    ow: info.outWidth,
  };
}

function epilogueOf(op: string, inputs: Inputs, attrs: Attrs): Epilogue {
  const activation = (attrs.activation ?? 'linear') as Activation;
  if (!ACTIVATIONS.includes(activation)) throw new Error(`native ${op}: unsupported activation '${String(activation)}'`);
  const prelu = inputs.preluActivationWeights ?? null;
  if (activation === 'prelu' && !prelu) throw new Error(`native ${op}: prelu activation without preluActivationWeights`);
  return {
    bias: inputs.bias ? inputs.bias.shape.slice() : null,
    activation,
    prelu: activation === 'prelu' ? prelu!.shape.slice() : null,
    leakyAlpha: Number(attrs.leakyreluAlpha ?? 0.2),
  };
}

const keyOf = (op: string, ...parts: unknown[]): string => `${op} ${JSON.stringify(parts)}`;

function convForward(op: string, depthwise: boolean, fused: boolean) {
  return (args: KernelArgs): Info => {
    const { inputs, attrs } = args;
    const x = inputs.x!;
    const filter = inputs.filter!;
    requireFloat32(op, inputs);
    requireNhwc(op, attrs.dataFormat);
    const dil = (attrs.dilations ?? [1, 1]) as number | [number, number];
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides as number | [number, number],
      dil,
      attrs.pad as 'same' | 'valid' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
      depthwise,
    );
    const c = geomOf(info, depthwise);
    const e = fused ? epilogueOf(op, inputs, attrs) : NO_EPILOGUE;
    const order = [x, filter];
    if (e.bias) order.push(inputs.bias!);
    if (e.activation === 'prelu') order.push(inputs.preluActivationWeights!);
    return runNative(op, args, keyOf(op, c, e), () => convForwardGraph(op, c, depthwise, e), order, [c.n, c.oh, c.ow, info.outChannels]);
  };
}

function convBackpropInput(op: string, depthwise: boolean) {
  return (args: KernelArgs): Info => {
    const { inputs, attrs } = args;
    const dy = inputs.dy!;
    const filter = inputs.filter!;
    requireFloat32(op, inputs);
    requireNhwc(op, attrs.dataFormat);
    const inputShape = attrs.inputShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides as number | [number, number],
      (attrs.dilations ?? [1, 1]) as number | [number, number],
      attrs.pad as 'same' | 'valid' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
      depthwise,
    );
    const c = geomOf(info, depthwise);
    if (dy.shape[1] !== c.oh || dy.shape[2] !== c.ow) {
      throw new Error(`native ${op}: dy [${dy.shape.join(',')}] does not match the conv output ${c.oh}x${c.ow}`);
    }
    return runNative(op, args, keyOf(op, c), () => convBackpropInputGraph(op, c, depthwise), [dy, filter], inputShape.slice());
  };
}

function convBackpropFilter(args: KernelArgs): Info {
  const op = tf.Conv2DBackpropFilter;
  const { inputs, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  requireFloat32(op, inputs);
  requireNhwc(op, attrs.dataFormat);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const c = geomOf(info, false);
  const s = nativeState();
  const method = s.filterGrad === 'auto' ? pickFilterGradMethod(c) : s.filterGrad;
  return runNative(op, args, keyOf(op, c, method), () => convBackpropFilterGraph(op, c, method), [x, dy], filterShape.slice());
}

function depthwiseBackpropFilter(args: KernelArgs): Info {
  const op = tf.DepthwiseConv2dNativeBackpropFilter;
  const { inputs, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  requireFloat32(op, inputs);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides as number | [number, number],
    (attrs.dilations ?? [1, 1]) as number | [number, number],
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    true,
  );
  const c = geomOf(info, true);
  const s = nativeState();
  const method = s.depthwiseFilterGrad === 'auto' ? pickDepthwiseFilterGradMethod(c) : s.depthwiseFilterGrad;
  return runNative(op, args, keyOf(op, c, method), () => (method === 'conv' ? depthwiseBackpropFilterConvGraph(op, c) : depthwiseBackpropFilterGraph(op, c)), [x, dy], filterShape.slice());
}

function matMul(op: string, fused: boolean) {
  return (args: KernelArgs): Info => {
    const { inputs, attrs } = args;
    const a = inputs.a!;
    const b = inputs.b!;
    requireFloat32(op, inputs);
    if (a.shape.length < 2 || b.shape.length < 2) throw new Error(`native ${op}: inputs must have rank >= 2, got [${a.shape}] and [${b.shape}]`);
    const transA = Boolean(attrs.transposeA);
    const transB = Boolean(attrs.transposeB);
    const k1 = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    const k2 = transB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
    if (k1 !== k2) throw new Error(`native ${op}: inner dimensions ${k1} and ${k2} of [${a.shape}] and [${b.shape}] differ`);
    const m = transA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const n = transB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const batch = backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const out = [...batch, m, n];
    const e = fused ? epilogueOf(op, inputs, attrs) : NO_EPILOGUE;
    const g = { a: a.shape.slice(), b: b.shape.slice(), transA, transB, out };
    const order = [a, b];
    if (e.bias) order.push(inputs.bias!);
    if (e.activation === 'prelu') order.push(inputs.preluActivationWeights!);
    return runNative(op, args, keyOf(op, g, e), () => matMulGraph(op, g, e), order, out);
  };
}

/**
 * Below this many elements a reduction stays on wasm: the onnxruntime call (~0.02 ms) would cost
 * more than the work (scalar losses, per-image statistics of small maps).
 */
export const NATIVE_REDUCE_MIN_SIZE = 32 * 1024;

/**
 * Sum / Mean of float32 tensors with at least NATIVE_REDUCE_MIN_SIZE elements (InstanceNorm's
 * statistics and their gradients, conv bias gradients): onnxruntime reduces in place on both
 * cores, where tfjs-wasm first transposes the reduced axes to the end on one. Everything else
 * (other dtypes, small tensors) runs the wasm kernel.
 */
function reduce(op: 'Sum' | 'Mean') {
  return (args: KernelArgs): Info => {
    const { inputs, attrs } = args;
    const x = inputs.x!;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    if (x.dtype !== 'float32' || sizeOf(x.shape) < NATIVE_REDUCE_MIN_SIZE || axes.length === 0) {
      return runWasmKernel(op, args, `native ${op}: wasm has no ${op} kernel`);
    }
    const keepDims = Boolean(attrs.keepDims);
    const [reduced] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const outShape = keepDims ? backend_util.expandShapeToKeepDim(reduced, axes) : reduced;
    const sorted = [...axes].sort((a, b) => a - b);
    return runNative(op, args, keyOf(op, x.shape, sorted, keepDims), () => reduceGraph(op, x.shape.slice(), sorted, keepDims, outShape), [x], outShape);
  };
}

type KernelImpl = (args: KernelArgs) => Info;

/** The kernels the native backend runs on onnxruntime; every other kernel is tfjs-backend-wasm's. */
export const NATIVE_KERNELS: Record<string, KernelImpl> = {
  [tf.Conv2D]: convForward(tf.Conv2D, false, false),
  [tf.FusedConv2D]: convForward(tf.FusedConv2D, false, true),
  [tf.DepthwiseConv2dNative]: onWasmIfDepthwise(tf.DepthwiseConv2dNative, convForward(tf.DepthwiseConv2dNative, true, false)),
  [tf.FusedDepthwiseConv2D]: onWasmIfDepthwise(tf.FusedDepthwiseConv2D, convForward(tf.FusedDepthwiseConv2D, true, true)),
  [tf.Conv2DBackpropInput]: convBackpropInput(tf.Conv2DBackpropInput, false),
  [tf.Conv2DBackpropFilter]: convBackpropFilter,
  [tf.DepthwiseConv2dNativeBackpropInput]: onWasmIfDepthwise(tf.DepthwiseConv2dNativeBackpropInput, convBackpropInput(tf.DepthwiseConv2dNativeBackpropInput, true)),
  [tf.DepthwiseConv2dNativeBackpropFilter]: depthwiseBackpropFilter,
  [tf.BatchMatMul]: matMul(tf.BatchMatMul, false),
  [tf._FusedMatMul]: matMul(tf._FusedMatMul, true),
  [tf.Sum]: reduce('Sum'),
  [tf.Mean]: reduce('Mean'),
};

export interface NativeOptions {
  strict?: boolean;
  threads?: number;
  /** receives the one-time message of a shape that fell back to wasm */
  log?: (line: string) => void;
}

/**
 * Registers the 'native' backend: the wasm backend's instance under a second name, with every
 * wasm kernel copied and the kernels above replacing the heavy ones. The wasm backend must be
 * initialised first (initBackend does that). Idempotent; throws with the reason when
 * onnxruntime-node is unusable.
 */
export function registerNativeBackend(opts: NativeOptions = {}): void {
  const load = loadOrt();
  if (!load.ok) throw new Error(`the native backend needs onnxruntime-node: ${load.why}`);
  const wasm = tf.findBackend('wasm') as BackendWasm | null;
  if (!wasm) throw new Error('the native backend needs the wasm backend initialised first');
  if (!state) {
    state = {
      cache: new SessionCache(load.ort, 256, opts.threads),
      strict: opts.strict ?? false,
      filterGrad: 'auto',
      depthwise: 'auto',
      depthwiseFilterGrad: 'auto',
      warned: new Set(),
      fallbacks: 0,
      log: opts.log ?? ((line) => console.warn(line)),
    };
  } else {
    if (opts.strict != null) state.strict = opts.strict;
    if (opts.log) state.log = opts.log;
  }
  for (const k of tf.getKernelsForBackend('wasm')) {
    if (NATIVE_KERNELS[k.kernelName] || tf.getKernel(k.kernelName, NATIVE_BACKEND)) continue;
    tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  }
  for (const [kernelName, impl] of Object.entries(NATIVE_KERNELS)) {
    if (tf.getKernel(kernelName, NATIVE_BACKEND)) continue;
    tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc: impl as unknown as tf.KernelFunc });
  }
  if (!tf.findBackendFactory(NATIVE_BACKEND)) tf.registerBackend(NATIVE_BACKEND, () => tf.findBackend('wasm')!, 0);
}

/** onnxruntime threads of every session from now on (cached sessions are released when it changes). */
export function setNativeThreads(threads: number): void {
  nativeState().cache.setThreads(threads);
}

/** onnxruntime threads of the native backend's sessions. */
export function nativeThreadCount(): number {
  return nativeState().cache.threads;
}

/** Releases every cached session (tests; a process exit does this anyway). */
export function releaseNativeSessions(): void {
  state?.cache.clear();
}
