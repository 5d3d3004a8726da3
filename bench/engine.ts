/**
 * Engine bench (`npm run bench:engine`): both CPU training backends measured in the same run.
 *  - plain `wasm` (tfjs-backend-wasm, XNNPACK, one thread) and `native` (the same backend with its
 *    convolutions, their gradients and matrix products on onnxruntime-node's CPU kernels, 2 threads)
 *  - rows: forward 3x3 conv; ResNet generator step (ngf 32, 6 blocks, 128x128); 70x70 PatchGAN step;
 *    a full CycleGAN step (G and F light generators ngf 32, two PatchGANs, both Adam updates) at
 *    128 and 256 px; an SR quality-tier x2 step (batch 16); the onnxruntime MatMul ceiling
 *  - each row as wall time and process CPU time, GFLOP/s (from wall time: native uses both cores,
 *    so its CPU time is about twice its wall time) and % of the MatMul ceiling, and native / wasm
 *  - the filter-gradient formulations (im2col + SGEMM vs the swapped-axes Conv) per shape class
 *  - the kernels that dominate a step on each backend (tf.profile)
 *  - a leak check: RSS, tensors and sessions over --leak-steps (default 1000) native steps
 *  - optional: the cpu backend (--cpu-steps N) and a WebGPU (Dawn) correctness row (--webgpu)
 * Prints JSON on stdout and writes docs/bench-engine.md.
 *
 * Options: --steps N (timed steps per row, default 3), --leak-steps N, --cpu-steps N, --webgpu, --out PATH;
 * --leak-only N runs only the leak check and re-renders the last run's JSON (docs/bench-engine.json) with it;
 * --no-cyclegan skips the CycleGAN and CUT worker rows, --cyclegan-only measures only those and merges them into the
 * last run's JSON (each row still measures both backends in one process), --crops 128,256 sets their sizes,
 * --warmup N their untimed first steps (default 1).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../training/backends';
import { installLazyConvGradients } from '../training/backends/lazy-conv';
import { adam } from '../training/backends/fused-adam';
import { loadOrt, SessionCache } from '../training/backends/native/ort';
import { nativeStats, nativeThreadCount, setFilterGradMethod, setNativeThreads } from '../training/backends/native/kernels';
import { GraphBuilder, encodeModel } from '../training/export/onnx/builder';
import { resnetGenerator } from '../training/models/resnet-generator';
import { patchGan } from '../training/models/patchgan';
import { buildSrModel } from '../training/models/sr';
import { macs } from '../training/models/stats';
import { CycleGanTrainer, type TrainerOptions } from '../training/tasks/cyclegan/trainer';
import { planDomainWorker } from '../training/tasks/cyclegan/domain-worker';
import { CutTrainer, modeDefaults, type CutOptions } from '../training/tasks/cut/trainer';
import { planIdentityWorker } from '../training/tasks/cut/identity-worker';
import { startPlannedWorker } from '../training/tasks/shared/half-worker';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const has = (name: string): boolean => process.argv.includes(`--${name}`);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function machine(): Record<string, string | number> {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /model name\s*:\s*(.+)/.exec(info);
    if (m) cpuModel = m[1].trim();
    const f = /flags\s*:\s*(.+)/.exec(info)?.[1] ?? '';
    flags = ['avx2', 'fma', 'avx512f'].filter((x) => f.split(' ').includes(x)).join(' ');
  } catch {
    // not Linux
  }
  return {
    cpuModel,
    simd: flags,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tfjs: tf.version_core,
    platform: `${os.platform()} ${os.arch()}`,
    loadavg1m: Number(os.loadavg()[0].toFixed(2)),
  };
}

interface Timing {
  /** wall ms per run */
  wall: number[];
  /** process CPU ms (user + system, all threads) per run */
  cpu: number[];
}

async function timeIt(fn: () => Promise<void> | void, warmup: number, runs: number): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: Timing = { cpu: [], wall: [] };
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await fn();
    t.wall.push(performance.now() - w0);
    const c = process.cpuUsage(c0);
    t.cpu.push((c.user + c.system) / 1000);
  }
  return t;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Measure {
  wallMs: number;
  cpuMs: number;
  runs: number;
  gflops: number;
}

function measure(t: Timing, flops: number): Measure {
  const wallMs = median(t.wall);
  return { wallMs, cpuMs: median(t.cpu), runs: t.wall.length, gflops: flops / wallMs / 1e6 };
}

/** onnxruntime's SGEMM through the same binding and session options: the practical ceiling. */
function matMulCeiling(): { n: number; threads2: Measure; threads1: Measure } {
  const load = loadOrt();
  if (!load.ok) throw new Error(load.why);
  const n = 2048;
  const one = (threads: number): Measure => {
    const cache = new SessionCache(load.ort, 2, threads);
    const g = new GraphBuilder();
    g.reserve('a');
    g.reserve('b');
    g.reserve('y');
    g.node('MatMul', ['a', 'b'], {}, { outputs: ['y'] });
    const model = encodeModel(g.toModel({ inputs: [{ name: 'a', dims: [n, n] }, { name: 'b', dims: [n, n] }], outputs: [{ name: 'y', dims: [n, n] }] }));
    const e = cache.get('matmul', () => ({ op: 'MatMul', model, inputs: ['a', 'b'], outputs: ['y'] }));
    const a = new Float32Array(n * n).fill(0.5);
    const b = new Float32Array(n * n).fill(0.25);
    const y = new Float32Array(n * n);
    const run = (): void => cache.run(e, [{ data: a, dims: [n, n] }, { data: b, dims: [n, n] }], [{ data: y, dims: [n, n] }]);
    const t = { wall: [] as number[], cpu: [] as number[] };
    run();
    for (let i = 0; i < 5; i++) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      run();
      t.wall.push(performance.now() - w0);
      const c = process.cpuUsage(c0);
      t.cpu.push((c.user + c.system) / 1000);
    }
    cache.clear();
    return measure(t, 2 * n * n * n);
  };
  return { n, threads2: one(2), threads1: one(1) };
}

async function convRow(backend: string, steps: number): Promise<Measure> {
  await tf.setBackend(backend);
  const [h, w, c] = [128, 128, 64];
  const x = tf.randomNormal([1, h, w, c]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, c, c]) as tf.Tensor4D;
  const t = await timeIt(
    () => {
      const y = tf.conv2d(x, f, 1, 'same');
      y.dataSync();
      y.dispose();
    },
    2,
    Math.max(steps, 10),
  );
  tf.dispose([x, f]);
  return measure(t, 2 * h * w * c * c * 9);
}

/** One training step: forward, gradients of all trainable weights, Adam update. */
function makeStep(m: LayersModel, inShape: number[]): { step: () => Promise<void>; dispose: () => void } {
  const outShape = (tf.tidy(() => m.predict(tf.zeros(inShape))) as tf.Tensor).shape;
  const x = tf.randomUniform(inShape, -1, 1, 'float32', 1);
  const target = tf.randomUniform(outShape, -1, 1, 'float32', 2);
  const opt = adam(2e-4, 0.5, 0.999); // the trainers' optimizer (fused update on wasm and native)
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    step: async () => {
      const loss = opt.minimize(() => tf.mean(tf.abs(tf.sub(m.apply(x, { training: true }) as tf.Tensor, target))), true, vars);
      await loss!.data();
      loss!.dispose();
    },
    dispose: () => {
      tf.dispose([x, target]);
      opt.dispose();
    },
  };
}

async function modelStepRow(backend: string, build: () => LayersModel, inShape: number[], flops: number, steps: number): Promise<Measure> {
  await tf.setBackend(backend);
  const m = build();
  const { step, dispose } = makeStep(m, inShape);
  const t = await timeIt(step, 1, steps);
  dispose();
  m.dispose();
  return measure(t, flops);
}

const CYCLEGAN: Omit<TrainerOptions, 'crop'> = {
  generator: 'light',
  ngf: 32,
  nBlocks: 6,
  ndf: 64,
  dLayers: 3,
  loss: 'lsgan',
  lambdaCycle: 10,
  lambdaIdt: 0.5,
  gpWeight: 10,
  poolSize: 50,
  lr: 2e-4,
  lrD: 2e-4,
  beta1: 0.5,
  batchSize: 1,
  steps: 1000,
  decayFrom: 500,
  seed: 1,
};

/**
 * FLOPs of one CycleGAN step (identity loss on): the G step runs the generators 6 times and the
 * discriminators twice forward, the D step the discriminators 4 times; backward counted as 2x forward.
 */
function cycleGanFlops(gMacs: number, dMacs: number): number {
  return 2 * 3 * (6 * gMacs + 2 * dMacs + 4 * dMacs);
}

/** What a GAN step row needs of a trainer. */
interface SteppedTrainer {
  trainStep(a: Float32Array, b: Float32Array): unknown;
  dispose(): void;
  readonly opts: { crop: number; batchSize: number };
}

/**
 * One GAN trainer's step time on `backend` (median wall and CPU over `steps`, after the warm-up);
 * `worker` plans and starts its half-step worker first (training/tasks/shared/half-worker.ts), with
 * the training thread's onnxruntime threads cut to the plan's share, as the run loops do.
 */
async function ganStepRow<T extends SteppedTrainer>(
  backend: string,
  create: () => Promise<T>,
  steps: number,
  flops: number,
  worker?: { plan: (t: T) => { threads: number } | { why: string }; start: (t: T, threads: number) => Promise<void> },
): Promise<Measure> {
  await tf.setBackend(backend);
  const t = await create();
  const threads = nativeThreadCount();
  if (worker) {
    const plan = await startPlannedWorker(worker.plan(t), backend, (n) => worker.start(t, n));
    if ('why' in plan) throw new Error(`no step worker here: ${plan.why}`);
  }
  const n = t.opts.batchSize * t.opts.crop * t.opts.crop * 3;
  const a = new Float32Array(n).map((_, i) => Math.sin(i * 0.01));
  const b = new Float32Array(n).map((_, i) => Math.cos(i * 0.013));
  const timing = await timeIt(() => void t.trainStep(a, b), Number(arg('warmup', '1')), steps);
  t.dispose();
  setNativeThreads(threads);
  return measure(timing, flops);
}

/** A CycleGAN step's time on `backend`, with the domain worker (training/tasks/cyclegan/domain-worker.ts) when `worker`. */
const cycleGanRow = (backend: string, crop: number, flops: number, steps: number, worker = false): Promise<Measure> =>
  ganStepRow(backend, () => CycleGanTrainer.create({ ...CYCLEGAN, crop }), steps, flops, worker ? { plan: (t) => planDomainWorker(t.opts, backend), start: (t, n) => t.startDomainWorker(n) } : undefined);

/** The shipped horse2zebra CUT's networks (tiny generator ngf 32, 6 blocks; PatchGAN ndf 32), CUT mode with identity NCE. */
const CUT_BENCH: CutOptions = {
  mode: 'cut',
  ...modeDefaults('cut'),
  generator: 'tiny',
  ngf: 32,
  nBlocks: 6,
  ndf: 32,
  dLayers: 3,
  loss: 'lsgan',
  lambdaGan: 1,
  numPatches: 256,
  nceT: 0.07,
  netFNc: 256,
  gpWeight: 10,
  lr: 2e-4,
  lrD: 2e-4,
  beta1: 0.5,
  batchSize: 1,
  crop: 128,
  steps: 1000,
  decayFrom: 500,
  seed: 1,
};

/** A CUT step's time on `backend`, with the identity worker (training/tasks/cut/identity-worker.ts) when `worker`. */
const cutRow = (backend: string, steps: number, worker = false): Promise<Measure> =>
  ganStepRow(backend, () => CutTrainer.create(CUT_BENCH), steps, 0, worker ? { plan: (t) => planIdentityWorker(t.opts, backend), start: (t, n) => t.startIdentityWorker(n) } : undefined);

async function kernelProfile(backend: string, build: () => LayersModel, inShape: number[]): Promise<{ kernel: string; ms: number; share: number }[]> {
  await tf.setBackend(backend);
  const m = build();
  const { step, dispose } = makeStep(m, inShape);
  await step();
  const prof = await tf.profile(step);
  dispose();
  m.dispose();
  const byKernel = new Map<string, number>();
  for (const k of prof.kernels) {
    if (k.name.endsWith('__op')) continue;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  return [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([kernel, ms]) => ({ kernel, ms: Number(ms.toFixed(1)), share: Number((ms / total).toFixed(3)) }));
}

interface FilterGradRow {
  shape: string;
  gflopPerCall: number;
  im2colMs: number;
  convMs: number;
  /** the dy-taps formulation (stride 1 only; absent in runs before session 12) */
  dycolMs?: number;
  wasmMs: number;
  auto: string;
}

/** Conv2DBackpropFilter per shape class: both native formulations and plain wasm's im2col kernel. */
async function filterGradRows(): Promise<FilterGradRow[]> {
  const classes = [
    { n: 1, h: 128, w: 128, ci: 3, co: 32, k: 7, s: 1, pad: 'valid' as const, what: 'generator stem 7x7 3->32 (reflect-padded 134x134)' },
    { n: 1, h: 128, w: 128, ci: 32, co: 32, k: 3, s: 1, pad: 'same' as const, what: '3x3 32->32 at 128' },
    { n: 1, h: 128, w: 128, ci: 64, co: 64, k: 3, s: 1, pad: 'same' as const, what: '3x3 64->64 at 128' },
    { n: 1, h: 64, w: 64, ci: 32, co: 64, k: 3, s: 2, pad: 'same' as const, what: '3x3 s2 32->64 at 64' },
    { n: 1, h: 32, w: 32, ci: 128, co: 128, k: 3, s: 1, pad: 'same' as const, what: '3x3 128->128 at 32 (ResNet block)' },
    { n: 1, h: 64, w: 64, ci: 64, co: 128, k: 4, s: 2, pad: 'same' as const, what: 'PatchGAN 4x4 s2 64->128 at 64' },
    { n: 16, h: 32, w: 32, ci: 56, co: 56, k: 3, s: 1, pad: 'same' as const, what: 'SR 3x3 56->56, batch 16 of 32x32 LR patches (the shipped quality network)' },
    { n: 1, h: 128, w: 128, ci: 32, co: 3, k: 7, s: 1, pad: 'same' as const, what: 'generator head 7x7 32->3 at 128' },
    { n: 1, h: 256, w: 256, ci: 16, co: 3, k: 3, s: 1, pad: 'same' as const, what: 'tiny generator head 3x3 16->3 at 256' },
  ];
  const rows: FilterGradRow[] = [];
  for (const c of classes) {
    const h = c.k === 7 ? c.h + 6 : c.h;
    const w = c.k === 7 ? c.w + 6 : c.w;
    const oh = c.pad === 'same' ? Math.ceil(h / c.s) : Math.ceil((h - c.k + 1) / c.s);
    const ow = c.pad === 'same' ? Math.ceil(w / c.s) : Math.ceil((w - c.k + 1) / c.s);
    const x = tf.randomNormal([c.n, h, w, c.ci]);
    const dy = tf.randomNormal([c.n, oh, ow, c.co]);
    const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', filterShape: [c.k, c.k, c.ci, c.co] } as unknown as tf.NamedAttrMap;
    const call = (): void => {
      const g = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
      g.dataSync();
      g.dispose();
    };
    const flops = 2 * c.n * oh * ow * c.k * c.k * c.ci * c.co;
    await tf.setBackend('native');
    setFilterGradMethod('im2col');
    const im2col = median((await timeIt(call, 1, 5)).wall);
    setFilterGradMethod('conv');
    const conv = median((await timeIt(call, 1, 5)).wall);
    let dycol: number | undefined;
    if (c.s === 1) {
      setFilterGradMethod('dycol');
      dycol = median((await timeIt(call, 1, 5)).wall);
    }
    setFilterGradMethod('auto');
    await tf.setBackend('wasm');
    const wasm = median((await timeIt(call, 1, 3)).wall);
    const { pickFilterGradMethod } = await import('../training/backends/native/kernels');
    const auto = pickFilterGradMethod({ n: c.n, h, w, ci: c.ci, co: c.co, kh: c.k, kw: c.k, sh: c.s, sw: c.s, dh: 1, dw: 1, top: 0, bottom: 0, left: 0, right: 0, oh, ow });
    tf.dispose([x, dy]);
    rows.push({ shape: c.what, gflopPerCall: flops / 1e9, im2colMs: im2col, convMs: conv, dycolMs: dycol, wasmMs: wasm, auto });
  }
  return rows;
}

/** RSS, tensors, wasm buffers and sessions over many native steps of a small generator (no leaks). */
async function leakCheck(steps: number): Promise<Record<string, unknown>> {
  await tf.setBackend('native');
  const m = resnetGenerator({ ngf: 8, nBlocks: 2 });
  const { step, dispose } = makeStep(m, [2, 64, 64, 3]);
  for (let i = 0; i < 20; i++) await step();
  const sample = (i: number) => ({
    step: i,
    rssMiB: Number((process.memoryUsage().rss / 2 ** 20).toFixed(1)),
    tensors: tf.memory().numTensors,
    buffers: tf.engine().backend.numDataIds(),
    sessions: nativeStats().sessions,
  });
  const samples = [sample(0)];
  for (let i = 1; i <= steps; i++) {
    await step();
    if (i % Math.max(1, Math.floor(steps / 10)) === 0) samples.push(sample(i));
  }
  dispose();
  m.dispose();
  const first = samples[1] ?? samples[0];
  const last = samples[samples.length - 1];
  return {
    model: 'ResNet generator ngf 8, 2 blocks, batch 2, 64x64, native',
    steps,
    samples,
    rssGrowthMiB: Number((last.rssMiB - first.rssMiB).toFixed(1)),
    load: `1-minute load average ${os.loadavg()[0].toFixed(2)} at the end`,
    flat: last.tensors === first.tensors && last.buffers === first.buffers && last.sessions === first.sessions,
  };
}

/** Child-process mode: is WebGPU (Dawn) numerically right? Compares with wasm on small shapes. */
async function webgpuCheck(): Promise<void> {
  const size = 32;
  // wasm first: data moves wasm -> webgpu fine, but webgpu -> wasm needs a sync GPU read that
  // Node's Dawn cannot do (tfjs-backend-webgpu uses OffscreenCanvas for it).
  await initBackend({ backend: 'wasm', log: () => {} });
  const m = resnetGenerator({ ngf: 8, nBlocks: 2 });
  const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1);
  const run = async (): Promise<{ y: Float32Array; g: Float32Array }> => {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads: gs } = tf.variableGrads(() => tf.mean(tf.square(m.apply(x, { training: true }) as tf.Tensor)), vars);
    const y = tf.tidy(() => m.apply(x) as tf.Tensor);
    const flat = tf.concat(vars.map((v) => tf.reshape(gs[v.name], [-1])));
    const out = { y: (await y.data()) as Float32Array, g: (await flat.data()) as Float32Array };
    tf.dispose([value, gs, y, flat]);
    return out;
  };
  const onWasm = await run();
  const report = await initBackend({ backend: 'webgpu', log: () => {} }).catch((e: Error) => e);
  if (report instanceof Error) {
    console.log(JSON.stringify({ ok: false, why: report.message.split('\n')[0] }));
    return;
  }
  const adapter = report.candidates.find((c) => c.name === 'webgpu')?.why.replace(/:.*$/, '') ?? '';
  const t0 = performance.now();
  const onGpu = await run();
  const gpuMs = performance.now() - t0;
  const rel = (a: Float32Array, b: Float32Array): number => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num = Math.max(num, Math.abs(a[i] - b[i]));
      den = Math.max(den, Math.abs(a[i]));
    }
    return num / den;
  };
  console.log(
    JSON.stringify({
      ok: true,
      adapter,
      model: `ResNet generator ngf 8, 2 blocks, ${size}x${size}, forward + gradients of all weights`,
      forwardRelErr: rel(onWasm.y, onGpu.y),
      gradRelErr: rel(onWasm.g, onGpu.g),
      webgpuMs: Math.round(gpuMs),
    }),
  );
  process.exit(0);
}

function webgpuRow(): Record<string, unknown> {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && existsSync(icd)) env.VK_ICD_FILENAMES = icd;
  if (!existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1') && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
    env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--webgpu-check'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = (res.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) return { ok: false, why: `child failed (status ${res.status}): ${(res.stderr ?? '').trim().split('\n').slice(-1)[0]}` };
  return JSON.parse(line) as Record<string, unknown>;
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

interface Row {
  what: string;
  flopsG: number;
  wasm: Measure;
  native: Measure;
  cpu?: Measure;
  /**
   * CycleGAN rows: the step without and with the domain worker on each backend (`native` above is
   * native with the worker, as `train cyclegan` runs by default; `wasm` plain wasm without it).
   */
  domainWorker?: { wasm: Measure; wasmWorker: Measure; native: Measure; nativeWorker: Measure };
}

interface Result {
  date: string;
  command: string;
  machine: Record<string, string | number>;
  loadDuringRun: string;
  ceiling: { n: number; threads2: Measure; threads1: Measure };
  rows: Row[];
  /** CUT steps with and without the identity worker (training/tasks/cut/identity-worker.ts). */
  cutRows?: { what: string; wasm: Measure; wasmWorker: Measure; native: Measure; nativeWorker: Measure }[];
  targets: { name: string; value: string; target: string; met: boolean | null }[];
  filterGrad: FilterGradRow[];
  profiles: { wasm: { kernel: string; ms: number; share: number }[]; native: { kernel: string; ms: number; share: number }[] };
  leak: Record<string, unknown> | null;
  webgpu: Record<string, unknown> | null;
}

function markdown(r: Result): string {
  const m = r.machine;
  const f = (x: number | undefined, d = 1): string => (x == null ? 'n/a' : x.toFixed(d));
  const ceil = r.ceiling.threads2.gflops;
  const pct = (g: number): string => `${((100 * g) / ceil).toFixed(0)}%`;
  const cell = (x: Measure): string => `${f(x.wallMs, 0)} ms [${f(x.cpuMs, 0)} ms] | ${f(x.gflops)} (${pct(x.gflops)})`;
  const leak = r.leak as { steps: number; model: string; rssGrowthMiB: number; flat: boolean; samples: { step: number; rssMiB: number; tensors: number; buffers: number; sessions: number }[] } | null;
  const lines = [
    '# Engine bench',
    '',
    `Measured ${r.date} in one run of \`${r.command}\` on: ${m.cpuModel} (${m.simd}), ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.platform}, Node ${m.node}, tfjs ${m.tfjs}.`,
    `Machine load: ${r.loadDuringRun}. The cores are shared with other work, which slows every number down.`,
    '',
    '`wasm` is plain tfjs-backend-wasm (XNNPACK, one thread, Ganvas\'s gradient kernels, fused Adam and lazy conv gradients); `native` is the same backend with its convolutions, their gradients and matrix products on onnxruntime-node\'s CPU kernels (2 intra-op threads). ' +
      'Times are the median **wall** time per call, with process CPU time (all threads) in brackets; GFLOP/s are computed from wall time (native keeps both cores busy, so its CPU time is about twice its wall time) and given as % of the onnxruntime MatMul ceiling.',
    '',
    `**Ceiling**: onnxruntime MatMul ${r.ceiling.n}x${r.ceiling.n}x${r.ceiling.n}: **${f(ceil)} GFLOP/s** on 2 threads (${f(r.ceiling.threads2.wallMs, 0)} ms), ${f(r.ceiling.threads1.gflops)} GFLOP/s on 1 thread.`,
    '',
    '| What | GFLOP per call | wasm: wall [CPU] | wasm GFLOP/s (% of ceiling) | native: wall [CPU] | native GFLOP/s (% of ceiling) | speed-up native / wasm (wall) | work ratio (wasm CPU / native CPU) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.rows.map((row) => `| ${row.what} | ${f(row.flopsG, 2)} | ${cell(row.wasm)} | ${cell(row.native)} | **${f(row.wasm.wallMs / row.native.wallMs, 2)}x** | ${f(row.wasm.cpuMs / row.native.cpuMs, 2)}x |`),
    '',
    'The speed-up is what a user waits; the work ratio compares CPU time (all threads), which other processes on the cores disturb less: on an otherwise idle 2-core machine the native wall time would approach half its CPU time.',
    '',
    ...(r.rows.some((row) => row.domainWorker)
      ? [
          '**The domain worker** (training/tasks/cyclegan/domain-worker.ts, on by default in `train cyclegan` on the native and wasm backends): domain B\'s halves of each CycleGAN step in a worker thread beside domain A\'s, one onnxruntime thread each on native; the step computes the same sums (bit-identical at equal thread counts). The CycleGAN rows above compare native with it against plain wasm without it; here every combination, median wall [CPU] per step:',
          '',
          '| CycleGAN step | wasm | wasm + worker | native | native + worker | native + worker / plain wasm | worker gain on wasm / on native |',
          '| --- | --- | --- | --- | --- | --- | --- |',
          ...r.rows
            .filter((row) => row.domainWorker)
            .map((row) => {
              const d = row.domainWorker!;
              const c = (x: Measure): string => `${f(x.wallMs, 0)} ms [${f(x.cpuMs, 0)}]`;
              return `| ${row.what.replace(/, native with the domain worker$/, '')} | ${c(d.wasm)} | ${c(d.wasmWorker)} | ${c(d.native)} | ${c(d.nativeWorker)} | **${f(d.wasm.wallMs / d.nativeWorker.wallMs, 2)}x** | ${f(d.wasm.wallMs / d.wasmWorker.wallMs, 2)}x / ${f(d.native.wallMs / d.nativeWorker.wallMs, 2)}x |`;
            }),
          '',
        ]
      : []),
    ...(r.cutRows?.length
      ? [
          '**The identity worker** (training/tasks/cut/identity-worker.ts, on by default in `train cut` with identity NCE): the identity half of CUT\'s generator step (G(y), its keys and NCE) in a worker thread beside the x half; bit-identical at equal thread counts:',
          '',
          '| CUT step | wasm | wasm + worker | native | native + worker | native + worker / plain wasm | worker gain on wasm / on native |',
          '| --- | --- | --- | --- | --- | --- | --- |',
          ...r.cutRows.map((d) => {
            const c = (x: Measure): string => `${f(x.wallMs, 0)} ms [${f(x.cpuMs, 0)}]`;
            return `| ${d.what} | ${c(d.wasm)} | ${c(d.wasmWorker)} | ${c(d.native)} | ${c(d.nativeWorker)} | **${f(d.wasm.wallMs / d.nativeWorker.wallMs, 2)}x** | ${f(d.wasm.wallMs / d.wasmWorker.wallMs, 2)}x / ${f(d.native.wallMs / d.nativeWorker.wallMs, 2)}x |`;
          }),
          '',
        ]
      : []),
    ...(r.rows.some((row) => row.cpu)
      ? ['cpu backend: ' + r.rows.filter((row) => row.cpu).map((row) => `${row.what}: ${f(row.cpu!.wallMs, 0)} ms`).join('; '), '']
      : []),
    '## Targets (issue 12)',
    '',
    '| Target | Measured | Goal | Met |',
    '| --- | --- | --- | --- |',
    ...r.targets.map((t) => `| ${t.name} | ${t.value} | ${t.target} | ${t.met == null ? 'not measured' : t.met ? 'yes' : 'NO'} |`),
    '',
    '## Filter gradient (Conv2DBackpropFilter): im2col + SGEMM vs swapped-axes Conv vs dy-taps (stride 1)',
    '',
    'Median wall ms per call; `auto` is what the native backend uses for that shape.',
    '',
    '| Shape class | GFLOP | native im2col + Gemm | native swapped-axes Conv | native dy-taps + MatMul | plain wasm | auto |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...r.filterGrad.map(
      (g) =>
        `| ${g.shape} | ${f(g.gflopPerCall, 3)} | ${f(g.im2colMs, 2)} (${f(g.gflopPerCall / g.im2colMs * 1e3)} GFLOP/s) | ${f(g.convMs, 2)} (${f(g.gflopPerCall / g.convMs * 1e3)} GFLOP/s) | ` +
        `${g.dycolMs === undefined ? '-' : `${f(g.dycolMs, 2)} (${f(g.gflopPerCall / g.dycolMs * 1e3)} GFLOP/s)`} | ${f(g.wasmMs, 2)} | ${g.auto} |`,
    ),
    '',
    '## Where a generator step spends its time (tf.profile kernel wall times, one step)',
    '',
    '| wasm kernel | ms | share | native kernel | ms | share |',
    '| --- | --- | --- | --- | --- | --- |',
    ...r.profiles.wasm.map((w, i) => {
      const n = r.profiles.native[i];
      return `| ${w.kernel} | ${w.ms} | ${(w.share * 100).toFixed(1)}% | ${n ? `${n.kernel} | ${n.ms} | ${(n.share * 100).toFixed(1)}%` : ' | | '} |`;
    }),
    '',
    '## Leak check',
    '',
    leak
      ? `${leak.model}, ${leak.steps} steps${(leak as { command?: string }).command ? ` (\`${(leak as { command?: string }).command}\`, ${String((leak as { load?: string }).load ?? 'n/a')})` : ''}: RSS ${leak.samples[1]?.rssMiB ?? leak.samples[0].rssMiB} -> ${leak.samples[leak.samples.length - 1].rssMiB} MiB (growth ${leak.rssGrowthMiB} MiB after the first ${leak.samples[1]?.step ?? 0} steps); tensors, wasm buffers and onnxruntime sessions ${leak.flat ? 'flat' : 'NOT flat'} (${leak.samples.map((s) => `${s.step}: ${s.rssMiB} MiB/${s.tensors}t/${s.buffers}b/${s.sessions}s`).join(', ')}).`
      : 'Not run (--leak-steps 0).',
    '',
    '## WebGPU (Dawn) correctness',
    '',
    r.webgpu == null
      ? 'Not run (pass --webgpu).'
      : r.webgpu.ok
        ? `${String(r.webgpu.model)} on ${String(r.webgpu.adapter)}: forward relative error vs wasm ${Number(r.webgpu.forwardRelErr).toExponential(1)}, gradient relative error ${Number(r.webgpu.gradRelErr).toExponential(1)} (${String(r.webgpu.webgpuMs)} ms; a software adapter, so not a speed row).`
        : `Not run: ${String(r.webgpu.why)}`,
    '',
    'Notes: FLOPs = 2 x MACs; a training step is counted as 3 x the forward FLOPs (forward, grad-input, grad-weights). A CycleGAN step runs the generators 6 times and the discriminators 6 times (2 in the G step, 4 in the D step), each counted as 3 x forward.',
    '',
  ];
  return lines.join('\n');
}

/** `--leak-only N`: runs only the leak check and re-renders the last full run (docs/bench-engine.json) with it. */
async function leakOnly(steps: number, out: string): Promise<void> {
  const json = out.replace(/\.md$/, '.json');
  if (!existsSync(json)) throw new Error(`${json} not found: run the full bench first`);
  const result = JSON.parse(readFileSync(json, 'utf8')) as Result;
  await initBackend({ backend: 'native', log });
  log(`leak check (${steps} native steps) ...`);
  result.leak = { ...(await leakCheck(steps)), command: `npm run bench:engine -- --leak-only ${steps}`, date: new Date().toISOString() };
  console.log(JSON.stringify(result.leak, null, 2));
  writeAtomic(json, JSON.stringify(result, null, 2));
  writeAtomic(out, markdown(result));
  log(`wrote ${path.relative(ROOT, out)}`);
}

async function main(): Promise<void> {
  if (has('webgpu-check')) return webgpuCheck();
  if (has('leak-only')) return leakOnly(Number(arg('leak-only', '1000')), path.resolve(ROOT, arg('out', 'docs/bench-engine.md')));
  const steps = Number(arg('steps', '3'));
  const cpuSteps = Number(arg('cpu-steps', '0'));
  const leakSteps = Number(arg('leak-steps', '1000'));
  const out = path.resolve(ROOT, arg('out', 'docs/bench-engine.md'));
  const mach = machine();
  const load0 = os.loadavg()[0];
  await initBackend({ backend: 'native', log });
  // plain wasm gets Ganvas's layer-level changes too (as it does when a trainer picks it), so the
  // ratio measures the kernels: lazy conv gradients here, the fused Adam through the optimizer
  installLazyConvGradients('wasm');

  const rows: Row[] = [];
  const both = async (what: string, flops: number, run: (backend: string) => Promise<Measure>): Promise<Row> => {
    log(`${what} ...`);
    const row: Row = { what, flopsG: flops / 1e9, wasm: await run('wasm'), native: await run('native') };
    log(`  wasm ${row.wasm.wallMs.toFixed(0)} ms, native ${row.native.wallMs.toFixed(0)} ms`);
    rows.push(row);
    return row;
  };
  const size = 128;
  const gen = (): LayersModel => resnetGenerator({ ngf: 32, nBlocks: 6 });
  const dis = (): LayersModel => patchGan({ ndf: 64 });
  const probe = (b: () => LayersModel, h: number): number => {
    const m = b();
    const v = macs(m, h, h);
    m.dispose();
    return v;
  };
  const only = has('cyclegan-only');
  const crops = has('no-cyclegan') ? [] : arg('crops', '128,256').split(',').map(Number);
  const prev = only ? (JSON.parse(readFileSync(out.replace(/\.md$/, '.json'), 'utf8')) as Result) : null;
  // keep the last run's rows, except the CycleGAN sizes measured now
  // the ceiling the kept rows were measured against (measured in the same run as them)
  log('onnxruntime MatMul ceiling ...');
  const ceiling = prev ? prev.ceiling : matMulCeiling();
  if (prev) rows.push(...prev.rows.filter((r) => !(r.what.startsWith('Full CycleGAN') && crops.some((c) => r.what.includes(`${c}x${c}`)))));
  if (!only) await both('Forward conv 1x128x128x64 * 3x3x64x64, same', 2 * 128 * 128 * 64 * 64 * 9, (b) => convRow(b, steps));
  const genRow = only ? prev!.rows.find((r) => r.what.startsWith('ResNet generator'))! : await both(`ResNet generator step (ngf 32, 6 blocks, ${size}x${size}, batch 1)`, 6 * probe(gen, size), (b) => modelStepRow(b, gen, [1, size, size, 3], 6 * probe(gen, size), steps));
  if (!only) await both(`PatchGAN step (70x70, ndf 64, ${size}x${size}, batch 1)`, 6 * probe(dis, size), (b) => modelStepRow(b, dis, [1, size, size, 3], 6 * probe(dis, size), steps));
  const cycleRows: Row[] = [];
  for (const crop of crops) {
    await tf.setBackend('wasm');
    const t = await CycleGanTrainer.create({ ...CYCLEGAN, crop });
    const flops = cycleGanFlops(macs(t.G, crop, crop), macs(t.DA, crop, crop));
    t.dispose();
    const n = crop === 256 ? Math.min(steps, 2) : steps;
    const what = `Full CycleGAN step (light generators ngf 32, PatchGANs ndf 64, ${crop}x${crop}, batch 1)`;
    log(`${what} ...`);
    const dw = {
      wasm: await cycleGanRow('wasm', crop, flops, n),
      wasmWorker: await cycleGanRow('wasm', crop, flops, n, true),
      native: await cycleGanRow('native', crop, flops, n),
      nativeWorker: await cycleGanRow('native', crop, flops, n, true),
    };
    log(`  wasm ${dw.wasm.wallMs.toFixed(0)} ms (worker ${dw.wasmWorker.wallMs.toFixed(0)}), native ${dw.native.wallMs.toFixed(0)} ms (worker ${dw.nativeWorker.wallMs.toFixed(0)})`);
    const row: Row = { what: `${what}, native with the domain worker`, flopsG: flops / 1e9, wasm: dw.wasm, native: dw.nativeWorker, domainWorker: dw };
    rows.push(row);
    cycleRows.push(row);
  }
  let cutRows = prev?.cutRows;
  if (crops.length) {
    const what = 'CUT step (horse2zebra networks: tiny generator ngf 32, PatchGAN ndf 32, 128x128, 256 patches, identity NCE)';
    log(`${what} ...`);
    const c = { what, wasm: await cutRow('wasm', steps), wasmWorker: await cutRow('wasm', steps, true), native: await cutRow('native', steps), nativeWorker: await cutRow('native', steps, true) };
    log(`  wasm ${c.wasm.wallMs.toFixed(0)} ms (worker ${c.wasmWorker.wallMs.toFixed(0)}), native ${c.native.wallMs.toFixed(0)} ms (worker ${c.nativeWorker.wallMs.toFixed(0)})`);
    cutRows = [c];
  }
  // the shipped quality network (sr-quality-x2: 56 features, 8 blocks, 489K parameters)
  const sr = (): LayersModel => buildSrModel({ tier: 'quality', scale: 2, features: [56], blocks: 8, seed: 1 });
  const srFlops = 6 * 16 * probe(sr, 32);
  if (!only) await both('SR quality-tier x2 step (56 features, 8 blocks, batch 16 of 32x32 LR patches)', srFlops, (b) => modelStepRow(b, sr, [16, 32, 32, 3], srFlops, steps));

  if (cpuSteps > 0) {
    log(`generator step on cpu (${cpuSteps}) ...`);
    await tf.setBackend('cpu');
    const m = gen();
    const { step, dispose } = makeStep(m, [1, size, size, 3]);
    genRow.cpu = measure(await timeIt(step, 0, cpuSteps), genRow.flopsG * 1e9);
    dispose();
    m.dispose();
  }

  if (!only) log('filter gradient formulations ...');
  const filterGrad = prev ? prev.filterGrad : await filterGradRows();
  if (!only) log('profiles ...');
  const profiles = prev ? prev.profiles : { wasm: await kernelProfile('wasm', gen, [1, size, size, 3]), native: await kernelProfile('native', gen, [1, size, size, 3]) };
  const loadEnd = os.loadavg()[0];
  let leak: Record<string, unknown> | null = prev ? prev.leak : null;
  if (leakSteps > 0 && !only) {
    log(`leak check (${leakSteps} native steps) ...`);
    leak = await leakCheck(leakSteps);
  }
  let webgpu: Record<string, unknown> | null = null;
  if (has('webgpu')) {
    log('webgpu correctness ...');
    webgpu = webgpuRow();
  }

  const g = genRow;
  const speedup = g.wasm.wallMs / g.native.wallMs;
  const c256 = rows.find((r) => r.what.startsWith('Full CycleGAN') && r.what.includes('256x256'));
  const c256x = c256 ? c256.wasm.wallMs / c256.native.wallMs : null;
  const result: Result = {
    date: new Date().toISOString(),
    command: `npm run bench:engine${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: mach,
    loadDuringRun: `${prev ? `${prev.loadDuringRun}; CycleGAN rows (\`--cyclegan-only\`, ${new Date().toISOString()}): ` : ''}1-minute load average ${load0.toFixed(2)} at start, ${loadEnd.toFixed(2)} after the timed rows`,
    ceiling,
    rows,
    cutRows,
    targets: [
      { name: 'ResNet generator step: native speed / plain wasm speed (wall)', value: `${speedup.toFixed(2)}x`, target: '>= 3x (aim 5x)', met: speedup >= 3 },
      { name: 'ResNet generator step on native: GFLOP/s', value: `${g.native.gflops.toFixed(1)} (${((100 * g.native.gflops) / ceiling.threads2.gflops).toFixed(0)}% of the ceiling)`, target: '>= 40 (16%; aim 25%)', met: g.native.gflops >= 40 },
      { name: 'Full CycleGAN step at 256: native (with the domain worker, as training runs) / plain wasm (wall)', value: c256x == null ? 'n/a' : `${c256x.toFixed(2)}x`, target: '>= 3x', met: c256x == null ? null : c256x >= 3 },
    ],
    filterGrad,
    profiles,
    leak,
    webgpu,
  };
  console.log(JSON.stringify(result, null, 2));
  writeAtomic(out.replace(/\.md$/, '.json'), JSON.stringify(result, null, 2));
  writeAtomic(out, markdown(result));
  log(`wrote ${path.relative(ROOT, out)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
