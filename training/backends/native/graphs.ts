/**
 * One small ONNX graph per tfjs kernel call shape, run by onnxruntime's CPU kernels (MLAS).
 * tfjs tensors are NHWC; ONNX Conv is NCHW, so the layout transposes live inside the graph
 * (onnxruntime's NCHWc optimizer folds the input transpose into its own reorder), and every
 * graph reads and writes tfjs's layout directly.
 *
 * Pure functions: geometry in, model bytes and I/O names out. Kernels (kernels.ts) compute the
 * geometry with tfjs's own backend_util.computeConv2DInfo, so padding rules are tfjs's.
 */
import { GraphBuilder, attr, encodeModel } from '../../export/onnx/builder';
import type { SessionSpec } from './ort';

/** Convolution geometry in tfjs terms (NHWC), padding already resolved to explicit pixels. */
export interface ConvGeom {
  n: number;
  h: number;
  w: number;
  ci: number;
  /** output channels (regular conv) or the depth multiplier (depthwise) */
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
  oh: number;
  ow: number;
}

export type Activation = 'linear' | 'relu' | 'relu6' | 'prelu' | 'leakyrelu' | 'sigmoid' | 'elu';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'sigmoid', 'elu'];

export interface Epilogue {
  /** shape of the bias input, or null for none */
  bias: number[] | null;
  activation: Activation;
  /** shape of the prelu weights input (activation 'prelu') */
  prelu: number[] | null;
  leakyAlpha: number;
}

export const NO_EPILOGUE: Epilogue = { bias: null, activation: 'linear', prelu: null, leakyAlpha: 0.2 };

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

function spec(op: string, g: GraphBuilder, inputs: { name: string; dims: number[] }[], output: number[]): SessionSpec {
  const model = encodeModel(g.toModel({ inputs, outputs: [{ name: 'y', dims: output }], graphName: op }));
  return { op, model, inputs: inputs.map((i) => i.name), outputs: ['y'] };
}

/** Appends an activation (not prelu) to `v`; returns the new value name. */
function activation(g: GraphBuilder, v: string, e: Epilogue): string {
  switch (e.activation) {
    case 'linear':
    case 'prelu':
      return v;
    case 'relu':
      return g.op('Relu', [v]);
    case 'relu6':
      return g.op('Clip', [v, g.float('zero', [0], []), g.float('six', [6], [])]);
    case 'sigmoid':
      return g.op('Sigmoid', [v]);
    case 'elu':
      return g.op('Elu', [v], { alpha: attr.float(1) });
    case 'leakyrelu':
      return g.op('LeakyRelu', [v], { alpha: attr.float(e.leakyAlpha) });
  }
}

/** Renames the last node's output to 'y' (the graph output). */
function finish(g: GraphBuilder, v: string): void {
  g.reserve('y');
  g.rename(v, 'y');
}

function epilogueInputs(e: Epilogue): { name: string; dims: number[] }[] {
  const out: { name: string; dims: number[] }[] = [];
  if (e.bias) out.push({ name: 'b', dims: e.bias });
  if (e.activation === 'prelu') {
    if (!e.prelu) throw new Error('prelu activation without prelu weights');
    out.push({ name: 'p', dims: e.prelu });
  }
  return out;
}

/**
 * Conv2D / FusedConv2D / DepthwiseConv2dNative / FusedDepthwiseConv2D: y = act(conv(x, W) + b).
 * A per-channel bias goes into the Conv node and the activation right after it (onnxruntime fuses
 * both); a bias of any other shape and prelu are applied in NHWC after the output transpose.
 */
export function convForwardGraph(op: string, c: ConvGeom, depthwise: boolean, e: Epilogue): SessionSpec {
  const g = new GraphBuilder();
  for (const n of ['x', 'w', 'b', 'p']) g.reserve(n);
  const outC = depthwise ? c.ci * c.co : c.co;
  const xt = g.op('Transpose', ['x'], { perm: attr.ints(NHWC_TO_NCHW) });
  let wt: string;
  if (depthwise) {
    const t = g.op('Transpose', ['w'], { perm: attr.ints([2, 3, 0, 1]) }); // [ci, mult, kh, kw]
    wt = g.op('Reshape', [t, g.int64('wshape', [outC, 1, c.kh, c.kw])]);
  } else {
    wt = g.op('Transpose', ['w'], { perm: attr.ints([3, 2, 0, 1]) }); // [co, ci, kh, kw]
  }
  const channelBias = e.bias != null && e.bias.length === 1 && e.bias[0] === outC;
  const convIn = [xt, wt];
  if (channelBias) convIn.push('b');
  let y = g.op('Conv', convIn, {
    kernel_shape: attr.ints([c.kh, c.kw]),
    strides: attr.ints([c.sh, c.sw]),
    dilations: attr.ints([c.dh, c.dw]),
    pads: attr.ints([c.top, c.left, c.bottom, c.right]),
    group: attr.int(depthwise ? c.ci : 1),
  });
  // tfjs's geometry rules: with a numeric pad tfjs 4.22 computes both output sizes with the
  // height's stride and kernel, so its output can be a crop of the true convolution.
  const natH = Math.floor((c.h + c.top + c.bottom - (c.kh - 1) * c.dh - 1) / c.sh) + 1;
  const natW = Math.floor((c.w + c.left + c.right - (c.kw - 1) * c.dw - 1) / c.sw) + 1;
  if (natH < c.oh || natW < c.ow) throw new Error(`tfjs expects ${c.oh}x${c.ow} outputs, the convolution has ${natH}x${natW}`);
  if (natH !== c.oh || natW !== c.ow) {
    y = g.op('Slice', [y, g.int64('starts', [0, 0]), g.int64('ends', [c.oh, c.ow]), g.int64('axes', [2, 3])]);
  }
  const lateBias = e.bias != null && !channelBias;
  if (!lateBias) y = activation(g, y, e);
  y = g.op('Transpose', [y], { perm: attr.ints(NCHW_TO_NHWC) });
  if (lateBias) {
    y = g.op('Add', [y, 'b']);
    y = activation(g, y, e);
  }
  if (e.activation === 'prelu') y = g.op('PRelu', [y, 'p']);
  finish(g, y);
  const wShape = [c.kh, c.kw, c.ci, c.co];
  return spec(op, g, [{ name: 'x', dims: [c.n, c.h, c.w, c.ci] }, { name: 'w', dims: wShape }, ...epilogueInputs(e)], [c.n, c.oh, c.ow, outC]);
}

/** Padding and output_padding of a ConvTranspose that produces exactly `size` from `out` along one axis. */
function transposePads(size: number, out: number, k: number, s: number, d: number, before: number, after: number): { before: number; after: number; extra: number } {
  const base = s * (out - 1) + (k - 1) * d + 1 - before - after;
  let extra = size - base;
  let end = after;
  if (extra < 0) {
    end += extra;
    extra = 0;
  }
  if (end < 0 || before < 0) throw new Error(`cannot express this padding as a ConvTranspose (before ${before}, after ${after})`);
  // onnxruntime requires output_padding < max(stride, dilation); tfjs's numeric-pad geometry with
  // unequal strides can ask for more (see convForwardGraph)
  if (extra >= Math.max(s, d)) throw new Error(`cannot express this output size as a ConvTranspose (output_padding ${extra} >= stride ${s})`);
  return { before, after: end, extra };
}

/**
 * Conv2DBackpropInput / DepthwiseConv2dNativeBackpropInput: dx = conv^T(dy, W), shape [n, h, w, ci].
 * Stride 1 without dilation (regular conv): a forward Conv of dy with the spatially flipped,
 * in/out-swapped filter (MLAS's direct conv path is about twice as fast as its ConvTranspose).
 * Otherwise one ConvTranspose with explicit pads and output_padding.
 */
export function convBackpropInputGraph(op: string, c: ConvGeom, depthwise: boolean): SessionSpec {
  const g = new GraphBuilder();
  for (const n of ['dy', 'w']) g.reserve(n);
  const outC = depthwise ? c.ci * c.co : c.co;
  const dyt = g.op('Transpose', ['dy'], { perm: attr.ints(NHWC_TO_NCHW) });
  const pt = c.kh - 1 - c.top;
  const pl = c.kw - 1 - c.left;
  const pb = c.h - c.oh - pt + c.kh - 1;
  const pr = c.w - c.ow - pl + c.kw - 1;
  let y: string;
  if (!depthwise && c.sh === 1 && c.sw === 1 && c.dh === 1 && c.dw === 1 && pt >= 0 && pl >= 0 && pb >= 0 && pr >= 0) {
    const t = g.op('Transpose', ['w'], { perm: attr.ints([2, 3, 0, 1]) }); // [ci, co, kh, kw]
    const flipped = g.op('Slice', [
      t,
      g.int64('starts', [-1, -1]),
      g.int64('ends', [-(c.kh + 1), -(c.kw + 1)]),
      g.int64('axes', [2, 3]),
      g.int64('steps', [-1, -1]),
    ]);
    y = g.op('Conv', [dyt, flipped], { kernel_shape: attr.ints([c.kh, c.kw]), pads: attr.ints([pt, pl, pb, pr]) });
  } else {
    let wt: string;
    if (depthwise) {
      const t = g.op('Transpose', ['w'], { perm: attr.ints([2, 3, 0, 1]) }); // [ci, mult, kh, kw]
      wt = g.op('Reshape', [t, g.int64('wshape', [outC, 1, c.kh, c.kw])]);
    } else {
      wt = g.op('Transpose', ['w'], { perm: attr.ints([3, 2, 0, 1]) }); // [co, ci, kh, kw]
    }
    const ph = transposePads(c.h, c.oh, c.kh, c.sh, c.dh, c.top, c.bottom);
    const pw = transposePads(c.w, c.ow, c.kw, c.sw, c.dw, c.left, c.right);
    y = g.op('ConvTranspose', [dyt, wt], {
      kernel_shape: attr.ints([c.kh, c.kw]),
      strides: attr.ints([c.sh, c.sw]),
      dilations: attr.ints([c.dh, c.dw]),
      pads: attr.ints([ph.before, pw.before, ph.after, pw.after]),
      output_padding: attr.ints([ph.extra, pw.extra]),
      group: attr.int(depthwise ? c.ci : 1),
    });
  }
  y = g.op('Transpose', [y], { perm: attr.ints(NCHW_TO_NHWC) });
  finish(g, y);
  return spec(op, g, [{ name: 'dy', dims: [c.n, c.oh, c.ow, outC] }, { name: 'w', dims: [c.kh, c.kw, c.ci, c.co] }], [c.n, c.h, c.w, c.ci]);
}

/** x zero-padded (NHWC) so every tap's strided window lies inside it; returns the value name. */
function padForTaps(g: GraphBuilder, c: ConvGeom): string {
  const needH = (c.kh - 1) * c.dh + (c.oh - 1) * c.sh + 1;
  const needW = (c.kw - 1) * c.dw + (c.ow - 1) * c.sw + 1;
  const bottom = Math.max(0, needH - c.h - c.top);
  const right = Math.max(0, needW - c.w - c.left);
  if (c.top === 0 && c.left === 0 && bottom === 0 && right === 0) return 'x';
  return g.op('Pad', ['x', g.int64('pads', [0, c.top, c.left, 0, 0, bottom, right, 0])], { mode: attr.str('constant') });
}

/**
 * The window of padded x that kernel tap (i, j) multiplies: [n, oh, ow, ci] from NHWC x, or
 * [ci, n, oh, ow] from x transposed to [ci, n, h, w] (`axes` [2, 3]).
 */
function tapSlice(g: GraphBuilder, xp: string, c: ConvGeom, i: number, j: number, axes: [number, number] = [1, 2]): string {
  const y0 = i * c.dh;
  const x0 = j * c.dw;
  return g.op('Slice', [
    xp,
    g.int64('starts', [y0, x0]),
    g.int64('ends', [y0 + (c.oh - 1) * c.sh + 1, x0 + (c.ow - 1) * c.sw + 1]),
    g.int64('axes', axes),
    g.int64('steps', [c.sh, c.sw]),
  ]);
}

/**
 * x as [ci, n, h, w] for a filter gradient written as a Conv with batch and channels swapped: the
 * rows and columns no output tap reaches are sliced off, and the bottom/right zero padding the
 * Conv still needs is returned with the (cropped) height and width.
 */
function swappedConvInput(g: GraphBuilder, c: ConvGeom): { xt: string; h: number; w: number; bottom: number; right: number } {
  let xt = g.op('Transpose', ['x'], { perm: attr.ints([3, 0, 1, 2]) });
  const bottom = (c.kh - 1) * c.dh + (c.oh - 1) * c.sh + 1 - c.h - c.top;
  const right = (c.kw - 1) * c.dw + (c.ow - 1) * c.sw + 1 - c.w - c.left;
  const h = c.h + Math.min(0, bottom);
  const w = c.w + Math.min(0, right);
  if (bottom < 0 || right < 0) xt = g.op('Slice', [xt, g.int64('starts', [0, 0]), g.int64('ends', [h, w]), g.int64('axes', [2, 3])]);
  return { xt, h, w, bottom: Math.max(0, bottom), right: Math.max(0, right) };
}

/** Floats in one im2col chunk of the filter gradient (32 MiB). */
export const IM2COL_CHUNK_FLOATS = 8 * 1024 * 1024;

/**
 * The kernel taps' row blocks (`rowsOf(i, j)`: a [rows, K] matrix of `tapFloats` floats) stacked in
 * (i, j) order and multiplied by `rhs` [K, cols], in chunks of taps that keep each stacked matrix
 * under IM2COL_CHUNK_FLOATS; returns the [taps*rows, cols] product.
 */
function tapProduct(g: GraphBuilder, c: ConvGeom, tapFloats: number, rhs: string, rowsOf: (i: number, j: number) => string): string {
  const taps: [number, number][] = [];
  for (let i = 0; i < c.kh; i++) for (let j = 0; j < c.kw; j++) taps.push([i, j]);
  const perChunk = Math.max(1, Math.floor(IM2COL_CHUNK_FLOATS / tapFloats));
  const parts: string[] = [];
  for (let t0 = 0; t0 < taps.length; t0 += perChunk) {
    const rows = taps.slice(t0, t0 + perChunk).map(([i, j]) => rowsOf(i, j));
    const a = rows.length === 1 ? rows[0] : g.op('Concat', rows, { axis: attr.int(0) });
    parts.push(g.op('MatMul', [a, rhs]));
  }
  return parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: attr.int(0) });
}

export type FilterGradMethod = 'im2col' | 'dycol' | 'conv';

/**
 * Conv2DBackpropFilter: dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh*sh + kh*dh - top, ...] * dy[n, oh, ow, co].
 *  - 'im2col': the taps' strided windows of x stacked to [taps*ci, P] (P = n*oh*ow), times
 *    dy [P, co] as one SGEMM (already dW's layout); taps chunked to bound memory.
 *  - 'dycol' (stride 1, no dilation): the taps of dy instead of x's, for few output channels (an
 *    RGB head: 7x7 32->3 stacks 147 rows of dy where x's im2col has 1568): dy zero-padded by the
 *    kernel size on every side, each tap's shifted window [co, P'] (P' = n*h'*w', the positions of
 *    padded x) stacked to [taps*co, P'], times x itself as [P', ci] (no copy), then [kh, kw, co, ci]
 *    transposed to dW's layout.
 *  - 'conv': a Conv with batch and channels swapped: x as [ci, n, h, w], dy as the filter
 *    [co, n, oh, ow], the forward stride as dilation; output [ci, co, kh, kw].
 */
export function convBackpropFilterGraph(op: string, c: ConvGeom, method: FilterGradMethod): SessionSpec {
  const g = new GraphBuilder();
  for (const n of ['x', 'dy']) g.reserve(n);
  const p = c.n * c.oh * c.ow;
  let y: string;
  if (method === 'im2col' && c.kh * c.kw === 1) {
    // a 1x1 filter: x itself is the [P, ci] matrix, so no copy, one SGEMM with transA
    const a = g.op('Reshape', [tapSlice(g, padForTaps(g, c), c, 0, 0), g.int64('colshape', [p, c.ci])]);
    const dy2 = g.op('Reshape', ['dy', g.int64('dyshape', [p, c.co])]);
    y = g.op('Reshape', [g.op('Gemm', [a, dy2], { transA: attr.int(1) }), g.int64('wshape', [c.kh, c.kw, c.ci, c.co])]);
  } else if (method === 'im2col') {
    // x padded and transposed once to [ci, n, h, w]; each tap's strided window reshaped to [ci, P]
    // and the taps stacked to [taps*ci, P] (rows already in dW's (kh, kw, ci) order), times dy [P, co]
    // as a plain MatMul: 1.3-1.5x faster in MLAS than the NHWC [P, taps*ci] with transA (session 11)
    const xt = g.op('Transpose', [padForTaps(g, c)], { perm: attr.ints([3, 0, 1, 2]) });
    const dy2 = g.op('Reshape', ['dy', g.int64('dyshape', [p, c.co])]);
    const all = tapProduct(g, c, p * c.ci, dy2, (i, j) => g.op('Reshape', [tapSlice(g, xt, c, i, j, [2, 3]), g.int64('rowshape', [c.ci, p])])); // [taps*ci, co]
    y = g.op('Reshape', [all, g.int64('wshape', [c.kh, c.kw, c.ci, c.co])]);
  } else if (method === 'dycol') {
    if (c.sh !== 1 || c.sw !== 1 || c.dh !== 1 || c.dw !== 1) throw new Error(`${op}: the dy-taps filter gradient needs stride 1 and no dilation`);
    const hp = c.oh + c.kh - 1; // the rows and columns of padded x the taps reach
    const wp = c.ow + c.kw - 1;
    const pp = c.n * hp * wp;
    let xp = padForTaps(g, c);
    if (c.h + c.top > hp || c.w + c.left > wp) xp = g.op('Slice', [xp, g.int64('starts', [0, 0]), g.int64('ends', [hp, wp]), g.int64('axes', [1, 2])]);
    const x2 = g.op('Reshape', [xp, g.int64('xshape', [pp, c.ci])]); // [P', ci]
    const dyt = g.op('Transpose', ['dy'], { perm: attr.ints([3, 0, 1, 2]) }); // [co, n, oh, ow]
    const dyp = g.op('Pad', [dyt, g.int64('pads', [0, 0, c.kh - 1, c.kw - 1, 0, 0, c.kh - 1, c.kw - 1])], { mode: attr.str('constant') });
    // tap (i, j) multiplies x[h, w] by dy[h - i, w - j]: the window of padded dy starting at (kh-1-i, kw-1-j)
    const all = tapProduct(g, c, pp * c.co, x2, (i, j) => {
      const win = g.op('Slice', [dyp, g.int64('starts', [c.kh - 1 - i, c.kw - 1 - j]), g.int64('ends', [c.kh - 1 - i + hp, c.kw - 1 - j + wp]), g.int64('axes', [2, 3])]);
      return g.op('Reshape', [win, g.int64('rowshape', [c.co, pp])]);
    }); // [taps*co, ci]
    y = g.op('Transpose', [g.op('Reshape', [all, g.int64('wshape', [c.kh, c.kw, c.co, c.ci])])], { perm: attr.ints([0, 1, 3, 2]) });
  } else {
    const { xt, bottom, right } = swappedConvInput(g, c); // [ci, n, h', w']
    const dyt = g.op('Transpose', ['dy'], { perm: attr.ints([3, 0, 1, 2]) }); // [co, n, oh, ow]
    const conv = g.op('Conv', [xt, dyt], {
      kernel_shape: attr.ints([c.oh, c.ow]),
      strides: attr.ints([c.dh, c.dw]),
      dilations: attr.ints([c.sh, c.sw]),
      pads: attr.ints([c.top, c.left, bottom, right]),
    }); // [ci, co, kh, kw]
    y = g.op('Transpose', [conv], { perm: attr.ints([2, 3, 0, 1]) });
  }
  finish(g, y);
  return spec(op, g, [{ name: 'x', dims: [c.n, c.h, c.w, c.ci] }, { name: 'dy', dims: [c.n, c.oh, c.ow, c.co] }], [c.kh, c.kw, c.ci, c.co]);
}

/**
 * DepthwiseConv2dNativeBackpropFilter: dW[kh, kw, c, m] = sum over P of window_tap(x)[P, c] * dy[P, c*mult + m],
 * per tap a broadcast multiply and a sum over P (memory-bound, no wasted MACs).
 */
export function depthwiseBackpropFilterGraph(op: string, c: ConvGeom): SessionSpec {
  const g = new GraphBuilder();
  for (const n of ['x', 'dy']) g.reserve(n);
  const p = c.n * c.oh * c.ow;
  const xp = padForTaps(g, c);
  const dy3 = g.op('Reshape', ['dy', g.int64('dyshape', [p, c.ci, c.co])]);
  const axes = g.int64('axes0', [0]);
  const parts: string[] = [];
  for (let i = 0; i < c.kh; i++) {
    for (let j = 0; j < c.kw; j++) {
      const win = g.op('Reshape', [tapSlice(g, xp, c, i, j), g.int64('winshape', [p, c.ci, 1])]);
      parts.push(g.op('ReduceSum', [g.op('Mul', [win, dy3]), axes], { keepdims: attr.int(1) })); // [1, ci, mult]
    }
  }
  const all = parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: attr.int(0) });
  const y = g.op('Reshape', [all, g.int64('wshape', [c.kh, c.kw, c.ci, c.co])]);
  finish(g, y);
  return spec(op, g, [{ name: 'x', dims: [c.n, c.h, c.w, c.ci] }, { name: 'dy', dims: [c.n, c.oh, c.ow, c.ci * c.co] }], [c.kh, c.kw, c.ci, c.co]);
}

/**
 * DepthwiseConv2dNativeBackpropFilter as one grouped Conv (the swapped-axes formulation with a
 * group per input channel): x as [1, ci*n, h, w] (channel c*n + b = x[b, :, :, c]), dy as the
 * filter [ci*mult, n, oh, ow], the forward stride as dilation; output [1, ci*mult, kh, kw].
 */
export function depthwiseBackpropFilterConvGraph(op: string, c: ConvGeom): SessionSpec {
  const g = new GraphBuilder();
  for (const n of ['x', 'dy']) g.reserve(n);
  const { xt, h, w, bottom, right } = swappedConvInput(g, c); // [ci, n, h, w]
  const xr = g.op('Reshape', [xt, g.int64('xshape', [1, c.ci * c.n, h, w])]);
  const dyt = g.op('Transpose', ['dy'], { perm: attr.ints([3, 0, 1, 2]) }); // [ci*mult, n, oh, ow]
  const conv = g.op('Conv', [xr, dyt], {
    kernel_shape: attr.ints([c.oh, c.ow]),
    strides: attr.ints([c.dh, c.dw]),
    dilations: attr.ints([c.sh, c.sw]),
    pads: attr.ints([c.top, c.left, bottom, right]),
    group: attr.int(c.ci),
  }); // [1, ci*mult, kh, kw]
  const t = g.op('Transpose', [conv], { perm: attr.ints([2, 3, 1, 0]) }); // [kh, kw, ci*mult, 1]
  const y = g.op('Reshape', [t, g.int64('wshape', [c.kh, c.kw, c.ci, c.co])]);
  finish(g, y);
  return spec(op, g, [{ name: 'x', dims: [c.n, c.h, c.w, c.ci] }, { name: 'dy', dims: [c.n, c.oh, c.ow, c.ci * c.co] }], [c.kh, c.kw, c.ci, c.co]);
}

export interface MatMulGeom {
  a: number[];
  b: number[];
  transA: boolean;
  transB: boolean;
  out: number[];
}

/**
 * BatchMatMul / _FusedMatMul: y = act(a' . b' + bias). A batch of one is a single Gemm with the
 * transposes as flags; larger (broadcast) batches are a MatMul with the last two axes transposed.
 */
export function matMulGraph(op: string, m: MatMulGeom, e: Epilogue): SessionSpec {
  const g = new GraphBuilder();
  for (const n of ['a', 'b', 'p']) g.reserve(n);
  g.reserve('bias');
  const batchA = m.a.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = m.b.slice(0, -2).reduce((x, y) => x * y, 1);
  let y: string;
  if (batchA === 1 && batchB === 1) {
    const a2 = g.op('Reshape', ['a', g.int64('ashape', m.a.slice(-2))]);
    const b2 = g.op('Reshape', ['b', g.int64('bshape', m.b.slice(-2))]);
    const gemm = g.op('Gemm', [a2, b2], { transA: attr.int(m.transA ? 1 : 0), transB: attr.int(m.transB ? 1 : 0) });
    y = g.op('Reshape', [gemm, g.int64('yshape', m.out)]);
  } else {
    const swap = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
    const a = m.transA ? g.op('Transpose', ['a'], { perm: attr.ints(swap(m.a.length)) }) : 'a';
    const b = m.transB ? g.op('Transpose', ['b'], { perm: attr.ints(swap(m.b.length)) }) : 'b';
    y = g.op('MatMul', [a, b]);
    y = g.op('Reshape', [y, g.int64('yshape', m.out)]);
  }
  if (e.bias) y = g.op('Add', [y, 'bias']);
  y = activation(g, y, e);
  if (e.activation === 'prelu') y = g.op('PRelu', [y, 'p']);
  finish(g, y);
  const inputs = [
    { name: 'a', dims: m.a },
    { name: 'b', dims: m.b },
  ];
  if (e.bias) inputs.push({ name: 'bias', dims: e.bias });
  if (e.activation === 'prelu') inputs.push({ name: 'p', dims: e.prelu! });
  return spec(op, g, inputs, m.out);
}

/**
 * Sum / Mean over `axes` of a float32 tensor. Leading or trailing axes (a bias gradient sums dy
 * over [0, 1, 2]) are one matrix product with a ones vector, which MLAS runs 5-25x faster than
 * onnxruntime's ReduceSum on these shapes (session 11, [16,32,32,56] over [0,1,2]: 0.26 vs 1.2-4.4 ms,
 * and wasm's Sum 2-5 ms);
 * other axis sets use ReduceSum / ReduceMean (multi-threaded, no transpose first).
 */
export function reduceGraph(op: 'Sum' | 'Mean', shape: number[], axes: number[], keepDims: boolean, outShape: number[]): SessionSpec {
  const g = new GraphBuilder();
  g.reserve('x');
  const r = shape.length;
  const leading = axes.every((a, i) => a === i);
  const trailing = axes.every((a, i) => a === r - axes.length + i);
  let y: string;
  if (axes.length > 0 && (leading || trailing)) {
    const reduced = axes.reduce((acc, a) => acc * shape[a], 1);
    const kept = shape.reduce((acc, d) => acc * d, 1) / reduced;
    const ones = g.op('Expand', [g.float('w', [op === 'Mean' ? 1 / reduced : 1], [1]), g.int64('onesshape', leading ? [1, reduced] : [reduced, 1])]);
    const x2 = g.op('Reshape', ['x', g.int64('xshape', leading ? [reduced, kept] : [kept, reduced])]);
    y = g.op('Reshape', [g.op('MatMul', leading ? [ones, x2] : [x2, ones]), g.int64('yshape', outShape)]);
  } else {
    // opset 17: ReduceSum takes the axes as an input, ReduceMean still as an attribute
    const keep = { keepdims: attr.int(keepDims ? 1 : 0) };
    const red = op === 'Sum' ? g.op('ReduceSum', ['x', g.int64('axes', axes)], keep) : g.op('ReduceMean', ['x'], { ...keep, axes: attr.ints(axes) });
    y = keepDims ? red : g.op('Reshape', [red, g.int64('yshape', outShape)]);
  }
  finish(g, y);
  return spec(op, g, [{ name: 'x', dims: shape }], outShape);
}
