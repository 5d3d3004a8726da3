/// <reference lib="webworker" />
/**
 * The inference worker: owns onnxruntime-web, every InferenceSession and all per-pixel work,
 * so the page never blocks. onnxruntime-web is loaded at runtime from the site's own /ort/
 * folder (copied there by scripts/copy-ort.mjs), never from a CDN and never bundled.
 */
import type * as Ort from 'onnxruntime-web';
import { nchwToRGBA, rgbaToNCHW, roundUp } from '../imaging';
import { inspectInstanceNorm, rewriteInstanceNorm, type NormModelInfo } from '../onnx/instance-norm';
import { ContractError, planImage, runTiledImage, type Feeds, type TensorData, type Variant } from './whole-image';
import {
  MAX_OUTPUT_PIXELS,
  MAX_OUTPUT_SIDE,
  type Backend,
  type BackendInfo,
  type BackendPref,
  type CamSpec,
  type ErrorCode,
  type Request,
  type Response,
  type TensorMeta,
} from './protocol';
import { CamGpuRenderer, GpuFrameUploader } from './gpu-render';

declare const self: DedicatedWorkerGlobalScope;

class WorkerError extends Error {
  constructor(public code: ErrorCode, message: string) {
    super(message);
  }
}

let ort: typeof Ort | null = null;
let info: BackendInfo | null = null;
const sessions = new Map<string, Ort.InferenceSession>();
const cancelled = new Set<number>();
const CACHE = 'ganvas-models-v1';

function post(msg: Response, transfer: Transferable[] = []) {
  self.postMessage(msg, transfer);
}

let gpuDevice: GPUDevice | null = null;
let softwareAdapter = false;

/** Our own GPUDevice, shared with onnxruntime-web (EP option `device`) so its output buffers can be drawn directly. */
async function makeDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const names = [
    'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const n of names) requiredLimits[n] = adapter.limits[n];
  const requiredFeatures = (['shader-f16', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}

async function pickBackend(prefer: BackendPref): Promise<{ backend: Backend; reason: string; adapter?: GPUAdapter }> {
  if (prefer === 'wasm') return { backend: 'wasm', reason: 'WASM: forced by your setting' };
  const gpu = (self.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { backend: 'wasm', reason: 'WebGPU unavailable: this browser has no navigator.gpu' };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { backend: 'wasm', reason: `WebGPU unavailable: requestAdapter failed (${(e as Error).message})` };
  }
  if (!adapter) return { backend: 'wasm', reason: 'WebGPU unavailable: no adapter' };
  const ai = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const desc = ai ? [ai.vendor, ai.architecture, ai.description].filter(Boolean).join(' ') : '';
  const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter || /swiftshader|llvmpipe|software/i.test(desc);
  softwareAdapter = !!fallback;
  if (fallback && prefer !== 'webgpu') {
    return { backend: 'wasm', reason: `WebGPU adapter is a software fallback (${desc || 'CPU'}): WASM is faster here` };
  }
  return { backend: 'webgpu', reason: `WebGPU${prefer === 'webgpu' ? ' (forced)' : ''}: ${desc || 'adapter found'}`, adapter };
}

async function init(prefer: BackendPref, wasmPaths: string): Promise<BackendInfo> {
  const picked = await pickBackend(prefer);
  if (picked.adapter) {
    try {
      gpuDevice = await makeDevice(picked.adapter);
    } catch (e) {
      picked.backend = 'wasm';
      picked.reason = `WebGPU unavailable: requestDevice failed (${(e as Error).message})`;
    }
  }
  const file = picked.backend === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs';
  ort = (await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ `${wasmPaths}${file}`)) as typeof Ort;
  const isolated = self.crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, Math.min(8, self.navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const wasmNote = isolated ? `WASM ${threads} thread${threads > 1 ? 's' : ''}` : 'WASM single-threaded: page is not cross-origin isolated';
  const reason = picked.backend === 'wasm' ? `${picked.reason}; ${wasmNote}` : picked.reason;
  info = { backend: picked.backend, reason, threads, crossOriginIsolated: isolated };
  return info;
}

function needOrt(): typeof Ort {
  if (!ort || !info) throw new WorkerError('unknown', 'runtime not initialised');
  return ort;
}

async function fetchModel(url: string, cacheKey: string): Promise<{ bytes: Uint8Array; fromCache: boolean }> {
  let cache: Cache | null = null;
  try {
    cache = await caches.open(CACHE);
  } catch {
    cache = null; // Cache Storage unavailable (e.g. insecure context): just fetch
  }
  const hit = cache ? await cache.match(cacheKey) : undefined;
  if (hit) return { bytes: new Uint8Array(await hit.arrayBuffer()), fromCache: true };
  const res = await fetch(url);
  if (!res.ok) throw new WorkerError('load', `could not download ${url}: HTTP ${res.status}`);
  const buf = await res.arrayBuffer();
  if (cache) await cache.put(cacheKey, new Response(buf, { headers: { 'content-type': 'application/octet-stream' } })).catch(() => undefined);
  return { bytes: new Uint8Array(buf), fromCache: false };
}

function meta(list: readonly Ort.InferenceSession.ValueMetadata[]): TensorMeta[] {
  return list.map((m) =>
    m.isTensor ? { name: m.name, type: String(m.type), shape: [...m.shape].map((d) => (typeof d === 'number' ? d : String(d))) } : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

async function createSession(bytes: Uint8Array, gpuOutput = false): Promise<Ort.InferenceSession> {
  const o = needOrt();
  const eps: Ort.InferenceSession.ExecutionProviderConfig[] =
    info!.backend === 'webgpu' ? [gpuDevice ? ({ name: 'webgpu', device: gpuDevice } as Ort.InferenceSession.ExecutionProviderConfig) : 'webgpu', 'wasm'] : ['wasm'];
  try {
    return await o.InferenceSession.create(bytes, {
      executionProviders: eps,
      graphOptimizationLevel: 'all',
      ...(gpuOutput ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    });
  } catch (e) {
    throw new WorkerError('load', `onnxruntime could not load this model: ${(e as Error).message ?? e}`);
  }
}

/** Contract checks on a session: one 4-D NCHW 3-channel float input and output. */
function contractProblems(s: Ort.InferenceSession): string[] {
  const problems: string[] = [];
  const check = (what: string, list: readonly Ort.InferenceSession.ValueMetadata[]) => {
    if (list.length !== 1) problems.push(`${what}: expected exactly 1, found ${list.length}`);
    const m = list[0];
    if (!m) return;
    if (!m.isTensor) return problems.push(`${what} "${m.name}" is not a tensor`);
    if (m.type !== 'float32') problems.push(`${what} "${m.name}" is ${m.type}, expected float32`);
    if (m.shape.length && m.shape.length !== 4) problems.push(`${what} "${m.name}" has ${m.shape.length} dims, expected 4 (NCHW)`);
    else if (m.shape.length === 4 && typeof m.shape[1] === 'number' && m.shape[1] !== 3) problems.push(`${what} "${m.name}" has ${m.shape[1]} channels, expected 3 (RGB, NCHW)`);
    for (const [i, d] of m.shape.entries()) if (i >= 2 && typeof d === 'number' && d > 0) problems.push(`${what} "${m.name}" has a fixed ${i === 2 ? 'height' : 'width'} ${d}; the contract needs dynamic H/W`);
  };
  check('input', s.inputMetadata);
  check('output', s.outputMetadata);
  return problems;
}

async function runTensor(key: string, data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const o = needOrt();
  const s = sessions.get(key);
  if (!s) throw new WorkerError('load', `model "${key}" is not loaded`);
  const x = new o.Tensor('float32', data, dims);
  let out: Ort.InferenceSession.ReturnType;
  try {
    out = await s.run({ [s.inputNames[0]]: x });
  } catch (e) {
    throw new WorkerError('run', `the model failed on a ${dims.join('x')} input: ${(e as Error).message ?? e}`);
  }
  const y = out[s.outputNames[0]];
  const result = { data: (await y.getData()) as Float32Array, dims: [...y.dims] };
  for (const v of Object.values(out)) v.dispose();
  return result;
}

let tileCanvas: OffscreenCanvas | null = null;
function readRegion(src: ImageBitmap, x: number, y: number, w: number, h: number): Uint8ClampedArray {
  if (!tileCanvas || tileCanvas.width < w || tileCanvas.height < h) tileCanvas = new OffscreenCanvas(Math.max(w, tileCanvas?.width ?? 0), Math.max(h, tileCanvas?.height ?? 0));
  const ctx = tileCanvas.getContext('2d', { willReadFrequently: true })!;
  ctx.clearRect(0, 0, w, h);
  ctx.drawImage(src, x, y, w, h, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

async function decode(source: Blob | ImageBitmap): Promise<ImageBitmap> {
  if (source instanceof ImageBitmap) return source;
  try {
    return await createImageBitmap(source);
  } catch (e) {
    const type = source.type || 'unknown type';
    throw new WorkerError(
      'decode',
      `This browser could not decode the file as an image (${type}, ${(source.size / 1e6).toFixed(1)} MB): ${(e as Error).message || 'unsupported or corrupt data'}`,
    );
  }
}

async function imageJob(req: Extract<Request, { type: 'image' }>): Promise<void> {
  const { id, key, spec } = req;
  const t0 = performance.now();
  const bmp = await decode(req.source);
  const W = bmp.width, H = bmp.height, S = spec.scale;
  const outW = W * S, outH = H * S;
  if (outW > MAX_OUTPUT_SIDE || outH > MAX_OUTPUT_SIDE || outW * outH > MAX_OUTPUT_PIXELS) {
    bmp.close();
    throw new WorkerError('too-large', `The result would be ${outW}x${outH} (${((outW * outH) / 1e6).toFixed(0)} MP), over the browser's canvas limit (${MAX_OUTPUT_SIDE} px per side, ${MAX_OUTPUT_PIXELS / 1e6 | 0} MP). Use a smaller scale or image.`);
  }
  const s = sessions.get(key);
  if (!s) {
    bmp.close();
    throw new WorkerError('load', `model "${key}" is not loaded`);
  }
  // instance-norm models: whole-image statistics, then every tile with them fixed (lib/runtime/whole-image.ts)
  const info = normInfo.get(key) ?? { inputName: s.inputNames[0], outputName: s.outputNames[0], opset: 0, layers: [] };
  const { plan, normalization } = planImage(W, H, spec, info, spec.norm);
  post({ type: 'decoded', id, width: W, height: H, tiles: plan.tiles.length });
  let out: Uint8ClampedArray;
  try {
    out = new Uint8ClampedArray(outW * outH * 4);
  } catch {
    bmp.close();
    throw new WorkerError('too-large', `Not enough memory for a ${outW}x${outH} result (${((outW * outH * 4) / 1e6).toFixed(0)} MB).`);
  }
  let statsFrom: { width: number; height: number } | null = null;
  try {
    const r = await runTiledImage({
      width: W,
      height: H,
      read: (x, y, w, h) => readRegion(bmp, x, y, w, h),
      readScaled: (w, h) => readScaled(bmp, w, h),
      spec,
      info,
      run: (variant, feeds) => runVariant(key, variant, feeds),
      norm: spec.norm,
      out,
      beforeRun: async () => {
        // yield to the event loop so a cancel message is seen between model runs
        await new Promise((r) => setTimeout(r, 0));
        if (cancelled.has(id)) throw new WorkerError('cancelled', 'Cancelled');
      },
      // a statistics copy the backend cannot hold (memory, GPU buffer limits) is retried smaller
      isRetryable: (e) => e instanceof WorkerError && e.code === 'run',
      onTile: (done, total) => post({ type: 'progress', id, done, total, elapsedMs: performance.now() - t0 }),
    });
    statsFrom = r.statsFrom && { width: r.statsFrom.width, height: r.statsFrom.height };
  } catch (e) {
    if (e instanceof ContractError) throw new WorkerError('contract', e.message);
    throw e;
  } finally {
    if (!(req.source instanceof ImageBitmap)) bmp.close();
  }
  const bitmap = await createImageBitmap(new ImageData(out as Uint8ClampedArray<ArrayBuffer>, outW, outH));
  post({ type: 'image-done', id, bitmap, width: outW, height: outH, ms: performance.now() - t0, tiles: plan.tiles.length, normalization, statsFrom }, [bitmap]);
}

/** The model variants of lib/onnx/instance-norm.ts, created on first use from the loaded bytes. */
async function variantSession(key: string, variant: Variant): Promise<Ort.InferenceSession> {
  if (variant === 'plain') {
    const s = sessions.get(key);
    if (!s) throw new WorkerError('load', `model "${key}" is not loaded`);
    return s;
  }
  let m = variants.get(key);
  if (!m) variants.set(key, (m = new Map()));
  let p = m.get(variant);
  if (!p) {
    const bytes = modelBytes.get(key);
    if (!bytes) throw new WorkerError('load', `model "${key}" is not loaded`);
    p = createSession(rewriteInstanceNorm(bytes, variant));
    m.set(variant, p);
    p.catch(() => m!.delete(variant));
  }
  return p;
}

async function releaseVariants(key: string): Promise<void> {
  const m = variants.get(key);
  variants.delete(key);
  for (const p of m?.values() ?? []) await (await p.catch(() => null))?.release();
}

async function runVariant(key: string, variant: Variant, feeds: Feeds): Promise<Record<string, TensorData>> {
  const o = needOrt();
  const s = await variantSession(key, variant);
  const input: Record<string, Ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) input[name] = new o.Tensor('float32', t.data, t.dims);
  let out: Ort.InferenceSession.ReturnType;
  try {
    out = await s.run(input);
  } catch (e) {
    const x = Object.values(feeds).find((t) => t.dims.length === 4 && t.dims[1] === 3);
    throw new WorkerError('run', `the model${variant === 'plain' ? '' : ` (${variant} variant)`} failed on a ${x?.dims.join('x') ?? '?'} input: ${(e as Error).message ?? e}`);
  }
  const res: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(out)) {
    res[name] = { data: (await t.getData()) as Float32Array, dims: [...t.dims] };
    t.dispose();
  }
  return res;
}

/** The whole bitmap scaled to w x h (the statistics copy), with the browser's high-quality smoothing. */
function readScaled(src: ImageBitmap, w: number, h: number): Uint8ClampedArray {
  const c = new OffscreenCanvas(w, h);
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, src.width, src.height, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

async function validate(req: Extract<Request, { type: 'validate' }>): Promise<void> {
  const o = needOrt();
  const s = await createSession(new Uint8Array(req.bytes));
  const problems = contractProblems(s);
  let probe: { in: number[]; out: number[] } | undefined;
  if (!problems.length) {
    const p = roundUp(Math.max(32, req.multipleOf), req.multipleOf);
    const data = new Float32Array(3 * p * p);
    for (let i = 0; i < data.length; i++) data[i] = req.inRange[0] + ((i % 97) / 96) * (req.inRange[1] - req.inRange[0]);
    try {
      const out = await s.run({ [s.inputNames[0]]: new o.Tensor('float32', data, [1, 3, p, p]) });
      const y = out[s.outputNames[0]];
      probe = { in: [1, 3, p, p], out: [...y.dims] };
      const want = [1, 3, p * req.scale, p * req.scale];
      if (y.dims.join('x') !== want.join('x')) problems.push(`probe: a ${probe.in.join('x')} input gave ${probe.out.join('x')}; with scale ${req.scale} it must give ${want.join('x')}`);
      else {
        const d = (await y.getData()) as Float32Array;
        if (!d.every(Number.isFinite)) problems.push('probe: the output contains NaN or Infinity');
      }
    } catch (e) {
      problems.push(`probe: running a 1x3x${p}x${p} input failed: ${(e as Error).message ?? e}`);
    }
  }
  post({ type: 'validated', id: req.id, problems, inputs: meta(s.inputMetadata), outputs: meta(s.outputMetadata), probe });
  await s.release();
}

// ---- webcam: frames in, translated frames drawn straight onto an OffscreenCanvas owned by the worker
let gpuNote = '';
let cam: {
  key: string;
  canvas: OffscreenCanvas;
  ctx2d: OffscreenCanvasRenderingContext2D | null;
  gpu: CamGpuRenderer | null;
  uploader: GpuFrameUploader | null;
  session: Ort.InferenceSession;
} | null = null;

async function camStart(req: Extract<Request, { type: 'cam-start' }>): Promise<void> {
  needOrt();
  const base = sessions.get(req.key);
  if (!base) throw new WorkerError('load', `model "${req.key}" is not loaded`);
  let gpu: CamGpuRenderer | null = null;
  let session = base;
  if (info!.backend === 'webgpu') {
    // keep outputs on the GPU and draw them with a WebGPU pass on the device ORT runs on
    const device = gpuDevice;
    // Headless Chromium on a software adapter (SwiftShader) loses its WebGPU instance as soon as a
    // worker presents a WebGPU canvas, which would also break inference, so do not try there.
    gpuNote = device && softwareAdapter ? 'software adapter: frames are read back to the CPU for display' : '';
    if (device && !gpuNote) {
      try {
        gpu = new CamGpuRenderer(device, req.canvas);
        session = await createSession(modelBytes.get(req.key)!, true);
      } catch {
        gpu = null;
        session = base;
      }
    }
  }
  let uploader: GpuFrameUploader | null = null;
  if (info!.backend === 'webgpu' && gpuDevice) {
    try {
      uploader = new GpuFrameUploader(gpuDevice);
    } catch {
      uploader = null;
    }
  }
  cam = { key: req.key, canvas: req.canvas, ctx2d: gpu ? null : req.canvas.getContext('2d'), gpu, uploader, session };
}

async function camFrame(req: Extract<Request, { type: 'cam-frame' }>): Promise<void> {
  if (!cam) throw new WorkerError('run', 'webcam is not started');
  const o = needOrt();
  const t0 = performance.now();
  const { frame, spec } = req;
  const w = frame.width, h = frame.height;
  let x: Ort.Tensor;
  if (cam.uploader) {
    // frame -> GPU texture -> NCHW GPU buffer: no CPU copy of the pixels
    const buf = cam.uploader.upload(frame, spec.inRange, spec.mirror);
    frame.close();
    x = o.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: [1, 3, h, w] });
  } else {
    const rgba = readMirrored(frame, spec);
    frame.close();
    x = new o.Tensor('float32', rgbaToNCHW(rgba, w, h, spec.inRange), [1, 3, h, w]);
  }
  const s = cam.session;
  let out: Ort.InferenceSession.ReturnType;
  try {
    out = await s.run({ [s.inputNames[0]]: x });
  } catch (e) {
    throw new WorkerError('run', `the model failed on a webcam frame (${info!.backend}${cam.gpu ? ', GPU output' : ''}): ${(e as Error).message ?? e}`);
  }
  const y = out[s.outputNames[0]];
  const [, , oh, ow] = y.dims;
  if (cam.canvas.width !== ow || cam.canvas.height !== oh) {
    cam.canvas.width = ow;
    cam.canvas.height = oh;
  }
  if (cam.gpu && y.location === 'gpu-buffer') {
    try {
      cam.gpu.draw(y.gpuBuffer as GPUBuffer, ow, oh, spec.outRange);
      // (queue.onSubmittedWorkDone() rejects in Chromium workers here; the frame is presented when this task ends)
    } catch (e) {
      throw new WorkerError('run', `drawing the GPU output failed: ${(e as Error).message ?? e}`);
    }
  } else {
    const d = (await y.getData()) as Float32Array;
    cam.ctx2d ??= cam.canvas.getContext('2d');
    cam.ctx2d!.putImageData(new ImageData(nchwToRGBA(d, ow, oh, spec.outRange) as Uint8ClampedArray<ArrayBuffer>, ow, oh), 0, 0);
  }
  y.dispose();
  post({ type: 'cam-done', id: req.id, latencyMs: performance.now() - t0, backend: info!.backend, gpuOutput: !!cam.gpu, gpuInput: !!cam.uploader, note: gpuNote });
}

function readMirrored(frame: ImageBitmap, spec: CamSpec): Uint8ClampedArray {
  const w = frame.width, h = frame.height;
  if (!tileCanvas || tileCanvas.width < w || tileCanvas.height < h) tileCanvas = new OffscreenCanvas(Math.max(w, tileCanvas?.width ?? 0), Math.max(h, tileCanvas?.height ?? 0));
  const ctx = tileCanvas.getContext('2d', { willReadFrequently: true })!;
  ctx.save();
  if (spec.mirror) {
    ctx.translate(w, 0);
    ctx.scale(-1, 1);
  }
  ctx.drawImage(frame, 0, 0);
  ctx.restore();
  return ctx.getImageData(0, 0, w, h).data;
}

const modelBytes = new Map<string, Uint8Array>();
/** Per model: input/output names and InstanceNormalization layers (no layers: tiles run as they are). */
const normInfo = new Map<string, NormModelInfo>();
const variants = new Map<string, Map<Variant, Promise<Ort.InferenceSession>>>();

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case 'init':
      post({ type: 'ready', id: req.id, info: await init(req.prefer, req.wasmPaths) });
      return;
    case 'load': {
      needOrt();
      const t0 = performance.now();
      let bytes: Uint8Array, fromCache = false;
      if ('url' in req.source) ({ bytes, fromCache } = await fetchModel(req.source.url, req.cacheKey ?? req.source.url));
      else bytes = new Uint8Array(req.source.bytes);
      const old = sessions.get(req.key);
      const s = await createSession(bytes);
      const problems = contractProblems(s);
      if (problems.length) {
        await s.release();
        throw new WorkerError('contract', `This model does not follow the Ganvas contract:\n- ${problems.join('\n- ')}`);
      }
      let info: NormModelInfo;
      try {
        info = inspectInstanceNorm(bytes);
      } catch {
        info = { inputName: s.inputNames[0], outputName: s.outputNames[0], opset: 0, layers: [] }; // onnxruntime read it; run it as it is
      }
      sessions.set(req.key, s);
      modelBytes.set(req.key, bytes);
      normInfo.set(req.key, info);
      await releaseVariants(req.key);
      if (old) await old.release();
      post({ type: 'loaded', id: req.id, key: req.key, inputs: meta(s.inputMetadata), outputs: meta(s.outputMetadata), ms: performance.now() - t0, fromCache });
      return;
    }
    case 'unload': {
      const s = sessions.get(req.key);
      sessions.delete(req.key);
      modelBytes.delete(req.key);
      normInfo.delete(req.key);
      await releaseVariants(req.key);
      if (s) await s.release();
      post({ type: 'ok', id: req.id });
      return;
    }
    case 'run': {
      const t0 = performance.now();
      const y = await runTensor(req.key, req.data, req.dims);
      post({ type: 'result', id: req.id, data: y.data, dims: y.dims, ms: performance.now() - t0 }, [y.data.buffer]);
      return;
    }
    case 'image':
      await imageJob(req);
      return;
    case 'cancel':
      cancelled.add(req.target);
      post({ type: 'ok', id: req.id });
      return;
    case 'validate':
      await validate(req);
      return;
    case 'cam-start':
      await camStart(req);
      post({ type: 'ok', id: req.id });
      return;
    case 'cam-frame':
      await camFrame(req);
      return;
    case 'cam-snapshot': {
      if (!cam) throw new WorkerError('run', 'webcam is not started');
      const blob = await cam.canvas.convertToBlob({ type: 'image/png' });
      post({ type: 'snapshot', id: req.id, blob });
      return;
    }
    case 'cam-stop':
      if (cam && cam.session !== sessions.get(cam.key)) await cam.session.release();
      cam?.gpu?.destroy();
      cam?.uploader?.destroy();
      cam = null;
      post({ type: 'ok', id: req.id });
      return;
  }
}

// One model operation at a time (sessions are not re-entrant); cancel and snapshot bypass the queue.
let queue: Promise<unknown> = Promise.resolve();
function serial(req: Request): Promise<void> {
  if (req.type === 'cancel' || req.type === 'cam-snapshot') return handle(req);
  const next = queue.then(() => handle(req));
  queue = next.catch(() => undefined);
  return next;
}

self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  serial(req).catch((e: unknown) => {
    const code: ErrorCode = e instanceof WorkerError ? e.code : 'unknown';
    post({ type: 'error', id: req.id, code, message: (e as Error)?.message ?? String(e) });
  }).finally(() => {
    if (req.type === 'image') cancelled.delete(req.id);
  });
};
