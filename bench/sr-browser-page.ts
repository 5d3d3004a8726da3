/**
 * Runs inside the Chromium page of bench/sr-browser.ts (served as an ES module, transpiled from
 * this file on request; bare imports resolve through the page's import map to the packages' own
 * dist files). Times one SR model per call with the same rules as the Node rows of bench/sr.ts
 * and returns the output on a small check input so Node can compare it with its own.
 *
 * The tiling, pixel conversion and tfjs feed are the Node helpers themselves
 * (training/eval/sr/runners.ts): only the onnxruntime session differs (onnxruntime-web instead of
 * onnxruntime-node); the two UpscalerJS custom layers come from training/eval/sr/upscaler-layers.ts
 * (peers.ts itself resolves files with Node APIs).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-web';
import type { RgbImage } from '../training/data/images';
import { floatToRgb, tfjsRunner, upscaleTiled, type Range, type SrRunner } from '../training/eval/sr/runners';
import { registerUpscalerLayers } from '../training/eval/sr/upscaler-layers';

/** An image the server holds as raw RGB bytes. */
export interface PageImage {
  url: string;
  width: number;
  height: number;
}

export interface PageImages {
  input: PageImage;
  warm: PageImage;
  check: PageImage;
}

export type PageJob =
  | { kind: 'ort'; name: string; url: string; scale: number; inputName: string; outputName: string; inputRange: Range; outputRange: Range; threads: number }
  | { kind: 'tfjs'; name: string; url: string; scale: number; range: Range; tile: number; overlap: number };

export interface PageResult {
  /** Best of the timed runs, seconds. */
  seconds: number;
  /** Timed runs done (up to 3; 1 when a run takes over 5 s). */
  runs: number;
  /** Output on the check input, raw RGB bytes as base64. */
  check: { width: number; height: number; base64: string };
}

export interface TfjsInfo {
  backend: string;
  /** The wasm binary tfjs picked (from its SIMD / multithread feature flags). */
  binary: string;
  /** XNNPACK threads actually used (getThreadsCount after init). */
  threads: number;
  crossOriginIsolated: boolean;
}

export interface SrBenchApi {
  initOrt(): { version: string; crossOriginIsolated: boolean };
  initTfjs(threads: number): Promise<TfjsInfo>;
  run(job: PageJob, images: PageImages): Promise<PageResult>;
}

declare global {
  interface Window {
    srBench?: SrBenchApi;
    srBenchError?: string;
  }
}

registerUpscalerLayers();

async function fetchImage(img: PageImage): Promise<RgbImage> {
  const res = await fetch(img.url);
  if (!res.ok) throw new Error(`${img.url}: HTTP ${res.status}`);
  const data = new Uint8Array(await res.arrayBuffer());
  if (data.length !== img.width * img.height * 3) throw new Error(`${img.url}: ${data.length} bytes, expected ${img.width}x${img.height}x3`);
  return { width: img.width, height: img.height, data };
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** onnxRunner (training/eval/sr/runners.ts) with onnxruntime-web's WASM EP instead of onnxruntime-node. */
async function ortWebRunner(job: Extract<PageJob, { kind: 'ort' }>): Promise<SrRunner> {
  ort.env.wasm.numThreads = job.threads;
  const session = await ort.InferenceSession.create(job.url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const [lo, hi] = job.inputRange;
  const run = async (img: RgbImage): Promise<RgbImage> => {
    const n = img.width * img.height;
    const chw = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) chw[c * n + i] = lo + (img.data[3 * i + c] / 255) * (hi - lo);
    const res = await session.run({ [job.inputName]: new ort.Tensor('float32', chw, [1, 3, img.height, img.width]) });
    const out = res[job.outputName];
    if (!out) throw new Error(`${job.name}: the model has no output "${job.outputName}" (it has ${Object.keys(res).join(', ')})`);
    const [, , H, W] = out.dims as number[];
    if (H !== img.height * job.scale || W !== img.width * job.scale) throw new Error(`${job.name}: ${img.width}x${img.height} gave ${W}x${H}, expected scale ${job.scale}`);
    const r = floatToRgb(out.data as Float32Array, W, H, job.outputRange, 'chw');
    out.dispose();
    return r;
  };
  return { name: job.name, scale: job.scale, upscale: (lr) => upscaleTiled(lr, job.scale, run), dispose: () => session.release() };
}

async function tfjsModelRunner(job: Extract<PageJob, { kind: 'tfjs' }>): Promise<SrRunner> {
  // tfjs fetches all weight shards at once and reads no body until every response has arrived;
  // with more than 6 large shards (esrgan-thick has 7 x 4 MB) Chromium's 6 HTTP/1.1 connections
  // per host stay busy with unread bodies and the 7th request never starts. Reading each body as
  // its response arrives frees the connection.
  const fetchFunc = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(url, init);
    return new Response(await res.arrayBuffer(), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  const model = await tfl.loadLayersModel(job.url, { fetchFunc });
  const r = tfjsRunner(model, { name: job.name, scale: job.scale, range: job.range, tile: job.tile, overlap: job.overlap });
  return {
    ...r,
    dispose: () => {
      model.dispose();
    },
  };
}

/** bench/sr.ts timeRunner: one warm-up run, then best of up to 3 timed runs (1 when a run takes over 5 s). */
async function timeRunner(r: SrRunner, img: RgbImage, warm: RgbImage): Promise<{ seconds: number; runs: number }> {
  await r.upscale(warm);
  console.debug(`${r.name}: warm-up done`);
  let best = Infinity;
  let runs = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await r.upscale(img);
    const s = (performance.now() - t0) / 1000;
    runs++;
    console.debug(`${r.name}: run ${runs} ${s.toFixed(2)} s`);
    best = Math.min(best, s);
    if (s > 5) break;
  }
  return { seconds: best, runs };
}

window.srBench = {
  initOrt() {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = 1;
    return { version: ort.env.versions.web ?? 'unknown', crossOriginIsolated: self.crossOriginIsolated };
  },
  async initTfjs(threads) {
    setWasmPaths('/tfjs/wasm/');
    setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const binary = simd && mt ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
    return { backend: tf.getBackend(), binary, threads: getThreadsCount(), crossOriginIsolated: self.crossOriginIsolated };
  },
  async run(job, images) {
    const [input, warm, check] = await Promise.all([fetchImage(images.input), fetchImage(images.warm), fetchImage(images.check)]);
    const r = job.kind === 'ort' ? await ortWebRunner(job) : await tfjsModelRunner(job);
    console.debug(`${job.name} x${job.scale}: loaded`);
    try {
      const t = await timeRunner(r, input, warm);
      const out = await r.upscale(check);
      return { ...t, check: { width: out.width, height: out.height, base64: toBase64(out.data) } };
    } finally {
      await r.dispose?.();
    }
  },
};
