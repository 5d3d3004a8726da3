/**
 * Area-average (box) downscaling of RGBA images: every output pixel is the exact mean of the input
 * area it covers, fractional edges weighted by coverage. Pure; the same result in Node and the browser.
 */

/** Per output index: the input indices it covers and their weights (summing to 1). */
function areaTaps(inLen: number, outLen: number): { start: Int32Array; count: Int32Array; weights: Float32Array; stride: number } {
  const ratio = inLen / outLen;
  const stride = Math.ceil(ratio) + 1;
  const start = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const weights = new Float32Array(outLen * stride);
  for (let o = 0; o < outLen; o++) {
    const a = o * ratio, b = (o + 1) * ratio;
    const i0 = Math.floor(a), i1 = Math.min(inLen, Math.ceil(b));
    start[o] = i0;
    count[o] = i1 - i0;
    for (let i = i0; i < i1; i++) weights[o * stride + i - i0] = (Math.min(b, i + 1) - Math.max(a, i)) / ratio;
  }
  return { start, count, weights, stride };
}

/** Downscales a W x H RGBA image to w x h (w <= W, h <= H) by area averaging; alpha is set to 255. */
export function downscaleRGBA(src: Uint8Array | Uint8ClampedArray, W: number, H: number, w: number, h: number): Uint8ClampedArray {
  if (!(w >= 1 && h >= 1 && w <= W && h <= H) || !Number.isInteger(w) || !Number.isInteger(h)) {
    throw new Error(`downscaleRGBA: target ${w}x${h} must be positive integers no larger than the source ${W}x${H}`);
  }
  if (src.length < W * H * 4) throw new Error(`downscaleRGBA: buffer holds ${src.length} bytes, a ${W}x${H} RGBA image needs ${W * H * 4}`);
  const tx = areaTaps(W, w), ty = areaTaps(H, h);
  // horizontal pass into a float buffer of w x H x 3, then vertical
  const rows = new Float32Array(w * H * 3);
  for (let y = 0; y < H; y++) {
    for (let o = 0; o < w; o++) {
      let r = 0, g = 0, b = 0;
      const s0 = tx.start[o], n = tx.count[o];
      for (let j = 0; j < n; j++) {
        const wt = tx.weights[o * tx.stride + j];
        const s = (y * W + s0 + j) * 4;
        r += src[s] * wt;
        g += src[s + 1] * wt;
        b += src[s + 2] * wt;
      }
      const d = (y * w + o) * 3;
      rows[d] = r;
      rows[d + 1] = g;
      rows[d + 2] = b;
    }
  }
  const out = new Uint8ClampedArray(w * h * 4);
  for (let o = 0; o < h; o++) {
    const s0 = ty.start[o], n = ty.count[o];
    for (let x = 0; x < w; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < n; j++) {
        const wt = ty.weights[o * ty.stride + j];
        const s = ((s0 + j) * w + x) * 3;
        r += rows[s] * wt;
        g += rows[s + 1] * wt;
        b += rows[s + 2] * wt;
      }
      const d = (o * w + x) * 4;
      out[d] = Math.round(r);
      out[d + 1] = Math.round(g);
      out[d + 2] = Math.round(b);
      out[d + 3] = 255;
    }
  }
  return out;
}
