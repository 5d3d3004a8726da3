/**
 * Forward 3x3 convolution (stride 1, same padding) on onnxruntime-node, three formulations side by
 * side in one process: the native backend's `Conv` graph (NHWC<->NCHW transposes inside), NHWC
 * im2col (Pad, 9 Slices, Concat) + one MatMul, and the sum of 9 per-tap MatMuls. Prints one JSON
 * line per shape: median ms of 35 calls, GFLOP/s, and the largest difference from the `Conv`.
 * Session 22 measured it for issue 12's ResNet-block shape (docs/backends.md).
 *
 *   T=2 npx tsx bench/conv-im2col.ts     # T: onnxruntime intra-op threads (default 2)
 */
import { loadOrt, SessionCache, type SessionSpec } from '../training/backends/native/ort';
import { convForwardGraph, NO_EPILOGUE, type ConvGeom } from '../training/backends/native/graphs';
import { GraphBuilder, attr, encodeModel } from '../training/export/onnx/builder';
const L = loadOrt(); if (!L.ok) throw new Error(L.why);
const threads = Number(process.env.T ?? 2);
const cache = new SessionCache(L.ort, 64, threads);
function geom(n: number, h: number, ci: number, co: number): ConvGeom {
  return { n, h, w: h, ci, co, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, bottom: 1, left: 1, right: 1, oh: h, ow: h };
}
function im2colGraph(c: ConvGeom, variant: string): SessionSpec {
  const g = new GraphBuilder(); for (const n of ['x', 'w']) g.reserve(n);
  const xp = g.op('Pad', ['x', g.int64('pads', [0, 1, 1, 0, 0, 1, 1, 0])]);
  const taps: string[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++)
    taps.push(g.op('Slice', [xp, g.int64(`s${i}${j}`, [i, j]), g.int64(`e${i}${j}`, [i + c.h, j + c.w]), g.int64(`a${i}${j}`, [1, 2])]));
  let y: string;
  if (variant === 'concat') {
    const col = g.op('Concat', taps, { axis: attr.int(3) });
    const m = g.op('Reshape', [col, g.int64('rs', [c.n * c.h * c.w, 9 * c.ci])]);
    const wm = g.op('Reshape', ['w', g.int64('ws', [9 * c.ci, c.co])]);
    y = g.op('MatMul', [m, wm]);
  } else {
    // sum of 9 matmuls
    const wm = g.op('Reshape', ['w', g.int64('ws', [9, c.ci, c.co])]);
    let acc = '';
    taps.forEach((t, k) => {
      const wk = g.op('Gather', [wm, g.int64(`k${k}`, [k], [])], { axis: attr.int(0) });
      const p = g.op('MatMul', [t, wk]);
      acc = acc ? g.op('Add', [acc, p]) : p;
    });
    y = acc;
  }
  y = g.op('Reshape', [y, g.int64('os', [c.n, c.h, c.w, c.co])]);
  g.reserve('y'); g.rename(y, 'y');
  const model = encodeModel(g.toModel({ inputs: [{ name: 'x', dims: [c.n, c.h, c.w, c.ci] }, { name: 'w', dims: [3, 3, c.ci, c.co] }], outputs: [{ name: 'y', dims: [c.n, c.h, c.w, c.co] }], graphName: 'p' }));
  return { op: 'p', model, inputs: ['x', 'w'], outputs: ['y'] };
}
for (const [n, h, ci, co] of [[1, 32, 128, 128], [1, 64, 64, 64], [1, 128, 32, 32], [16, 32, 56, 56]]) {
  const c = geom(n, h, ci, co);
  const x = new Float32Array(n * h * h * ci).map(() => Math.random() - 0.5);
  const w = new Float32Array(9 * ci * co).map(() => (Math.random() - 0.5) * 0.1);
  const outs: Record<string, Float32Array> = {};
  const res: Record<string, number> = {};
  const flops = 2 * n * h * h * ci * co * 9;
  const specs: Record<string, () => SessionSpec> = { conv: () => convForwardGraph('c', c, false, NO_EPILOGUE), concat: () => im2colGraph(c, 'concat'), sum9: () => im2colGraph(c, 'sum9') };
  const times: Record<string, number[]> = {};
  const entries = Object.fromEntries(Object.entries(specs).map(([k, b]) => [k, cache.get(`${k} ${n} ${h} ${ci}`, b)]));
  for (let r = 0; r < 40; r++) for (const k of Object.keys(specs)) {
    const y = new Float32Array(n * h * h * co);
    const t0 = performance.now();
    cache.run(entries[k], [{ data: x, dims: [n, h, h, ci] }, { data: w, dims: [3, 3, ci, co] }], [{ data: y, dims: [n, h, h, co] }]);
    (times[k] ??= []).push(performance.now() - t0); outs[k] = y;
  }
  for (const k of Object.keys(times)) { const s = times[k].slice(5).sort((a, b) => a - b); res[k] = s[s.length >> 1]; }
  let md = 0; for (let i = 0; i < outs.conv.length; i++) md = Math.max(md, Math.abs(outs.conv[i] - outs.concat[i]), Math.abs(outs.conv[i] - outs.sum9[i]));
  console.log(JSON.stringify({ shape: [n, h, ci, co], threads, ms: res, gflops: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, +(flops / v / 1e6).toFixed(1)])), maxdiff: md }));
}
