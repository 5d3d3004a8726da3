/**
 * Gradient kernels for @tensorflow/tfjs-backend-wasm, built from its own fast forward kernels
 * (XNNPACK convolutions, transposes, pads) so they run at forward-conv speed:
 *
 *  - Conv2DBackpropFilter (missing in tfjs-backend-wasm 4.22): dW is a forward convolution of
 *    the transposed input [Ci, H, W, N] with dy as the filter [OH, OW, N, Co], with the forward
 *    stride as the dilation.
 *  - Conv2DBackpropInput (stock wasm kernel is a plain scalar loop): dx is a forward convolution
 *    of dy, dilated by the stride, with the spatially flipped and in/out-transposed filter.
 *    This is also the forward pass of conv2dTranspose.
 *  - DepthwiseConv2dNativeBackpropInput / ...BackpropFilter (missing): the same two ideas with
 *    the wasm depthwise convolution, folding the batch into channels for the filter gradient.
 *
 * Kernels call the wasm backend's kernel functions directly (not tf ops), so nothing is taped
 * and every intermediate is freed with backend.disposeData.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Info = tf.TensorInfo;
type Inputs = Record<string, Info>;
type Attrs = Record<string, unknown>;
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

/** dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*s+kh*d-pt, ow*s+kw*d-pl, ci] * dy[n,oh,ow,co]. */
function conv2DBackpropFilter({ inputs, backend, attrs }: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): Info {
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  checkNhwc('Conv2DBackpropFilter', dataFormat);
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [n, h, w] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const xt = transpose(backend, x, [3, 1, 2, 0]); // [ci, h, w, n]
  const ft = n === 1 ? reshape(backend, dy, [oh, ow, 1, co]) : transpose(backend, dy, [1, 2, 0, 3]); // [oh, ow, n, co]
  const pads = {
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: kh - 1 + (oh - 1) * sh + 1 - h - info.padInfo.top,
    right: kw - 1 + (ow - 1) * sw + 1 - w - info.padInfo.left,
  };
  const g = convExplicit(backend, tf.Conv2D, xt, ft, [1, 1], [sh, sw], pads, kh, kw); // [ci, kh, kw, co]
  free(backend, xt, ft);
  const out = transpose(backend, g, [1, 2, 0, 3]);
  free(backend, g);
  return out;
}

/** dx = conv(dilate(dy, stride), flip(W) with in/out swapped), padded so dx has inputShape. */
function conv2DBackpropInput({ inputs, backend, attrs }: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): Info {
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  checkNhwc('Conv2DBackpropInput', dataFormat);
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
  const [, h, w] = inputShape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const flipped = run(backend, tf.Reverse, { x: filter }, { dims: [0, 1] });
  const wt = transpose(backend, flipped, [0, 1, 3, 2]); // [kh, kw, co, ci]
  free(backend, flipped);
  const dyd = dilate(backend, dy, sh, sw);
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const pads = { top, left, bottom: h + kh - 1 - top - dyd.shape[1], right: w + kw - 1 - left - dyd.shape[2] };
  const out = convExplicit(backend, tf.Conv2D, dyd, wt, [1, 1], [1, 1], pads, h, w);
  free(backend, dyd, wt);
  return out;
}

function depthwiseBackpropInput({ inputs, backend, attrs }: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): Info {
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
  const flipped = run(backend, tf.Reverse, { x: filter }, { dims: [0, 1] });
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

function depthwiseBackpropFilter({ inputs, backend, attrs }: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): Info {
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

type KernelImpl = (args: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }) => Info;

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
