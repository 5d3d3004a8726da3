/**
 * The page's side of the runtime: one small interface in front of the inference worker.
 *
 *   const rt = await createRuntime('auto');
 *   rt.backend, rt.reason            // 'webgpu' | 'wasm', and why
 *   await rt.load(key, source)       // an ONNX model, from a URL (Cache Storage) or bytes
 *   await rt.run(key, data, dims)    // one NCHW float32 tensor
 *   rt.runImage(key, blob, spec)     // tiled image job with progress + cancel
 *   rt.dispose()
 */
import type { BackendInfo, BackendPref, CamSpec, ErrorCode, ImageSpec, ModelSource, Request, Response, TensorMeta } from './protocol';
import type { Normalization } from './whole-image';

export class RuntimeError extends Error {
  constructor(public code: ErrorCode, message: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

type Pending = { resolve: (r: Response) => void; reject: (e: Error) => void; onProgress?: (r: Response) => void };

export interface ImageJob {
  id: number;
  promise: Promise<{ bitmap: ImageBitmap; width: number; height: number; ms: number; tiles: number; normalization: Normalization; statsFrom: { width: number; height: number } | null }>;
  cancel: () => void;
}

export interface Runtime extends BackendInfo {
  load(key: string, source: ModelSource, cacheKey?: string): Promise<{ inputs: TensorMeta[]; outputs: TensorMeta[]; ms: number; fromCache: boolean }>;
  unload(key: string): Promise<void>;
  run(key: string, data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[]; ms: number }>;
  runImage(
    key: string,
    source: Blob | ImageBitmap,
    spec: ImageSpec,
    on?: { decoded?: (w: number, h: number, tiles: number) => void; progress?: (done: number, total: number, elapsedMs: number) => void },
  ): ImageJob;
  validate(bytes: ArrayBuffer, opts: { scale: number; multipleOf: number; inRange: [number, number] }): Promise<Extract<Response, { type: 'validated' }>>;
  camStart(key: string, canvas: OffscreenCanvas, spec: CamSpec): Promise<void>;
  camFrame(frame: ImageBitmap, spec: CamSpec): Promise<{ latencyMs: number; gpuOutput: boolean; gpuInput: boolean; note: string }>;
  camSnapshot(): Promise<Blob>;
  camStop(): Promise<void>;
  dispose(): void;
}

export async function createRuntime(prefer: BackendPref = 'auto', wasmPaths = `${location.origin}/ort/`): Promise<Runtime> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let dead: Error | null = null;

  worker.onmessage = (ev: MessageEvent<Response>) => {
    const msg = ev.data;
    const p = pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress' || msg.type === 'decoded') return p.onProgress?.(msg);
    pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new RuntimeError(msg.code, msg.message));
    else p.resolve(msg);
  };
  worker.onerror = (ev) => {
    dead = new RuntimeError('unknown', `the inference worker crashed: ${ev.message || 'unknown error'}`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };

  function call<T extends Response['type']>(req: Request, transfer: Transferable[] = [], onProgress?: (r: Response) => void): Promise<Extract<Response, { type: T }>> {
    if (dead) return Promise.reject(dead);
    return new Promise((resolve, reject) => {
      pending.set(req.id, { resolve: resolve as (r: Response) => void, reject, onProgress });
      worker.postMessage(req, transfer);
    });
  }

  const ready = await call<'ready'>({ type: 'init', id: nextId++, prefer, wasmPaths });

  return {
    ...ready.info,
    async load(key, source, cacheKey) {
      const r = await call<'loaded'>({ type: 'load', id: nextId++, key, source, cacheKey });
      return { inputs: r.inputs, outputs: r.outputs, ms: r.ms, fromCache: r.fromCache };
    },
    async unload(key) {
      await call<'ok'>({ type: 'unload', id: nextId++, key });
    },
    async run(key, data, dims) {
      const r = await call<'result'>({ type: 'run', id: nextId++, key, data, dims }, [data.buffer]);
      return { data: r.data, dims: r.dims, ms: r.ms };
    },
    runImage(key, source, spec, on) {
      const id = nextId++;
      const norm = spec.norm ?? normFromUrl(location.search);
      const promise = call<'image-done'>({ type: 'image', id, key, source, spec: norm ? { ...spec, norm } : spec }, source instanceof ImageBitmap ? [source] : [], (m) => {
        if (m.type === 'decoded') on?.decoded?.(m.width, m.height, m.tiles);
        else if (m.type === 'progress') on?.progress?.(m.done, m.total, m.elapsedMs);
      }).then((r) => ({ bitmap: r.bitmap, width: r.width, height: r.height, ms: r.ms, tiles: r.tiles, normalization: r.normalization, statsFrom: r.statsFrom }));
      return { id, promise, cancel: () => worker.postMessage({ type: 'cancel', id: nextId++, target: id } satisfies Request) };
    },
    validate(bytes, opts) {
      return call<'validated'>({ type: 'validate', id: nextId++, bytes, ...opts });
    },
    async camStart(key, canvas, spec) {
      await call<'ok'>({ type: 'cam-start', id: nextId++, key, canvas, spec }, [canvas]);
    },
    async camFrame(frame, spec) {
      const r = await call<'cam-done'>({ type: 'cam-frame', id: nextId++, frame, spec }, [frame]);
      return { latencyMs: r.latencyMs, gpuOutput: r.gpuOutput, gpuInput: r.gpuInput, note: r.note };
    },
    async camSnapshot() {
      return (await call<'snapshot'>({ type: 'cam-snapshot', id: nextId++ })).blob;
    },
    async camStop() {
      await call<'ok'>({ type: 'cam-stop', id: nextId++ });
    },
    dispose() {
      dead = new RuntimeError('unknown', 'runtime disposed');
      for (const p of pending.values()) p.reject(dead);
      pending.clear();
      worker.terminate();
    },
  };
}

/**
 * Normalization override from the page URL, for comparisons and benchmarks: `?norm=per-tile` (each tile its
 * own instance-norm statistics, the old behaviour) or `?norm=whole-image&stats=1024` (statistics copy size).
 */
export function normFromUrl(search: string): ImageSpec['norm'] | undefined {
  const q = new URLSearchParams(search);
  const mode = q.get('norm');
  const stats = Number(q.get('stats'));
  if (mode !== 'per-tile' && mode !== 'whole-image' && !(stats > 0)) return undefined;
  return { ...(mode === 'per-tile' || mode === 'whole-image' ? { mode } : {}), ...(stats > 0 ? { statsSize: Math.floor(stats) } : {}) };
}

/** Backend preference from `?backend=wasm|webgpu|auto` (wins) or the saved setting. */
export function backendFromUrl(search: string): BackendPref | null {
  const v = new URLSearchParams(search).get('backend');
  return v === 'wasm' || v === 'webgpu' || v === 'auto' ? v : null;
}
