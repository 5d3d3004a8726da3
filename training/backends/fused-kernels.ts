/**
 * Fused kernels for the wasm and native backends (the same BackendWasm instance), written as plain
 * loops over the wasm heap: each replaces a chain of small single-threaded wasm kernels that
 * dominated a generator step once the convolutions ran on onnxruntime (bench:engine's kernel
 * profile of a tiny-generator CycleGAN step at 128 px: instance-norm reductions and elementwise
 * ops, the MirrorPad gradient's slices/pads/adds and the nearest-upsampling gradient were ~40% of
 * the kernel time).
 *
 *  - GanvasInstanceNorm (x -> y, invStd) and GanvasInstanceNormGrad (dy, y, invStd -> dx):
 *    instance normalisation over H and W of an NHWC tensor, forward in two passes (per-channel sums
 *    of x and x^2, then normalise) and backward in two (sums of dy and dy*y, then
 *    dx = invStd * (dy - mean(dy) - y * mean(dy * y))).
 *  - GanvasMirrorPadGrad: the MirrorPad gradient as one scatter-add pass over dy (every padded
 *    pixel is added onto the pixel it was copied from), for NHWC with padding on H and W.
 *  - ResizeNearestNeighborGrad for integer upsampling factors (what the tiny generator's
 *    resize-then-conv upsampling needs): a sum over each factor x factor block; other geometries
 *    go to the stock wasm kernel.
 *  - Identity, and Cast to the dtype a tensor already has, share the input's buffer (a reference
 *    count, as wasm's own Reshape and the cpu backend's Identity do) instead of copying it. tfjs
 *    clones every tensor a custom gradient saves (each fused conv saves its input, filter and
 *    output; 1470 clones in a light-generator CycleGAN step at 128 px): sharing lowered that
 *    step's real heap peak from 1164 to 1033 MiB and saves the copying.
 *  - GanvasAdamUpdate: one Adam step of one variable (fused-adam.ts, used by its optimizer).
 *  - Slice as block copies on the wasm heap: the trailing axes a slice keeps whole merge with the
 *    last one it cuts into one contiguous block per outer index. The stock wasm kernel first copies
 *    the whole input out of the heap (readSync) and then copies one innermost row per call: the
 *    zero-padding gradients (PadV2's gradient is a Slice of dy) cost ~11 ms per [1,66,66,64] call.
 *
 * `instanceNormalize` and `mirrorPadGradient` are the ops models and gradients call: they use the
 * fused kernels where the active backend has them and the gradient will not itself be
 * differentiated (tfjs computes a second-order gradient, as WGAN-GP's penalty does, by taping
 * the first backward pass; a fused kernel has no gradient of its own), and plain tf ops otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, adamUpdateKernel } from './fused-adam';
import { heapF32 as heap, type Info, type WasmKernelArgs as KernelArgs } from './wasm-heap';

export const INSTANCE_NORM = 'GanvasInstanceNorm';
export const INSTANCE_NORM_GRAD = 'GanvasInstanceNormGrad';
export const MIRROR_PAD_GRAD = 'GanvasMirrorPadGrad';

const FUSED_BACKENDS = ['wasm', 'native'];

function requireFloat32(op: string, ...infos: Info[]): void {
  for (const i of infos) if (i.dtype !== 'float32') throw new Error(`${op}: only float32 is supported, got ${i.dtype}`);
}

/**
 * The loops below walk one group of 4 channels at a time down the whole H*W plane with the
 * per-channel sums in local variables (V8 keeps them in registers; summing into a Float64Array
 * per element was 1.8x slower), then one channel at a time for a remainder.
 */
function instanceNormKernel({ inputs, backend, attrs }: KernelArgs): Info[] {
  const x = inputs.x;
  requireFloat32(INSTANCE_NORM, x);
  if (x.shape.length !== 4) throw new Error(`${INSTANCE_NORM}: expected an NHWC tensor, got shape [${x.shape.join(', ')}]`);
  const [n, h, w, c] = x.shape;
  const eps = Number(attrs.epsilon);
  const y = backend.makeOutput(x.shape, 'float32');
  const inv = backend.makeOutput([n, 1, 1, c], 'float32');
  // views only after both outputs exist: makeOutput may grow (detach) the heap
  const xs = heap(backend, x);
  const ys = heap(backend, y);
  const is = heap(backend, inv);
  const hw = h * w;
  const invStd = (s: number, q: number): number => 1 / Math.sqrt(Math.max(0, q / hw - (s / hw) * (s / hw)) + eps);
  for (let b = 0; b < n; b++) {
    const base = b * hw * c;
    const end = base + hw * c;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
      for (let o = base + k; o < end; o += c) {
        const v0 = xs[o], v1 = xs[o + 1], v2 = xs[o + 2], v3 = xs[o + 3];
        s0 += v0; s1 += v1; s2 += v2; s3 += v3;
        q0 += v0 * v0; q1 += v1 * v1; q2 += v2 * v2; q3 += v3 * v3;
      }
      const m0 = s0 / hw, m1 = s1 / hw, m2 = s2 / hw, m3 = s3 / hw;
      const i0 = invStd(s0, q0), i1 = invStd(s1, q1), i2 = invStd(s2, q2), i3 = invStd(s3, q3);
      is[b * c + k] = i0; is[b * c + k + 1] = i1; is[b * c + k + 2] = i2; is[b * c + k + 3] = i3;
      for (let o = base + k; o < end; o += c) {
        ys[o] = (xs[o] - m0) * i0;
        ys[o + 1] = (xs[o + 1] - m1) * i1;
        ys[o + 2] = (xs[o + 2] - m2) * i2;
        ys[o + 3] = (xs[o + 3] - m3) * i3;
      }
    }
    for (; k < c; k++) {
      let s0 = 0, q0 = 0;
      for (let o = base + k; o < end; o += c) {
        const v = xs[o];
        s0 += v;
        q0 += v * v;
      }
      const m0 = s0 / hw;
      const i0 = invStd(s0, q0);
      is[b * c + k] = i0;
      for (let o = base + k; o < end; o += c) ys[o] = (xs[o] - m0) * i0;
    }
  }
  return [y, inv];
}

/** dx = invStd * (dy - mean(dy) - y * mean(dy * y)), per sample and channel. */
function instanceNormGradKernel({ inputs, backend }: KernelArgs): Info {
  const { dy, y, invStd } = inputs;
  requireFloat32(INSTANCE_NORM_GRAD, dy, y, invStd);
  const [n, h, w, c] = dy.shape;
  const dx = backend.makeOutput(dy.shape, 'float32');
  const ds = heap(backend, dy);
  const ys = heap(backend, y);
  const is = heap(backend, invStd);
  const out = heap(backend, dx);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * hw * c;
    const end = base + hw * c;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (let o = base + k; o < end; o += c) {
        const g0 = ds[o], g1 = ds[o + 1], g2 = ds[o + 2], g3 = ds[o + 3];
        s0 += g0; s1 += g1; s2 += g2; s3 += g3;
        t0 += g0 * ys[o]; t1 += g1 * ys[o + 1]; t2 += g2 * ys[o + 2]; t3 += g3 * ys[o + 3];
      }
      const a0 = is[b * c + k], a1 = is[b * c + k + 1], a2 = is[b * c + k + 2], a3 = is[b * c + k + 3];
      const m0 = (a0 * s0) / hw, m1 = (a1 * s1) / hw, m2 = (a2 * s2) / hw, m3 = (a3 * s3) / hw;
      const r0 = (a0 * t0) / hw, r1 = (a1 * t1) / hw, r2 = (a2 * t2) / hw, r3 = (a3 * t3) / hw;
      for (let o = base + k; o < end; o += c) {
        out[o] = a0 * ds[o] - m0 - r0 * ys[o];
        out[o + 1] = a1 * ds[o + 1] - m1 - r1 * ys[o + 1];
        out[o + 2] = a2 * ds[o + 2] - m2 - r2 * ys[o + 2];
        out[o + 3] = a3 * ds[o + 3] - m3 - r3 * ys[o + 3];
      }
    }
    for (; k < c; k++) {
      let s0 = 0, t0 = 0;
      for (let o = base + k; o < end; o += c) {
        s0 += ds[o];
        t0 += ds[o] * ys[o];
      }
      const a0 = is[b * c + k];
      const m0 = (a0 * s0) / hw;
      const r0 = (a0 * t0) / hw;
      for (let o = base + k; o < end; o += c) out[o] = a0 * ds[o] - m0 - r0 * ys[o];
    }
  }
  return dx;
}

/** Index of the unpadded position that padded index q (of an axis of length len, `before` padded in front) was copied from. */
function sourceIndex(q: number, before: number, len: number, off: number): number {
  if (q < before) return before - q - 1 + off;
  const k = q - before - len;
  return k < 0 ? q - before : len - 1 - off - k;
}

function mirrorPadGradKernel({ inputs, backend, attrs }: KernelArgs): Info {
  const dy = inputs.dy;
  requireFloat32(MIRROR_PAD_GRAD, dy);
  const xShape = attrs.xShape as number[];
  const paddings = attrs.paddings as [number, number][];
  const off = attrs.mode === 'reflect' ? 1 : 0;
  const [n, h, w, c] = xShape;
  const [, ph, pw] = dy.shape;
  const top = paddings[1][0];
  const left = paddings[2][0];
  const dx = backend.makeOutput(xShape, 'float32');
  const ds = heap(backend, dy);
  const out = heap(backend, dx);
  const rowSrc = Int32Array.from({ length: ph }, (_, q) => sourceIndex(q, top, h, off));
  const colSrc = Int32Array.from({ length: pw }, (_, r) => sourceIndex(r, left, w, off));
  const rowLen = w * c;
  for (let b = 0; b < n; b++) {
    // the centre of dy is dx's starting value: one block copy per row
    for (let i = 0; i < h; i++) {
      const from = ((b * ph + i + top) * pw + left) * c;
      out.set(ds.subarray(from, from + rowLen), (b * h + i) * rowLen);
    }
    // then every border pixel of dy is added onto the pixel it was copied from
    for (let q = 0; q < ph; q++) {
      const border = q < top || q >= top + h;
      const dstRow = (b * h + rowSrc[q]) * w;
      const srcRow = (b * ph + q) * pw;
      for (let r = 0; r < pw; r++) {
        if (!border && r >= left && r < left + w) {
          r = left + w - 1; // skip the centre, already copied
          continue;
        }
        const d = (dstRow + colSrc[r]) * c;
        const o = (srcRow + r) * c;
        for (let k = 0; k < c; k++) out[d + k] += ds[o + k];
      }
    }
  }
  return dx;
}

let stockResizeGrad: tf.KernelFunc | null = null;

function resizeNearestGradKernel(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const { images, dy } = inputs;
  const [n, ih, iw, c] = images.shape;
  const [, oh, ow] = dy.shape;
  const fy = oh / ih;
  const fx = ow / iw;
  const plain = !attrs.alignCorners && !attrs.halfPixelCenters;
  if (!plain || !Number.isInteger(fy) || !Number.isInteger(fx) || dy.dtype !== 'float32') {
    return stockResizeGrad!(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  }
  // forward: out[i, j] = in[floor(i / fy), floor(j / fx)]
  const dx = backend.makeOutput(images.shape, 'float32');
  const ds = heap(backend, dy);
  const out = heap(backend, dx);
  out.fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const dstRow = (b * ih + Math.floor(i / fy)) * iw;
      let o = (b * oh + i) * ow * c;
      for (let j = 0; j < ow; j++, o += c) {
        const d = (dstRow + Math.floor(j / fx)) * c;
        for (let k = 0; k < c; k++) out[d + k] += ds[o + k];
      }
    }
  }
  return dx;
}

/** Identity without a copy: tensors are immutable, so the output may share the input's buffer. */
function sharedIdentityKernel({ inputs, backend }: KernelArgs): Info {
  const x = inputs.x;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let stockCast: tf.KernelFunc | null = null;
let stockSlice: tf.KernelFunc | null = null;

/** Slice by contiguous blocks straight from the heap (see the header); strings go to the stock kernel. */
function sliceKernel(args: KernelArgs): Info {
  const { inputs, backend, attrs } = args;
  const x = inputs.x;
  if (x.dtype === 'string') return stockSlice!(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
  const out = backend.makeOutput(size, x.dtype);
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  const xs = backend.typedArrayFromHeap(x);
  const os = backend.typedArrayFromHeap(out);
  const shape = x.shape;
  const rank = shape.length;
  // merge trailing axes that are kept whole into one block, plus the last axis that is cut
  let axis = rank - 1;
  let block = 1;
  while (axis >= 0 && begin[axis] === 0 && size[axis] === shape[axis]) block *= shape[axis--];
  if (axis < 0) {
    os.set(xs.subarray(0, total));
    return out;
  }
  const inner = block; // elements per step along `axis`
  block *= size[axis];
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  const outer = total / block;
  const idx = new Array<number>(axis).fill(0);
  for (let o = 0; o < outer; o++) {
    let off = begin[axis] * inner;
    for (let i = 0; i < axis; i++) off += (begin[i] + idx[i]) * strides[i];
    os.set(xs.subarray(off, off + block), o * block);
    for (let i = axis - 1; i >= 0; i--) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** Cast to the dtype the tensor already has shares its buffer; real conversions go to the stock kernel. */
function castKernel(args: KernelArgs): Info {
  const x = args.inputs.x;
  if (x.dtype === args.attrs.dtype && x.dtype !== 'string') return sharedIdentityKernel(args);
  return stockCast!(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
}

const ours = new WeakSet<object>();

function register(kernelName: string, backendName: string, impl: (args: KernelArgs) => Info | Info[]): void {
  const existing = tf.getKernel(kernelName, backendName);
  if (existing && ours.has(existing.kernelFunc)) return;
  if (existing) tf.unregisterKernel(kernelName, backendName);
  const kernelFunc = impl as unknown as tf.KernelFunc;
  ours.add(kernelFunc);
  // keep the stock kernel's setup (wasm binds its C function there): the fallback calls it
  tf.registerKernel({ ...existing, kernelName, backendName, kernelFunc });
}

/** Registers the fused kernels for 'wasm' and 'native' and the instance-norm gradient (idempotent). */
export function registerFusedKernels(): void {
  const stock = tf.getKernel(tf.ResizeNearestNeighborGrad, 'wasm');
  if (stock && !ours.has(stock.kernelFunc)) stockResizeGrad = stock.kernelFunc;
  const cast = tf.getKernel(tf.Cast, 'wasm');
  if (cast && !ours.has(cast.kernelFunc)) stockCast = cast.kernelFunc;
  const slice = tf.getKernel(tf.Slice, 'wasm');
  if (slice && !ours.has(slice.kernelFunc)) stockSlice = slice.kernelFunc;
  for (const b of FUSED_BACKENDS) {
    register(INSTANCE_NORM, b, instanceNormKernel);
    register(INSTANCE_NORM_GRAD, b, instanceNormGradKernel);
    register(MIRROR_PAD_GRAD, b, mirrorPadGradKernel);
    if (stockResizeGrad) register(tf.ResizeNearestNeighborGrad, b, resizeNearestGradKernel);
    register(tf.Identity, b, sharedIdentityKernel);
    if (stockCast) register(tf.Cast, b, castKernel);
    if (stockSlice) register(tf.Slice, b, sliceKernel);
    register(ADAM_UPDATE, b, adamUpdateKernel);
  }
  registerInstanceNormGradient();
}

let gradientRegistered = false;

function registerInstanceNormGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: INSTANCE_NORM,
    outputsToSave: [true, true],
    gradFunc: (dys, saved) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor4D;
      const [y, invStd] = saved as [tf.Tensor4D, tf.Tensor4D];
      return { x: () => instanceNormBackward(dy, y, invStd) };
    },
  });
}

/** True when `kernelName` runs on the active backend and what it computes will not be differentiated again. */
function fusedUsable(kernelName: string, maxGradientDepth: number): boolean {
  const depth = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth;
  return depth <= maxGradientDepth && tf.getKernel(kernelName, tf.getBackend()) != null;
}

function instanceNormBackward(dy: tf.Tensor4D, y: tf.Tensor4D, invStd: tf.Tensor4D): tf.Tensor {
  if (fusedUsable(INSTANCE_NORM_GRAD, 0)) return tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, y, invStd }) as tf.Tensor;
  return tf.tidy(() => {
    const mdy = tf.mean(dy, [1, 2], true);
    const mdyy = tf.mean(tf.mul(dy, y), [1, 2], true);
    return tf.mul(tf.sub(tf.sub(dy, mdy), tf.mul(y, mdyy)), invStd);
  });
}

/**
 * Instance normalisation of an NHWC tensor over H and W: (x - mean) / sqrt(variance + epsilon).
 * Fused where the backend has the kernel and the forward pass is taped at most once (an ordinary
 * training step; not the inner forward pass of a gradient penalty), plain tf ops otherwise.
 */
export function instanceNormalize(x: tf.Tensor4D, epsilon: number): tf.Tensor4D {
  if (fusedUsable(INSTANCE_NORM, 1)) {
    const [y] = tf.engine().runKernel(INSTANCE_NORM, { x }, { epsilon }) as unknown as tf.Tensor4D[];
    return y;
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  });
}

/**
 * The fused MirrorPad gradient for NHWC tensors padded on H and W only, or null when it does not
 * apply (other backends, other layouts, or a gradient that will itself be differentiated).
 */
export function fusedMirrorPadGradient(dy: tf.Tensor, xShape: number[], paddings: [number, number][], mode: string): tf.Tensor | null {
  if (xShape.length !== 4 || dy.dtype !== 'float32') return null;
  if (paddings[0][0] || paddings[0][1] || paddings[3][0] || paddings[3][1]) return null;
  if (!fusedUsable(MIRROR_PAD_GRAD, 0)) return null;
  return tf.engine().runKernel(MIRROR_PAD_GRAD, { dy }, { xShape, paddings, mode } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
