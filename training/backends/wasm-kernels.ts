/**
 * Gradient kernels for @tensorflow/tfjs-backend-wasm, built from its own fast forward kernels
 * (XNNPACK convolutions, transposes, pads) so they run at forward-conv speed:
 *
 *  - Conv2DBackpropFilter (missing in tfjs-backend-wasm 4.22): dW = im2col(x) . dy as one XNNPACK
 *    matrix product per group of kernel rows: the input is transposed once to [Ci, N, H, W], each
 *    kernel tap (kh, kw) is a (strided) slice [Ci, N*OH*OW], the slices are concatenated to
 *    [taps*Ci, N*OH*OW] and multiplied by dy [N*OH*OW, Co]. Measured on a 3x3 128->128 conv at
 *    32x32: 18 ms, vs 55 ms for the same product as a forward conv of x^T with dy as the filter
 *    (that conv has one input channel per tap, which XNNPACK's igemm handles poorly) and 23 ms for
 *    the forward conv itself. Kernel rows are grouped so the im2col buffer stays under 4M floats.
 *  - Conv2DBackpropInput (stock wasm kernel is a plain scalar loop): dx is a forward convolution
 *    of dy, dilated by the stride, with the spatially flipped and in/out-transposed filter (the
 *    flip is a JS loop over the wasm heap: tfjs-wasm's Reverse kernel took 16 ms for a 3x3x128x128
 *    filter). This is also the forward pass of conv2dTranspose.
 *  - DepthwiseConv2dNativeBackpropInput / ...BackpropFilter (missing): the same two ideas with
 *    the wasm depthwise convolution, folding the batch into channels for the filter gradient.
 *
 * Kernels call the wasm backend's kernel functions directly (not tf ops), so nothing is taped
 * and every intermediate is freed with backend.disposeData.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { heapF32, type Info, type WasmKernelArgs } from './wasm-heap';

type Inputs = WasmKernelArgs['inputs'];
type Attrs = WasmKernelArgs['attrs'];
type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

function run(backend: BackendWasm, kernelName: string, inputs: Inputs, attrs: Attrs = {}): Info {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${kernelName} is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
  return kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap }) as Info;
}

function free(backend: BackendWasm, ...infos: Info[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function transpose(backend: BackendWasm, x: Info, perm: number[]): Info {
  return run(backend, tf.Transpose, { x }, { perm });
}

function reshape(backend: BackendWasm, x: Info, shape: number[]): Info {
  return run(backend, tf.Reshape, { x }, { shape });
}

/** Slice [begin, begin+size) of a 4-D tensor; returns x itself (not a copy) when that is all of it. */
function slice4(backend: BackendWasm, x: Info, begin: number[], size: number[]): Info {
  if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return x;
  return run(backend, tf.Slice, { x }, { begin, size });
}

/**
 * Spatially flips a [kh, kw, a, b] filter: kh*kw contiguous block copies over the wasm heap
 * (tfjs-wasm's Reverse kernel took 16 ms for a 3x3x128x128 filter, this takes well under 1 ms).
 */
function flipFilter(backend: BackendWasm, filter: Info): Info {
  const [kh, kw, a, b] = filter.shape;
  const out = backend.makeOutput([kh, kw, a, b], 'float32');
  // read the views after makeOutput: allocating may grow (and detach) the wasm heap
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  const ab = a * b;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const so = (i * kw + j) * ab;
      dst.set(src.subarray(so, so + ab), ((kh - 1 - i) * kw + (kw - 1 - j)) * ab);
    }
  }
  return out;
}

/** Max floats in one im2col buffer of Conv2DBackpropFilter (16 MiB: big buffers fragment the wasm heap). */
const IM2COL_LIMIT = 4 * 1024 * 1024;

/**
 * im2col of kernel rows [r0, r0+rows) of a [ci, n, h, w] input, written straight into the wasm
 * heap: out[1, ((i-r0)*kw + j)*ci + c, (b*oh + r)*ow + q] = x[c, b, i + r*sh - top, j + q*sw - left]
 * (0 outside the image). No pad, slice or concat kernels, so no extra copies.
 */
function im2col(
  backend: BackendWasm,
  xt: Info,
  g: { r0: number; rows: number; kw: number; oh: number; ow: number; sh: number; sw: number; top: number; left: number },
): Info {
  const [ci, n, h, w] = xt.shape;
  const { r0, rows, kw, oh, ow, sh, sw, top, left } = g;
  const p = n * oh * ow;
  const out = backend.makeOutput([1, rows * kw * ci, p], 'float32');
  const src = heapF32(backend, xt);
  const dst = heapF32(backend, out);
  for (let i = r0; i < r0 + rows; i++) {
    for (let j = 0; j < kw; j++) {
      // output columns q whose input column j + q*sw - left lies inside [0, w)
      const qLo = Math.max(0, Math.ceil((left - j) / sw));
      const qHi = Math.min(ow, Math.floor((w - 1 + left - j) / sw) + 1);
      const tapBase = ((i - r0) * kw + j) * ci * p;
      for (let c = 0; c < ci; c++) {
        for (let b = 0; b < n; b++) {
          const plane = (c * n + b) * h * w;
          let d = tapBase + c * p + b * oh * ow;
          for (let r = 0; r < oh; r++, d += ow) {
            const y = i + r * sh - top;
            if (y < 0 || y >= h || qHi <= qLo) {
              dst.fill(0, d, d + ow);
              continue;
            }
            if (qLo > 0) dst.fill(0, d, d + qLo);
            if (qHi < ow) dst.fill(0, d + qHi, d + ow);
            const s0 = plane + y * w + j - left;
            if (sw === 1) {
              dst.set(src.subarray(s0 + qLo, s0 + qHi), d + qLo);
            } else {
              for (let q = qLo; q < qHi; q++) dst[d + q] = src[s0 + q * sw];
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Inserts (s-1) zeros between rows (sh) and columns (sw) of a NHWC tensor:
 * [n, h, w, c] -> [n, (h-1)*sh+1, (w-1)*sw+1, c].
 */
function dilate(backend: BackendWasm, x: Info, sh: number, sw: number): Info {
  if (sh === 1 && sw === 1) {
    backend.incRef(x.dataId);
    return x;
  }
  const [n, h, w, c] = x.shape;
  const x6 = reshape(backend, x, [n, h, 1, w, 1, c]);
  const padded = run(backend, tf.PadV2, { x: x6 }, {
    paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
    constantValue: 0,
  });
  free(backend, x6);
  const merged = reshape(backend, padded, [n, h * sh, w * sw, c]);
  free(backend, padded);
  const out = slice4(backend, merged, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
  if (out !== merged) free(backend, merged);
  return out;
}

/**
 * Runs a stride-`stride`, dilation-`dilation` forward convolution (Conv2D or
 * DepthwiseConv2dNative) with explicit padding that may be negative (negative = crop the input
 * first), and returns exactly outH x outW output rows/cols (cropping surplus ones).
 */
function convExplicit(
  backend: BackendWasm,
  kernelName: string,
  x: Info,
  filter: Info,
  stride: [number, number],
  dilation: [number, number],
  pads: { top: number; bottom: number; left: number; right: number },
  outH: number,
  outW: number,
): Info {
  const [n, h, w, c] = x.shape;
  const cropTop = Math.max(0, -pads.top);
  const cropLeft = Math.max(0, -pads.left);
  const cropBottom = Math.max(0, -pads.bottom);
  const cropRight = Math.max(0, -pads.right);
  const xin = slice4(backend, x, [0, cropTop, cropLeft, 0], [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c]);
  const pad: Pad4 = [
    [0, 0],
    [Math.max(0, pads.top), Math.max(0, pads.bottom)],
    [Math.max(0, pads.left), Math.max(0, pads.right)],
    [0, 0],
  ];
  const y = run(backend, kernelName, { x: xin, filter }, { strides: stride, dilations: dilation, pad, dataFormat: 'NHWC', dimRoundingMode: undefined });
  if (xin !== x) free(backend, xin);
  const out = slice4(backend, y, [0, 0, 0, 0], [y.shape[0], outH, outW, y.shape[3]]);
  if (out !== y) free(backend, y);
  if (out.shape[1] !== outH || out.shape[2] !== outW) {
    throw new Error(`internal: ${kernelName} gave ${out.shape[1]}x${out.shape[2]}, expected ${outH}x${outW}`);
  }
  return out;
}

function checkNhwc(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm ${kernel} supports only NHWC, got dataFormat ${String(dataFormat)}`);
  }
}

/** dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[n,oh,ow,co]. */
function conv2DBackpropFilter({ inputs, backend, attrs }: WasmKernelArgs): Info {
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  checkNhwc('Conv2DBackpropFilter', dataFormat);
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [n, , , ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xt = transpose(backend, x, [3, 0, 1, 2]); // [ci, n, h, w]: every im2col row is a contiguous run
  const p = n * oh * ow;
  const dy3 = reshape(backend, dy, [1, p, co]);
  const rowsPerChunk = Math.max(1, Math.floor(IM2COL_LIMIT / (kw * ci * p)));
  const chunks: Info[] = [];
  for (let r0 = 0; r0 < kh; r0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, kh - r0);
    const a3 = im2col(backend, xt, { r0, rows, kw, oh, ow, sh, sw, top, left });
    chunks.push(run(backend, tf.BatchMatMul, { a: a3, b: dy3 }, { transposeA: false, transposeB: false }));
    free(backend, a3);
  }
  free(backend, xt, dy3);
  const g = chunks.length === 1 ? chunks[0] : run(backend, tf.Concat, chunks as unknown as Inputs, { axis: 1 });
  if (chunks.length > 1) free(backend, ...chunks);
  const out = reshape(backend, g, [kh, kw, ci, co]);
  free(backend, g);
  return out;
}

/** One stride phase of Conv2DBackpropInput along one axis. */
interface Phase {
  r: number; // residue of (i + pad) mod stride
  taps: number; // kernel taps k = r, r+s, r+2s, ... < K
  qStart: number; // first q with i = q*s + r - pad in [0, size)
  count: number; // number of such q
}

function phases(size: number, k: number, s: number, pad: number): Phase[] {
  const out: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const qStart = Math.ceil((pad - r) / s);
    const qEnd = Math.floor((size - 1 + pad - r) / s) + 1;
    out.push({ r, taps: r < k ? Math.ceil((k - r) / s) : 0, qStart, count: Math.max(0, qEnd - qStart) });
  }
  return out;
}

/** Sub-filter of phase (py, px): [ty, tx, co, ci], taps k = r + (t-1-m)*s (flipped), in/out swapped. */
function subFilter(backend: BackendWasm, filter: Info, py: Phase, px: Phase, sh: number, sw: number): Info {
  const [, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([py.taps, px.taps, co, ci], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  let d = 0;
  for (let m = 0; m < py.taps; m++) {
    const kh = py.r + (py.taps - 1 - m) * sh;
    for (let m2 = 0; m2 < px.taps; m2++) {
      const base = (kh * kw + px.r + (px.taps - 1 - m2) * sw) * ci * co;
      for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) dst[d++] = src[base + c * co + o];
    }
  }
  return out;
}

/**
 * dx of a strided conv without the zeros of a dilated dy: each of the sh*sw output phases
 * (rows i with (i + padTop) mod sh = ry, columns likewise) is a stride-1 conv of dy with the taps
 * of W that hit that phase, and the phases are interleaved into dx. Does exactly the useful MACs
 * (a dilated dy would multiply by zero 3 times out of 4 at stride 2).
 */
function conv2DBackpropInputStrided(backend: BackendWasm, dy: Info, filter: Info, inputShape: number[], info: backend_util.Conv2DInfo): Info {
  const [n, h, w, ci] = inputShape;
  const [, oh, ow] = dy.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const rowsP = phases(h, kh, sh, info.padInfo.top);
  const colsP = phases(w, kw, sw, info.padInfo.left);
  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  for (const py of rowsP) {
    for (const px of colsP) {
      if (py.count === 0 || px.count === 0) continue;
      let part: Info | null = null;
      if (py.taps > 0 && px.taps > 0) {
        const f = subFilter(backend, filter, py, px, sh, sw);
        const top = py.taps - 1 - py.qStart;
        const left = px.taps - 1 - px.qStart;
        const pads = { top, left, bottom: py.count + py.taps - 1 - top - oh, right: px.count + px.taps - 1 - left - ow };
        part = convExplicit(backend, tf.Conv2D, dy, f, [1, 1], [1, 1], pads, py.count, px.count);
        free(backend, f);
      }
      // scatter the phase into dx (zeros where no tap reaches)
      const src = part ? heapF32(backend, part) : null;
      const dst = heapF32(backend, dx);
      for (let b = 0; b < n; b++) {
        for (let qy = 0; qy < py.count; qy++) {
          const y = (py.qStart + qy) * sh + py.r - info.padInfo.top;
          for (let qx = 0; qx < px.count; qx++) {
            const x = (px.qStart + qx) * sw + px.r - info.padInfo.left;
            const d0 = ((b * h + y) * w + x) * ci;
            if (src) {
              const s0 = ((b * py.count + qy) * px.count + qx) * ci;
              dst.set(src.subarray(s0, s0 + ci), d0);
            } else {
              dst.fill(0, d0, d0 + ci);
            }
          }
        }
      }
      if (part) free(backend, part);
    }
  }
  return dx;
}

/**
 * dx: stride 1 is a conv of dy with the flipped, in/out-swapped filter; larger strides go
 * through conv2DBackpropInputStrided. Padded so that dx has inputShape.
 */
function conv2DBackpropInput({ inputs, backend, attrs }: WasmKernelArgs): Info {
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  checkNhwc('Conv2DBackpropInput', dataFormat);
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
  if (info.strideHeight > 1 || info.strideWidth > 1) return conv2DBackpropInputStrided(backend, dy, filter, inputShape, info);
  const [, h, w] = inputShape;
  const { filterHeight: kh, filterWidth: kw } = info;
  const flipped = flipFilter(backend, filter);
  const wt = transpose(backend, flipped, [0, 1, 3, 2]); // [kh, kw, co, ci], spatially flipped
  free(backend, flipped);
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const pads = { top, left, bottom: h + kh - 1 - top - dy.shape[1], right: w + kw - 1 - left - dy.shape[2] };
  const out = convExplicit(backend, tf.Conv2D, dy, wt, [1, 1], [1, 1], pads, h, w);
  free(backend, wt);
  return out;
}

function depthwiseBackpropInput({ inputs, backend, attrs }: WasmKernelArgs): Info {
  const { dy, filter } = inputs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations ?? [1, 1],
    pad,
    dimRoundingMode,
    true,
  );
  const [n, h, w, ci] = inputShape;
  const [kh, kw, , mult] = filter.shape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const flipped = flipFilter(backend, filter);
  const f = reshape(backend, flipped, [kh, kw, ci * mult, 1]);
  free(backend, flipped);
  const dyd = dilate(backend, dy, sh, sw);
  const top = (kh - 1) * dh - info.padInfo.top;
  const left = (kw - 1) * dw - info.padInfo.left;
  const pads = { top, left, bottom: h + (kh - 1) * dh - top - dyd.shape[1], right: w + (kw - 1) * dw - left - dyd.shape[2] };
  const y = convExplicit(backend, tf.DepthwiseConv2dNative, dyd, f, [1, 1], [dh, dw], pads, h, w); // [n, h, w, ci*mult]
  free(backend, dyd, f);
  if (mult === 1) return y;
  const y5 = reshape(backend, y, [n, h, w, ci, mult]);
  free(backend, y);
  const out = run(backend, tf.Sum, { x: y5 }, { axis: [4], keepDims: false });
  free(backend, y5);
  return out;
}

function depthwiseBackpropFilter({ inputs, backend, attrs }: WasmKernelArgs): Info {
  const { x, dy } = inputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations ?? [1, 1],
    pad,
    dimRoundingMode,
    true,
  );
  const [n, h, w, ci] = x.shape;
  const [, oh, ow] = dy.shape;
  const [kh, kw, , mult] = filterShape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  // Fold the batch into channels: input [1, h, w, n*ci], filter [oh, ow, n*ci, mult].
  let xin: Info;
  let f: Info;
  if (n === 1) {
    backend.incRef(x.dataId);
    xin = x;
    f = reshape(backend, dy, [oh, ow, ci, mult]);
  } else {
    const xt = transpose(backend, x, [1, 2, 0, 3]);
    xin = reshape(backend, xt, [1, h, w, n * ci]);
    free(backend, xt);
    const dy5 = reshape(backend, dy, [n, oh, ow, ci * mult]);
    const dyt = transpose(backend, dy5, [1, 2, 0, 3]); // [oh, ow, n, ci*mult]
    free(backend, dy5);
    f = reshape(backend, dyt, [oh, ow, n * ci, mult]);
    free(backend, dyt);
  }
  const pads = {
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: (kh - 1) * dh + (oh - 1) * sh + 1 - h - info.padInfo.top,
    right: (kw - 1) * dw + (ow - 1) * sw + 1 - w - info.padInfo.left,
  };
  const g = convExplicit(backend, tf.DepthwiseConv2dNative, xin, f, [dh, dw], [sh, sw], pads, kh, kw); // [1, kh, kw, n*ci*mult]
  free(backend, xin, f);
  if (n === 1) {
    const out = reshape(backend, g, [kh, kw, ci, mult]);
    free(backend, g);
    return out;
  }
  const g5 = reshape(backend, g, [kh, kw, n, ci * mult]);
  free(backend, g);
  const summed = run(backend, tf.Sum, { x: g5 }, { axis: [2], keepDims: false });
  free(backend, g5);
  const out = reshape(backend, summed, [kh, kw, ci, mult]);
  free(backend, summed);
  return out;
}

type KernelImpl = (args: WasmKernelArgs) => Info;

/** The kernels this module adds or replaces on the wasm backend. */
export const WASM_GRADIENT_KERNELS: Record<string, KernelImpl> = {
  [tf.Conv2DBackpropFilter]: conv2DBackpropFilter,
  [tf.Conv2DBackpropInput]: conv2DBackpropInput,
  [tf.DepthwiseConv2dNativeBackpropInput]: depthwiseBackpropInput,
  [tf.DepthwiseConv2dNativeBackpropFilter]: depthwiseBackpropFilter,
};

const ours = new WeakSet<object>();

/**
 * Registers (or replaces) the kernels above for 'wasm'. Idempotent; safe to call before or
 * after the wasm backend is initialised (these kernels need no setup).
 */
export function registerWasmGradientKernels(): void {
  for (const [kernelName, impl] of Object.entries(WASM_GRADIENT_KERNELS)) {
    const existing = tf.getKernel(kernelName, 'wasm');
    if (existing && ours.has(existing.kernelFunc)) continue;
    if (existing) tf.unregisterKernel(kernelName, 'wasm');
    const kernelFunc = impl as unknown as tf.KernelFunc;
    ours.add(kernelFunc);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
