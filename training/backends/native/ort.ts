/**
 * onnxruntime-node's native binding, used synchronously (tfjs kernels are synchronous).
 *
 * `onnxruntime-node/dist/binding` is an internal module of onnxruntime-node: its
 * `binding.InferenceSession` has `loadModel(buffer, byteOffset, byteLength, options)` and a
 * synchronous `run(feeds, fetches, options)` that writes into the preallocated output tensors
 * passed in `fetches` (the public `InferenceSession.run` wraps the same call in a promise). Because
 * it is internal, Ganvas pins the exact onnxruntime-node version (package.json) and checks it here;
 * tests/backends/native-binding.test.ts fails loudly if the shape of that API changes.
 *
 * Sessions are cached per (graph key): one ONNX graph per (op, shapes, attributes), created once
 * and reused every step; the cache is bounded (least recently used sessions are released).
 */
import { createRequire } from 'node:module';

/** The onnxruntime-node version whose internal binding this module was written and tested against. */
export const PINNED_ORT_VERSION = '1.30.0';

/** Intra-op threads for every session: both cores of a typical laptop / CI machine. */
export const DEFAULT_THREADS = 2;

/**
 * Intra-op threads the native backend uses: GANVAS_NATIVE_THREADS when set (e.g. 1 for each of two
 * trainings sharing two cores, so neither waits on a descheduled worker), else DEFAULT_THREADS.
 */
export function nativeThreads(env: Record<string, string | undefined> = process.env): number {
  const raw = env.GANVAS_NATIVE_THREADS;
  if (raw === undefined || raw === '') return DEFAULT_THREADS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`GANVAS_NATIVE_THREADS must be a whole number of threads from 1 to 256, got '${raw}'`);
  return n;
}

interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}
type TensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensorLike;

interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, OrtTensorLike>, fetches: Record<string, OrtTensorLike | null>, options: Record<string, unknown>): Record<string, OrtTensorLike>;
  dispose(): void;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
}

export interface OrtNative {
  version: string;
  Session: new () => BindingSession;
  Tensor: TensorCtor;
}

export type OrtLoad = { ok: true; ort: OrtNative } | { ok: false; why: string };

let loaded: OrtLoad | null = null;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);
}

/**
 * Checks that a loaded binding has the API this module uses. Exported for the test that pins it.
 * Returns a reason when it does not.
 */
export function checkBindingShape(mod: unknown): string | null {
  const b = (mod as { binding?: Record<string, unknown> })?.binding;
  if (!b || typeof b !== 'object') return 'onnxruntime-node/dist/binding has no `binding` export';
  if (typeof (mod as { initOrt?: unknown }).initOrt !== 'function') return 'onnxruntime-node/dist/binding has no initOrt()';
  const Ctor = b.InferenceSession;
  if (typeof Ctor !== 'function') return 'binding.InferenceSession is not a constructor';
  const proto = (Ctor as { prototype?: Record<string, unknown> }).prototype;
  for (const m of ['loadModel', 'run', 'dispose']) {
    if (typeof proto?.[m] !== 'function') return `binding.InferenceSession has no ${m}()`;
  }
  return null;
}

/**
 * Loads onnxruntime-node's binding once (never throws): the pinned version, the API shape, and a
 * one-node test graph that must compute the right numbers through the synchronous run with a
 * preallocated output.
 */
export function loadOrt(): OrtLoad {
  if (loaded) return loaded;
  loaded = loadOrtUncached();
  return loaded;
}

function loadOrtUncached(): OrtLoad {
  const require = createRequire(import.meta.url);
  let version: string;
  try {
    version = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch (err) {
    return { ok: false, why: `onnxruntime-node is not installed (${firstLine(err)}); npm install onnxruntime-node@${PINNED_ORT_VERSION}` };
  }
  if (version !== PINNED_ORT_VERSION) {
    return {
      ok: false,
      why: `onnxruntime-node ${version} is installed, but the native backend uses its internal synchronous binding and is pinned to ${PINNED_ORT_VERSION}; npm install onnxruntime-node@${PINNED_ORT_VERSION}`,
    };
  }
  let mod: unknown;
  let common: { Tensor?: unknown };
  try {
    mod = require('onnxruntime-node/dist/binding');
    common = require('onnxruntime-common') as { Tensor?: unknown };
  } catch (err) {
    return { ok: false, why: `onnxruntime-node ${version}'s native binding did not load: ${firstLine(err)}` };
  }
  const shape = checkBindingShape(mod);
  if (shape) return { ok: false, why: `onnxruntime-node ${version}: ${shape} (its internal API changed)` };
  if (typeof common.Tensor !== 'function') return { ok: false, why: 'onnxruntime-common has no Tensor class' };
  const m = mod as { binding: { InferenceSession: new () => BindingSession }; initOrt: () => void };
  try {
    m.initOrt();
  } catch (err) {
    return { ok: false, why: `onnxruntime-node ${version} failed to initialise: ${firstLine(err)}` };
  }
  return { ok: true, ort: { version, Session: m.binding.InferenceSession, Tensor: common.Tensor as TensorCtor } };
}

export interface SessionSpec {
  /** the op it implements, for messages */
  op: string;
  /** ONNX model bytes */
  model: Uint8Array;
  inputs: string[];
  outputs: string[];
}

export interface CachedSession {
  key: string;
  op: string;
  session: BindingSession;
  inputs: string[];
  outputs: string[];
  runs: number;
}

/** Session options: 2 intra-op threads without spinning, so the JS thread (and the other process) are not starved. */
export function sessionOptions(threads = DEFAULT_THREADS): Record<string, unknown> {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * A bounded cache of sessions, one per key. `get` builds the graph only on a miss.
 * Creating a session that fails throws an Error naming the op and the key (its shapes).
 */
export class SessionCache {
  private readonly map = new Map<string, CachedSession>();
  created = 0;
  released = 0;
  /** runs of every session, ever */
  runs = 0;

  constructor(
    private readonly ort: OrtNative,
    readonly capacity = 256,
    private threadCount = DEFAULT_THREADS,
  ) {}

  /** Intra-op threads of the sessions this cache creates. */
  get threads(): number {
    return this.threadCount;
  }

  /** Sessions from now on use `threads` intra-op threads; cached ones are released when it changes. */
  setThreads(threads: number): void {
    if (threads === this.threadCount) return;
    this.clear();
    this.threadCount = threads;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string, build: () => SessionSpec): CachedSession {
    const hit = this.map.get(key);
    if (hit) {
      // refresh its LRU position
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    let spec: SessionSpec;
    try {
      spec = build();
    } catch (err) {
      throw new Error(`native ${key.split(' ')[0]}: onnxruntime could not create a session for ${key}: ${firstLine(err)}`);
    }
    const session = new this.ort.Session();
    try {
      session.loadModel(spec.model.buffer as ArrayBuffer, spec.model.byteOffset, spec.model.byteLength, sessionOptions(this.threadCount));
    } catch (err) {
      throw new Error(`native ${spec.op}: onnxruntime could not create a session for ${key}: ${firstLine(err)}`);
    }
    const entry: CachedSession = { key, op: spec.op, session, inputs: spec.inputs, outputs: spec.outputs, runs: 0 };
    this.map.set(key, entry);
    this.created++;
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as string;
      this.map.get(oldest)!.session.dispose();
      this.map.delete(oldest);
      this.released++;
    }
    return entry;
  }

  /**
   * Runs a cached session synchronously: `inputs` and `outputs` are Float32Array views (on the
   * wasm heap: no copies) in the order of the session's inputs and outputs.
   */
  run(entry: CachedSession, inputs: { data: Float32Array; dims: readonly number[] }[], outputs: { data: Float32Array; dims: readonly number[] }[]): void {
    const feeds: Record<string, OrtTensorLike> = {};
    const fetches: Record<string, OrtTensorLike> = {};
    entry.inputs.forEach((name, i) => (feeds[name] = new this.ort.Tensor('float32', inputs[i].data, inputs[i].dims)));
    entry.outputs.forEach((name, i) => (fetches[name] = new this.ort.Tensor('float32', outputs[i].data, outputs[i].dims)));
    try {
      entry.session.run(feeds, fetches, {});
    } catch (err) {
      throw new Error(`native ${entry.op}: onnxruntime failed to run ${entry.key}: ${firstLine(err)}`);
    }
    entry.runs++;
    this.runs++;
  }

  clear(): void {
    for (const e of this.map.values()) e.session.dispose();
    this.released += this.map.size;
    this.map.clear();
  }
}
