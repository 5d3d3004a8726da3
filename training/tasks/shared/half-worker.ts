/**
 * Half-step workers: a worker thread that computes part of a GAN training step (one domain's
 * half of the losses and their gradients) while the training thread computes the rest, for the
 * CPU backends, whose one-thread work (wasm kernels, JS loops) leaves the second core idle.
 *
 * The training thread owns every piece of state (weights, optimisers, RNG, pools, checkpoints);
 * the worker builds the same networks, receives their weights and its inputs at each request and
 * returns gradients and loss values. Data moves through one SharedArrayBuffer cut into named
 * regions (float32 or int32); a request is a posted message, and the training thread blocks in
 * Atomics.wait until the worker stores the request's sequence number (tfjs kernels are
 * synchronous, so the step cannot await). A failure in the worker comes back as its message,
 * thrown in the training thread.
 *
 * The worker runs `half-worker-thread.ts`, which imports a task's handler module (its `init`
 * returns one function per request) on the same tfjs backend.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../io/ts-worker';
import { nativeThreads } from '../../backends/native/ort';
import { setNativeThreads } from '../../backends/native/kernels';

export type RegionSpec = Record<string, { kind: 'f32' | 'i32'; size: number }>;

export interface HalfLayout {
  regions: Record<string, { kind: 'f32' | 'i32'; offset: number; size: number }>;
  f32Size: number;
  i32Size: number;
  errBytes: number;
}

/** The control words: the last answered request's sequence number, its status, its error's length. */
export const CTL = { done: 0, status: 1, errLength: 2 } as const;
const CTL_WORDS = 3;
const ERR_BYTES = 4096;

export function halfLayout(spec: RegionSpec): HalfLayout {
  const regions: HalfLayout['regions'] = {};
  let f32 = 0;
  let i32 = CTL_WORDS;
  for (const [name, { kind, size }] of Object.entries(spec)) {
    regions[name] = { kind, offset: kind === 'f32' ? f32 : i32, size };
    if (kind === 'f32') f32 += size;
    else i32 += size;
  }
  return { regions, f32Size: f32, i32Size: i32, errBytes: ERR_BYTES };
}

export const halfBufferBytes = (l: HalfLayout): number => (l.f32Size + l.i32Size) * 4 + l.errBytes;

export interface HalfViews {
  f32(name: string): Float32Array;
  i32(name: string): Int32Array;
  ctl: Int32Array;
  err: Uint8Array;
}

/** Typed views of the shared buffer's regions (the same on both sides). */
export function halfViews(sab: SharedArrayBuffer, l: HalfLayout): HalfViews {
  const floats = new Float32Array(sab, 0, l.f32Size);
  const ints = new Int32Array(sab, l.f32Size * 4, l.i32Size);
  const region = (name: string, kind: 'f32' | 'i32') => {
    const r = l.regions[name];
    if (!r || r.kind !== kind) throw new Error(`half worker: no ${kind} region '${name}'`);
    return r;
  };
  return {
    f32: (name) => {
      const r = region(name, 'f32');
      return floats.subarray(r.offset, r.offset + r.size);
    },
    i32: (name) => {
      const r = region(name, 'i32');
      return ints.subarray(r.offset, r.offset + r.size);
    },
    ctl: ints.subarray(0, CTL_WORDS),
    err: new Uint8Array(sab, (l.f32Size + l.i32Size) * 4, l.errBytes),
  };
}

/** Floats in a list of variables (the size of a region that holds their weights or gradients). */
export const floatsOf = (vars: { size: number }[]): number => vars.reduce((a, v) => a + v.size, 0);

/** Copies the variables' values into a float region, one after the other. */
export function writeVars(region: Float32Array, vars: tf.Variable[]): void {
  let at = 0;
  for (const v of vars) {
    const d = v.dataSync() as Float32Array;
    region.set(d, at);
    at += d.length;
  }
}

/** Assigns the variables from a float region (the worker side of writeVars). */
export function assignVars(region: Float32Array, vars: tf.Variable[]): void {
  let at = 0;
  for (const v of vars) {
    const n = v.size;
    tf.tidy(() => v.assign(tf.tensor(region.subarray(at, at + n), v.shape, 'float32')));
    at += n;
  }
}

/** Writes gradients in the variables' order (absent ones flagged 0 in `present`). */
export function writeGrads(region: Float32Array, present: Int32Array, vars: tf.Variable[], grads: tf.NamedTensorMap): void {
  let at = 0;
  vars.forEach((v, i) => {
    const g = grads[v.name];
    present[i] = g ? 1 : 0;
    if (g) region.set(g.dataSync() as Float32Array, at);
    at += v.size;
  });
}

/** Gradients written by writeGrads, as tensors of this thread keyed by this thread's variable names. */
export function readGrads(region: Float32Array, present: Int32Array, vars: tf.Variable[]): tf.NamedTensorMap {
  const grads: tf.NamedTensorMap = {};
  let at = 0;
  vars.forEach((v, i) => {
    if (present[i]) grads[v.name] = tf.tensor(region.subarray(at, at + v.size), v.shape, 'float32');
    at += v.size;
  });
  return grads;
}

/**
 * Whether a run on `backend` can use a half worker, and the onnxruntime threads of each side: the
 * cores the backend may use (native: its thread count, GANVAS_NATIVE_THREADS or 2; wasm: the
 * machine's) split between the two threads. Otherwise why not.
 */
export function planHalfWorker(
  backend: string,
  cores: number = backend === 'native' ? nativeThreads() : (os.availableParallelism?.() ?? os.cpus().length),
): { threads: number } | { why: string } {
  if (backend !== 'native' && backend !== 'wasm') return { why: `the ${backend} backend runs its own threads (the worker is for the CPU backends native and wasm)` };
  if (cores < 2) return { why: backend === 'native' ? `the native backend may use one core (GANVAS_NATIVE_THREADS=${cores})` : 'one CPU core' };
  return { threads: Math.floor(cores / 2) };
}

/**
 * Starts a planned half-step worker with `start` (given the plan's threads), after cutting the
 * training thread's onnxruntime threads to its share on native; a plan that says why not starts
 * nothing. Returns the plan.
 */
export async function startPlannedWorker(
  plan: { threads: number } | { why: string },
  backend: string,
  start: (threads: number) => Promise<void>,
): Promise<{ threads: number } | { why: string }> {
  if ('why' in plan) return plan;
  if (backend === 'native') setNativeThreads(plan.threads);
  await start(plan.threads);
  return plan;
}

/** Milliseconds the training thread waits for the first answer before it gives up on the worker. */
const FIRST_REQUEST_TIMEOUT_MS = 30 * 60 * 1000;

export class HalfWorker {
  readonly views: HalfViews;
  private seq = 0;
  private pending: string | null = null;
  /** The longest answered request (ms): one that takes far longer means the worker is gone. */
  private longestMs = 0;
  private sentAt = 0;

  private constructor(
    private readonly worker: Worker,
    readonly layout: HalfLayout,
    sab: SharedArrayBuffer,
    /** what the worker computes, for messages */
    readonly what: string,
  ) {
    this.views = halfViews(sab, layout);
  }

  /**
   * Starts a worker on the active tfjs backend with `threads` onnxruntime threads, running the
   * handler module `handlers` (its `init(views, data)`), and waits until it is ready.
   */
  static async start(what: string, handlers: URL, spec: RegionSpec, data: unknown, threads: number): Promise<HalfWorker> {
    const layout = halfLayout(spec);
    const sab = new SharedArrayBuffer(halfBufferBytes(layout));
    const worker = startTsWorker(new URL('./half-worker-thread.ts', import.meta.url), { handlers: handlers.href, sab, layout, data, backend: tf.getBackend() }, {
      env: { ...process.env, GANVAS_NATIVE_THREADS: String(threads) },
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string): void => {
        void worker.terminate();
        reject(new Error(`the ${what} worker did not start: ${why}`));
      };
      worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : fail(m.error ?? 'no reason given')));
      worker.once('error', (e) => fail(e.message));
      worker.once('exit', (code) => fail(`it exited with code ${code}`));
    });
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    // a worker error between requests surfaces at the next wait; the worker does not keep the process alive
    worker.on('error', () => {});
    worker.unref();
    return new HalfWorker(worker, layout, sab, what);
  }

  /** Starts request `cmd` (its inputs must be in the shared buffer already). */
  post(cmd: string): void {
    if (this.pending) throw new Error(`${this.what} worker: a ${cmd} request while the ${this.pending} request is unanswered`);
    this.seq++;
    this.pending = cmd;
    this.sentAt = Date.now();
    this.worker.postMessage({ cmd, seq: this.seq });
  }

  /**
   * Blocks until the worker has answered the pending request `cmd`; throws the worker's error. The
   * training thread cannot see the worker's exit while it blocks, so a request that takes far
   * longer than any before it (or FIRST_REQUEST_TIMEOUT_MS for the first) counts as a lost worker.
   */
  wait(cmd: string): void {
    if (this.pending !== cmd) throw new Error(`${this.what} worker: waiting for a ${cmd} answer, but the pending request is ${this.pending ?? 'none'}`);
    const ctl = this.views.ctl;
    const limit = this.longestMs ? Math.max(120_000, 50 * this.longestMs) : FIRST_REQUEST_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(ctl, CTL.done);
      if (done === this.seq) break;
      if (Date.now() - this.sentAt > limit) {
        this.pending = null;
        throw new Error(`${this.what} worker: no answer to the ${cmd} request in ${Math.round(limit / 1000)} s (the worker thread is gone or stuck)`);
      }
      Atomics.wait(ctl, CTL.done, done, 1000);
    }
    this.longestMs = Math.max(this.longestMs, Date.now() - this.sentAt);
    this.pending = null;
    if (Atomics.load(ctl, CTL.status) !== 0) {
      const n = Atomics.load(ctl, CTL.errLength);
      throw new Error(`${this.what} worker (${cmd} request): ${new TextDecoder().decode(this.views.err.slice(0, n))}`);
    }
  }

  /**
   * Waits out a request left unanswered by a step that failed half-way (its answer is dropped), so
   * the next step starts with the worker idle. Returns whether there was one.
   */
  drain(): boolean {
    const cmd = this.pending;
    if (!cmd) return false;
    try {
      this.wait(cmd);
    } catch {
      // the step that posted it has already failed; its error is the one to report
    }
    return true;
  }

  /** Sends a request and waits for its answer. */
  request(cmd: string): void {
    this.post(cmd);
    this.wait(cmd);
  }

  terminate(): void {
    void this.worker.terminate();
  }
}
