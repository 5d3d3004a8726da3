/**
 * Backend selection for training: picks the fastest tfjs backend that really works here,
 * says which one and why in one line, and never falls back silently when one is asked for.
 *
 * Order (auto): tensorflow-gpu (@tensorflow/tfjs-node-gpu with a working CUDA GPU)
 *   > tensorflow (@tensorflow/tfjs-node, libtensorflow on the CPU)
 *   > webgpu (Dawn through the `webgpu` npm package, hardware adapter only)
 *   > native (the wasm backend with its convolutions, their gradients and matrix products run by
 *     onnxruntime-node's CPU kernels on every core; training/backends/native/)
 *   > wasm (XNNPACK, SIMD; Ganvas registers the gradient kernels it lacks)
 *   > cpu (pure JavaScript, last resort).
 * The tfjs-node packages are optional: they are found by dynamic import and are never required.
 * Enable GPU training with one line: `npm install @tensorflow/tfjs-node-gpu` (needs an NVIDIA
 * driver, CUDA 11.2 and cuDNN 8.1 for the libtensorflow 2.9 that tfjs-node 4.x downloads).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerWasmGradientKernels } from './wasm-kernels';
import { registerFusedKernels } from './fused-kernels';
import { installLazyConvGradients } from './lazy-conv';
import { registerGanvasGradients } from './gradients';
import { registerCpuKernelFixes } from './cpu-kernels';
import { loadOrt, PINNED_ORT_VERSION, nativeThreads } from './native/ort';
import { NATIVE_BACKEND, registerNativeBackend } from './native/kernels';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'];

/** The one command that makes a missing backend usable (printed by `ganvas backends`). */
export const ENABLE_COMMAND: Record<BackendName, string> = {
  // .npmrc sets ignore-scripts (no CUDA download for onnxruntime-node); tfjs-node's install script
  // must run to fetch libtensorflow, onnxruntime-node's must still skip.
  'tensorflow-gpu': 'ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts=false @tensorflow/tfjs-node-gpu@4.22.0   (needs an NVIDIA driver, CUDA 11.2 and cuDNN 8.1)',
  tensorflow: 'ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts=false @tensorflow/tfjs-node@4.22.0',
  webgpu: 'sudo apt-get install libvulkan1 mesa-vulkan-drivers   (plus your GPU\'s Vulkan driver)',
  native: `npm install onnxruntime-node@${PINNED_ORT_VERSION}`,
  wasm: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0',
  cpu: 'npm install @tensorflow/tfjs-backend-cpu@4.22.0',
};

export interface BackendCandidate {
  name: string;
  usable: boolean;
  why: string;
}

export interface BackendReport {
  name: BackendName;
  reason: string;
  candidates: BackendCandidate[];
}

export interface InitBackendOptions {
  /** One of BACKEND_NAMES; `auto` or undefined picks the best usable one. */
  backend?: string;
  /** Receives the one line that says which backend was chosen and why. */
  log?: (line: string) => void;
}

interface Probe extends BackendCandidate {
  name: BackendName;
  /** Usable, but not picked automatically (a software GPU is slower than wasm). */
  autoPick: boolean;
  /** Makes the backend tfjs's current one. Only called for the chosen candidate; `explicit`: asked for by name. */
  activate?: (explicit: boolean) => Promise<void>;
}

const GPU_PKG = '@tensorflow/tfjs-node-gpu';
const NODE_PKG = '@tensorflow/tfjs-node';

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 200);
}

function isModuleNotFound(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string };
  return (
    // Vite (vitest) reports an optional peer dependency that is absent as 'Could not resolve "pkg" imported by "ganvas"'
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Could not resolve/.test(e?.message ?? '')) &&
    (e?.message ?? '').includes(pkg)
  );
}

/** Dynamic import through a variable, so bundlers and tsc do not require the optional package. */
async function importOptional(pkg: string): Promise<{ ok: true; mod: unknown } | { ok: false; why: string }> {
  try {
    const spec = pkg;
    return { ok: true, mod: await import(spec) };
  } catch (err) {
    if (isModuleNotFound(err, pkg)) return { ok: false, why: `not installed (npm install ${pkg})` };
    return { ok: false, why: `installed but failed to load: ${message(err)}` };
  }
}

/**
 * Reads TensorFlow's device log (TF_CPP_MIN_LOG_LEVEL=0): did it create a GPU device, and which?
 * e.g. "Created device /job:localhost/replica:0/task:0/device:GPU:0 with 14786 MB memory:
 *  -> device: 0, name: Tesla T4, pci bus id: 0000:00:04.0, compute capability: 7.5"
 */
export function parseTfDeviceLog(log: string): { gpu: boolean; name?: string; problem?: string } {
  if (!/device:GPU:\d/.test(log)) {
    const problem = /(Could not load dynamic library[^\n]*|failed call to cuInit[^\n]*|CUDA[^\n]*error[^\n]*)/i.exec(log)?.[1];
    return { gpu: false, problem: problem?.trim().slice(0, 160) };
  }
  const name = /device:GPU:\d[^\n]*?name:\s*([^,\n]+)/.exec(log)?.[1]?.trim();
  return { gpu: true, name };
}

/**
 * Does libtensorflow (through tfjs-node-gpu) create a GPU device? Checked in a child process,
 * so a CUDA failure cannot leave this process with a half-initialised native library, and
 * TensorFlow's own device log says whether a GPU was really created.
 */
function probeCudaInChild(): { ok: boolean; why: string } {
  let spec = GPU_PKG;
  try {
    spec = pathToFileURL(createRequire(import.meta.url).resolve(GPU_PKG)).href; // the copy this project resolves
  } catch {
    // fall back to resolving from the working directory
  }
  const script =
    `const m = await import(${JSON.stringify(spec)}); const tf = m.default ?? m;` +
    `const y = tf.sum(tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])));` +
    `console.log('sum', (await y.data())[0]);`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${res.stdout ?? ''}\n${res.stderr ?? ''}`;
  if (res.status !== 0) return { ok: false, why: `installed but a test run failed: ${out.trim().split('\n').slice(-1)[0] ?? res.error?.message}` };
  const dev = parseTfDeviceLog(out);
  if (!dev.gpu) {
    return { ok: false, why: `installed, but TensorFlow created no GPU device${dev.problem ? ` (${dev.problem})` : ''}; needs an NVIDIA driver, CUDA 11.2 and cuDNN 8.1` };
  }
  return { ok: true, why: `CUDA GPU ${dev.name ?? 'device:GPU:0'} via ${GPU_PKG}` };
}

async function activateTfBackend(name: string): Promise<void> {
  if (!tf.findBackendFactory(name)) {
    throw new Error(
      `the package loaded but registered no '${name}' backend with this @tensorflow/tfjs-core; ` +
        `install the same version as @tensorflow/tfjs-core (${tf.version_core})`,
    );
  }
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
}

async function probeTensorflowGpu(): Promise<Probe> {
  const base = { name: 'tensorflow-gpu' as const, autoPick: true };
  const imp = await importOptional(GPU_PKG);
  if (!imp.ok) return { ...base, usable: false, why: /not installed/.test(imp.why) ? `not installed (${ENABLE_COMMAND['tensorflow-gpu'].split('   ')[0]})` : imp.why };
  const cuda = probeCudaInChild();
  if (!cuda.ok) return { ...base, usable: false, why: cuda.why };
  return { ...base, usable: true, why: cuda.why, activate: () => activateTfBackend('tensorflow') };
}

async function probeTensorflow(gpuPackageLoaded: boolean): Promise<Probe> {
  const base = { name: 'tensorflow' as const, autoPick: true };
  const imp = await importOptional(NODE_PKG);
  if (imp.ok) return { ...base, usable: true, why: `libtensorflow on the CPU via ${NODE_PKG}`, activate: () => activateTfBackend('tensorflow') };
  if (gpuPackageLoaded) {
    return { ...base, usable: true, why: `libtensorflow on the CPU via ${GPU_PKG} (no GPU device)`, activate: () => activateTfBackend('tensorflow') };
  }
  if (/not installed/.test(imp.why)) return { ...base, usable: false, why: `not installed (${ENABLE_COMMAND.tensorflow})` };
  return { ...base, usable: false, why: imp.why };
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

let webgpuDevice: Promise<{ device: GPUDevice; info: GPUAdapterInfo }> | null = null;

/**
 * On Linux Dawn needs the Vulkan loader; without it Dawn prints a native warning and finds
 * nothing. Looking for libvulkan.so.1 first keeps every training run's stderr clean.
 */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  if (dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')))) return false;
  const ldconfig = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  return !(ldconfig.stdout ?? '').includes('libvulkan.so.1');
}

/**
 * Dawn writes to the native stderr while it starts (`XDG_RUNTIME_DIR is invalid or not set`
 * from its window-system code, Vulkan warnings with its CI build paths for adapters it rejects).
 * A private, empty XDG_RUNTIME_DIR silences the first.
 */
function dawnEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dir = env.XDG_RUNTIME_DIR;
  if (dir && existsSync(dir)) return env;
  const own = path.join(os.tmpdir(), `ganvas-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(own, { recursive: true, mode: 0o700 });
  return { ...env, XDG_RUNTIME_DIR: own };
}

interface AdapterProbe {
  found: boolean;
  desc?: string;
  fallback?: boolean;
  error?: string;
  /** Dawn's own stderr while it looked (kept out of the user's terminal, used in the reason) */
  dawnSays?: string;
}

/**
 * Asks Dawn for an adapter in a child process, so that probing never prints Dawn's native
 * warnings into this process's stderr and a failing driver cannot take this process down.
 */
function probeAdapterInChild(): AdapterProbe {
  let spec = 'webgpu';
  try {
    spec = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch (err) {
    return { found: false, error: `the 'webgpu' (Dawn) package is not installed: ${message(err)}` };
  }
  const script =
    `const m = await import(${JSON.stringify(spec)});` +
    `try { const gpu = m.create([]); const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });` +
    `const i = a ? a.info : null;` +
    `console.log('ADAPTER ' + JSON.stringify(a ? { found: true, desc: [i.vendor, i.architecture, i.description].filter(Boolean).join(' '), fallback: i.isFallbackAdapter === true } : { found: false }));` +
    `} catch (e) { console.log('ADAPTER ' + JSON.stringify({ found: false, error: String(e && e.message || e).split('\\n')[0] })); }` +
    `process.exit(0);`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: dawnEnv(process.env), encoding: 'utf8', timeout: 60_000 });
  const line = (res.stdout ?? '').split('\n').find((l) => l.startsWith('ADAPTER '));
  const dawnSays = (res.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/XDG_RUNTIME_DIR|^- While|^at /.test(l))[0];
  if (!line) return { found: false, error: `Dawn's test process failed (status ${res.status ?? res.signal})`, dawnSays };
  return { ...(JSON.parse(line.slice('ADAPTER '.length)) as AdapterProbe), dawnSays };
}

async function probeWebgpu(): Promise<Probe> {
  const base = { name: 'webgpu' as const };
  if (vulkanLoaderMissing()) {
    return {
      ...base,
      usable: false,
      autoPick: false,
      why: 'no Vulkan loader (libvulkan.so.1) for Dawn; install libvulkan1 and a GPU driver (or SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium)',
    };
  }
  const probe = probeAdapterInChild();
  if (probe.error) return { ...base, usable: false, autoPick: false, why: `Dawn failed to start: ${probe.error}` };
  if (!probe.found) {
    return {
      ...base,
      usable: false,
      autoPick: false,
      why: `Dawn found no GPU adapter (${probe.dawnSays ? `Dawn: "${probe.dawnSays.slice(0, 80)}"; ` : ''}no usable Vulkan driver; for SwiftShader set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)`,
    };
  }
  const desc = probe.desc ?? '';
  const software = probe.fallback === true || SOFTWARE_ADAPTER.test(desc);
  const activate = async (): Promise<void> => {
    const env = dawnEnv(process.env);
    if (env.XDG_RUNTIME_DIR !== process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      const spec = 'webgpu';
      mod = await import(spec);
    } catch (err) {
      throw new Error(`the 'webgpu' (Dawn) package did not load: ${message(err)}`);
    }
    const g = globalThis as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
    const gpu = mod.create([]);
    if (typeof g.navigator !== 'object' || g.navigator == null) {
      Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else if (!(g.navigator as { gpu?: GPU }).gpu) {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    }
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('Dawn found an adapter in its test process but none in this one');
    const info = (adapter as GPUAdapter & { info: GPUAdapterInfo }).info;
    const webgpuPkg = await import('@tensorflow/tfjs-backend-webgpu');
    if (!tf.findBackendFactory('webgpu')) {
      // tfjs-backend-webgpu only self-registers when navigator.gpu existed at import time.
      tf.registerBackend('webgpu', async () => {
        webgpuDevice ??= (async () => {
          const limits = adapter.limits;
          const device = await adapter.requestDevice({
            requiredLimits: {
              maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
              maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
              maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
              maxBufferSize: limits.maxBufferSize,
              maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
              maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
            },
          });
          return { device, info };
        })();
        const { device } = await webgpuDevice;
        return new webgpuPkg.WebGPUBackend(device, info);
      });
    }
    await activateTfBackend('webgpu');
  };
  if (software) {
    return {
      ...base,
      usable: true,
      autoPick: false,
      why: `software adapter (${desc || 'fallback'}): works when asked for with --backend webgpu, but is not picked automatically because native/wasm are faster`,
      activate,
    };
  }
  return { ...base, usable: true, autoPick: true, why: `hardware GPU adapter: ${desc}`, activate };
}

async function probeWasm(): Promise<Probe> {
  const base = { name: 'wasm' as const, autoPick: true };
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return { ...base, usable: false, why: `@tensorflow/tfjs-backend-wasm did not load: ${message(err)}` };
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const build = `${threads ? 'threaded ' : ''}${simd ? 'SIMD' : 'no SIMD'}`;
  return {
    ...base,
    usable: true,
    why: `XNNPACK ${build} build, single-threaded in Node; Ganvas's gradient kernels registered`,
    activate: activateWasm,
  };
}

async function activateWasm(): Promise<void> {
  registerWasmGradientKernels();
  registerFusedKernels();
  await activateTfBackend('wasm');
}

async function probeNative(wasm: Probe): Promise<Probe> {
  const base = { name: 'native' as const, autoPick: true };
  if (!wasm.usable) return { ...base, usable: false, why: `needs the wasm backend, which is not usable: ${wasm.why}` };
  const ort = loadOrt();
  if (!ort.ok) return { ...base, usable: false, why: ort.why };
  const threads = nativeThreads();
  return {
    ...base,
    usable: true,
    why: `wasm with convolutions, their gradients and matrix products on onnxruntime-node ${ort.ort.version} CPU kernels (${threads} thread${threads === 1 ? '' : 's'}${process.env.GANVAS_NATIVE_THREADS ? ', GANVAS_NATIVE_THREADS' : ''})`,
    activate: async (explicit) => {
      await activateWasm();
      registerNativeBackend({ strict: explicit, threads });
      await activateTfBackend(NATIVE_BACKEND);
    },
  };
}

function probeCpu(): Probe {
  return { name: 'cpu', usable: true, autoPick: true, why: 'pure JavaScript: always works, very slow (last resort)', activate: () => activateTfBackend('cpu') };
}

let probed: Promise<Probe[]> | null = null;

/**
 * Probes every backend once per process (no side effects beyond loading the packages that are
 * installed and, for webgpu, starting Dawn).
 */
export function probeBackends(): Promise<Probe[]> {
  probed ??= probeAll();
  return probed;
}

async function probeAll(): Promise<Probe[]> {
  const gpu = await probeTensorflowGpu();
  const gpuPackageLoaded = !/not installed/.test(gpu.why);
  const [node, webgpu, wasm] = [await probeTensorflow(gpuPackageLoaded), await probeWebgpu(), await probeWasm()];
  return [gpu, node, webgpu, await probeNative(wasm), wasm, probeCpu()];
}

function candidatesTable(candidates: BackendCandidate[]): string {
  return candidates.map((c) => `  ${c.usable ? '+' : '-'} ${c.name.padEnd(14)} ${c.why}`).join('\n');
}

/**
 * Picks and activates a tfjs backend. Registers Ganvas's gradient fixes (MirrorPad) for every
 * backend, the fixed cpu resize-gradient kernels, the wasm gradient kernels when wasm is chosen,
 * and Conv2D layers with lazy gradients (lazy-conv.ts).
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendReport> {
  registerGanvasGradients();
  registerCpuKernelFixes();
  const log = opts.log ?? ((line: string) => console.log(line));
  const wanted = opts.backend?.trim().toLowerCase();
  const probes = await probeBackends();
  const candidates: BackendCandidate[] = probes.map(({ name, usable, why }) => ({ name, usable, why }));

  let chosen: Probe | undefined;
  let reason: string;
  if (wanted && wanted !== 'auto') {
    chosen = probes.find((p) => p.name === wanted);
    if (!chosen) {
      throw new Error(`unknown backend '${opts.backend}'; choose one of ${BACKEND_NAMES.join(', ')} or auto:\n${candidatesTable(candidates)}`);
    }
    if (!chosen.usable || !chosen.activate) {
      throw new Error(`backend '${chosen.name}' is not usable here: ${chosen.why}\nall candidates:\n${candidatesTable(candidates)}`);
    }
    reason = `asked for with --backend (${chosen.why})`;
  } else {
    chosen = probes.find((p) => p.usable && p.autoPick && p.activate);
    if (!chosen) throw new Error(`no usable tfjs backend:\n${candidatesTable(candidates)}`);
    const short = (why: string): string => why.split(/ \(|; /)[0];
    const better = probes.slice(0, probes.indexOf(chosen)).map((p) => `${p.name}: ${short(p.why)}`);
    reason = `best usable: ${chosen.why}${better.length ? `; not ${better.join('; ')}` : ''}`;
  }
  try {
    await chosen.activate!(Boolean(wanted && wanted !== 'auto'));
  } catch (err) {
    throw new Error(`backend '${chosen.name}' failed to start: ${message(err)}\nall candidates:\n${candidatesTable(candidates)}`);
  }
  installLazyConvGradients(chosen.name);
  log(`backend: ${chosen.name} (${reason})`);
  return { name: chosen.name, reason, candidates };
}

export { candidatesTable };
