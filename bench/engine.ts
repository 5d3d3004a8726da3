/**
 * Engine bench (`npm run bench:engine`): everything measured in one run on this machine.
 *  - wasm forward 3x3 conv GFLOP/s (64 -> 64 channels, 128x128, FLOPs = 2 * MACs)
 *  - training step (forward + backward + Adam, batch 1) of the ResNet generator (ngf 32, 6 blocks,
 *    128x128) and the 70x70 PatchGAN (ndf 64, 128x128) on wasm and on cpu
 *  - the generator step's achieved GFLOP/s (forward + backward counted as 3x forward FLOPs)
 *  - the targets: generator step GFLOP/s >= 30% of the forward-conv GFLOP/s; wasm >= 100x cpu
 *  - the kernels that dominate a wasm generator step
 *  - a WebGPU (Dawn) correctness row when an adapter exists (SwiftShader counts; not a speed row)
 * Prints JSON on stdout and writes docs/bench-engine.md.
 *
 * Options: --cpu-steps N (default 1), --steps N (wasm steps timed, default 3), --no-cpu, --out PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../training/backends';
import { resnetGenerator } from '../training/models/resnet-generator';
import { patchGan } from '../training/models/patchgan';
import { countParams, macs } from '../training/models/stats';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const has = (name: string): boolean => process.argv.includes(`--${name}`);

function machine(): Record<string, string | number> {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {
    // not Linux
  }
  return {
    cpuModel,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tfjs: tf.version_core,
    platform: `${os.platform()} ${os.arch()}`,
    loadavg1m: Number(os.loadavg()[0].toFixed(2)),
  };
}

interface Timing {
  /** process CPU time (user + system), ms: what this single-threaded engine really spent */
  cpu: number[];
  /** wall-clock ms: inflated when other processes share the cores */
  wall: number[];
}

async function timeIt(fn: () => Promise<void>, warmup: number, runs: number): Promise<Timing> {
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

async function convGflops(): Promise<{ shape: string; ms: number; wallMs: number; gflops: number }> {
  const [h, w, c] = [128, 128, 64];
  const x = tf.randomNormal([1, h, w, c]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, c, c]) as tf.Tensor4D;
  const times = await timeIt(
    async () => {
      const y = tf.conv2d(x, f, 1, 'same');
      await y.data();
      y.dispose();
    },
    2,
    10,
  );
  tf.dispose([x, f]);
  const ms = median(times.cpu);
  const flops = 2 * h * w * c * c * 9;
  return { shape: `1x${h}x${w}x${c} * 3x3x${c}x${c}, same`, ms, wallMs: median(times.wall), gflops: flops / ms / 1e6 };
}

/** One training step: forward, gradients of all trainable weights, Adam update. */
function makeStep(m: LayersModel, size: number): { step: () => Promise<number>; dispose: () => void } {
  const outShape = (tf.tidy(() => m.predict(tf.zeros([1, size, size, 3]))) as tf.Tensor).shape;
  const x = tf.randomUniform([1, size, size, 3], -1, 1);
  const target = tf.randomUniform(outShape, -1, 1);
  const opt = tf.train.adam(2e-4, 0.5, 0.999);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    step: async () => {
      const loss = opt.minimize(() => tf.mean(tf.abs(tf.sub(m.apply(x, { training: true }) as tf.Tensor, target))), true, vars);
      const v = (await loss!.data())[0];
      loss!.dispose();
      return v;
    },
    dispose: () => {
      tf.dispose([x, target]);
      opt.dispose();
    },
  };
}

interface StepResult {
  backend: string;
  steps: number;
  /** median CPU ms per step */
  msPerStep: number;
  /** median wall ms per step */
  wallMsPerStep: number;
  cpuTimes: number[];
  wallTimes: number[];
}

async function stepTime(backend: string, build: () => LayersModel, size: number, warmup: number, runs: number): Promise<StepResult> {
  await tf.setBackend(backend);
  const m = build();
  const { step, dispose } = makeStep(m, size);
  const times = await timeIt(async () => void (await step()), warmup, runs);
  dispose();
  m.dispose();
  return {
    backend,
    steps: runs,
    msPerStep: median(times.cpu),
    wallMsPerStep: median(times.wall),
    cpuTimes: times.cpu.map((t) => Math.round(t)),
    wallTimes: times.wall.map((t) => Math.round(t)),
  };
}

async function kernelProfile(build: () => LayersModel, size: number): Promise<{ kernel: string; ms: number; share: number }[]> {
  await tf.setBackend('wasm');
  const m = build();
  const { step, dispose } = makeStep(m, size);
  await step();
  const prof = await tf.profile(async () => void (await step()));
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

function markdown(r: Record<string, unknown>): string {
  const res = r as {
    machine: Record<string, string | number>;
    date: string;
    conv: { shape: string; ms: number; wallMs: number; gflops: number };
    generator: { config: string; params: number; gmacsForward: number; wasm: StepResult; cpu?: StepResult; gflops: number; ratioToConv: number; wasmOverCpu?: number };
    patchgan: { config: string; params: number; gmacsForward: number; wasm: StepResult; cpu?: StepResult; gflops: number; wasmOverCpu?: number };
    targets: { name: string; value: string; target: string; met: boolean | null }[];
    profile: { kernel: string; ms: number; share: number }[];
    webgpu: Record<string, unknown>;
    command: string;
  };
  const m = res.machine;
  const f = (x: number | undefined, d = 1): string => (x == null ? 'n/a' : x.toFixed(d));
  const lines = [
    '# Engine bench',
    '',
    `Measured ${res.date} in one run of \`${res.command}\` on: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.platform}, Node ${m.node}, tfjs ${m.tfjs} (1-minute load average at start: ${m.loadavg1m}; the cores are shared, so other work on the machine slows these numbers down).`,
    '',
    'Times are process CPU time (the engine is single-threaded, so this is what a step costs on an idle core); wall-clock is in brackets.',
    '',
    '| What | Backend | CPU time [wall] | Throughput (CPU time) |',
    '| --- | --- | --- | --- |',
    `| Forward conv ${res.conv.shape} | wasm | ${f(res.conv.ms, 2)} ms [${f(res.conv.wallMs, 2)} ms] | **${f(res.conv.gflops)} GFLOP/s** |`,
    `| Generator step (${res.generator.config}) | wasm | ${f(res.generator.wasm.msPerStep, 0)} ms [${f(res.generator.wasm.wallMsPerStep, 0)} ms], median of ${res.generator.wasm.steps} | **${f(res.generator.gflops)} GFLOP/s** (3 x ${f(res.generator.gmacsForward, 2)} GMACs x 2 per step) |`,
    `| Generator step | cpu | ${res.generator.cpu ? `${f(res.generator.cpu.msPerStep, 0)} ms [${f(res.generator.cpu.wallMsPerStep, 0)} ms], ${res.generator.cpu.steps} step` : 'not run'} | ${res.generator.cpu ? `${f((6 * res.generator.gmacsForward) / (res.generator.cpu.msPerStep / 1000), 3)} GFLOP/s` : ''} |`,
    `| PatchGAN step (${res.patchgan.config}) | wasm | ${f(res.patchgan.wasm.msPerStep, 0)} ms [${f(res.patchgan.wasm.wallMsPerStep, 0)} ms], median of ${res.patchgan.wasm.steps} | ${f(res.patchgan.gflops)} GFLOP/s (3 x ${f(res.patchgan.gmacsForward, 2)} GMACs x 2 per step) |`,
    `| PatchGAN step | cpu | ${res.patchgan.cpu ? `${f(res.patchgan.cpu.msPerStep, 0)} ms [${f(res.patchgan.cpu.wallMsPerStep, 0)} ms], ${res.patchgan.cpu.steps} step` : 'not run'} | ${res.patchgan.cpu ? `${f((6 * res.patchgan.gmacsForward) / (res.patchgan.cpu.msPerStep / 1000), 3)} GFLOP/s` : ''} |`,
    '',
    '## Targets',
    '',
    '| Target | Measured | Goal | Met |',
    '| --- | --- | --- | --- |',
    ...res.targets.map((t) => `| ${t.name} | ${t.value} | ${t.target} | ${t.met == null ? 'not measured' : t.met ? 'yes' : 'NO'} |`),
    '',
    '## Where a wasm generator step spends its time (tf.profile kernel wall times, one step)',
    '',
    '| Kernel | ms | Share |',
    '| --- | --- | --- |',
    ...res.profile.map((p) => `| ${p.kernel} | ${p.ms} | ${(p.share * 100).toFixed(1)}% |`),
    '',
    '## WebGPU (Dawn) correctness',
    '',
    res.webgpu.ok
      ? `${String(res.webgpu.model)} on ${String(res.webgpu.adapter)}: forward relative error vs wasm ${Number(res.webgpu.forwardRelErr).toExponential(1)}, gradient relative error ${Number(res.webgpu.gradRelErr).toExponential(1)} (${String(res.webgpu.webgpuMs)} ms; a software adapter, so not a speed row).`
      : `Not run: ${String(res.webgpu.why)}`,
    '',
    'Notes: FLOPs = 2 x MACs; a training step is counted as 3 x the forward FLOPs (forward, grad-input, grad-weights).',
    'Parameters: generator ' + res.generator.params.toLocaleString('en-US') + ', PatchGAN ' + res.patchgan.params.toLocaleString('en-US') + '.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (has('webgpu-check')) return webgpuCheck();
  const cpuSteps = has('no-cpu') ? 0 : Number(arg('cpu-steps', '1'));
  const steps = Number(arg('steps', '3'));
  const out = path.resolve(ROOT, arg('out', 'docs/bench-engine.md'));
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const mach = machine();
  await initBackend({ backend: 'wasm', log });

  log('forward conv ...');
  const conv = await convGflops();
  const size = 128;
  const gen = (): LayersModel => resnetGenerator({ ngf: 32, nBlocks: 6 });
  const dis = (): LayersModel => patchGan({ ndf: 64 });
  const gProbe = gen();
  const dProbe = dis();
  const gMacs = macs(gProbe, size, size);
  const dMacs = macs(dProbe, size, size);
  const gParams = countParams(gProbe);
  const dParams = countParams(dProbe);
  gProbe.dispose();
  dProbe.dispose();

  log('generator step on wasm ...');
  const gWasm = await stepTime('wasm', gen, size, 1, steps);
  log('patchgan step on wasm ...');
  const dWasm = await stepTime('wasm', dis, size, 1, steps);
  log('profile ...');
  const profile = await kernelProfile(gen, size);
  let gCpu: StepResult | undefined;
  let dCpu: StepResult | undefined;
  if (cpuSteps > 0) {
    log(`generator step on cpu (${cpuSteps}) ...`);
    gCpu = await stepTime('cpu', gen, size, 0, cpuSteps);
    log(`patchgan step on cpu (${cpuSteps}) ...`);
    dCpu = await stepTime('cpu', dis, size, 0, cpuSteps);
  }
  log('webgpu correctness ...');
  const webgpu = webgpuRow();

  const gGflops = (6 * gMacs) / 1e9 / (gWasm.msPerStep / 1000);
  const dGflops = (6 * dMacs) / 1e9 / (dWasm.msPerStep / 1000);
  const ratio = gGflops / conv.gflops;
  const gSpeedup = gCpu ? gCpu.msPerStep / gWasm.msPerStep : undefined;
  const dSpeedup = dCpu ? dCpu.msPerStep / dWasm.msPerStep : undefined;
  const result = {
    date: new Date().toISOString(),
    command: 'npm run bench:engine',
    machine: mach,
    conv,
    generator: {
      config: `ResNet generator ngf 32, 6 blocks, ${size}x${size}, batch 1`,
      params: gParams,
      gmacsForward: gMacs / 1e9,
      wasm: gWasm,
      cpu: gCpu,
      gflops: gGflops,
      ratioToConv: ratio,
      wasmOverCpu: gSpeedup,
    },
    patchgan: {
      config: `70x70 PatchGAN ndf 64, ${size}x${size}, batch 1`,
      params: dParams,
      gmacsForward: dMacs / 1e9,
      wasm: dWasm,
      cpu: dCpu,
      gflops: dGflops,
      wasmOverCpu: dSpeedup,
    },
    targets: [
      { name: 'generator step GFLOP/s / forward conv GFLOP/s', value: `${(ratio * 100).toFixed(0)}%`, target: '>= 30%', met: ratio >= 0.3 },
      { name: 'generator step: wasm speed / cpu speed', value: gSpeedup ? `${gSpeedup.toFixed(0)}x` : 'n/a', target: '>= 100x', met: gSpeedup == null ? null : gSpeedup >= 100 },
      { name: 'PatchGAN step: wasm speed / cpu speed', value: dSpeedup ? `${dSpeedup.toFixed(0)}x` : 'n/a', target: '>= 100x', met: dSpeedup == null ? null : dSpeedup >= 100 },
    ],
    profile,
    webgpu,
  };
  console.log(JSON.stringify(result, null, 2));
  writeAtomic(out, markdown(result));
  log(`wrote ${path.relative(ROOT, out)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
