/**
 * Domain-parallel CycleGAN steps: a worker thread computes the halves of a step that belong to
 * real domain B while the training thread computes domain A's.
 *
 * A CycleGAN step is symmetric in its two domains: L_G is the sum of a half that starts from real a
 * (G(a) judged by D_B, the cycle F(G(a)), F's identity on a) and its mirror image from real b, and
 * L_D is D_A's loss plus D_B's. The halves only read the networks, so with the weights of G, F and
 * D_A copied to a worker at the start of a step, the worker's half b and D_A half run alongside the
 * main thread's half a and D_B half: each thread keeps one core busy, including the stretches of
 * single-threaded wasm work (instance norm, depthwise convs, elementwise ops) that leave the second
 * core idle in a one-thread step. Everything stateful stays in the training thread: the optimisers
 * (the worker returns gradients; the sums are the ones a sequential step takes, a's + b's), the
 * image pools and the RNG (the same draws, in the same order), the weight averages and the
 * checkpoints, so a checkpoint never depends on whether a worker ran.
 *
 * Data moves through one SharedArrayBuffer: the main thread writes a request's inputs, posts the
 * command, and blocks in Atomics.wait until the worker stores the request's sequence number;
 * a failure in the worker comes back as its message, thrown in the training thread.
 * DiffAugment draws from the RNG inside the halves, so runs with it stay on one thread.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../io/ts-worker';
import { nativeThreads } from '../../backends/native/ort';
import type { CycleGanTrainer, DiscriminatorHalf, GeneratorHalf, TrainerOptions } from './trainer';

/** Float offsets (and int32 counts) of one step's data in the shared buffer. */
export interface DomainLayout {
  gShapes: number[][];
  daShapes: number[][];
  image: number;
  batch: number;
  f32: Record<'weights' | 'realA' | 'realB' | 'pooledA' | 'epsA' | 'gradsG' | 'fakeA' | 'gScalars' | 'gradsDA' | 'dScalars' | 'end', number>;
  i32: Record<'ctl' | 'gPresent' | 'daPresent' | 'end', number>;
  errBytes: number;
}

export const CTL = { request: 0, done: 1, status: 2, errLength: 3 } as const;
const ERR_BYTES = 4096;
/** The G half's scalars (adv, cycle, idt) and the D half's (value, dReal, dFake, accReal, accFake, gp). */
export const D_SCALARS = ['value', 'dReal', 'dFake', 'accReal', 'accFake', 'gp'] as const;

const count = (shapes: number[][]): number => shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);

export function domainLayout(gShapes: number[][], daShapes: number[][], batch: number, crop: number): DomainLayout {
  const image = batch * crop * crop * 3;
  const sizes: [keyof DomainLayout['f32'], number][] = [
    ['weights', count(gShapes) + count(daShapes)],
    ['realA', image],
    ['realB', image],
    ['pooledA', image],
    ['epsA', batch],
    ['gradsG', count(gShapes)],
    ['fakeA', image],
    ['gScalars', 3],
    ['gradsDA', count(daShapes)],
    ['dScalars', D_SCALARS.length],
  ];
  const f32 = {} as DomainLayout['f32'];
  let at = 0;
  for (const [k, n] of sizes) {
    f32[k] = at;
    at += n;
  }
  f32.end = at;
  const i32 = { ctl: 0, gPresent: 4, daPresent: 4 + gShapes.length, end: 4 + gShapes.length + daShapes.length };
  return { gShapes, daShapes, image, batch, f32, i32, errBytes: ERR_BYTES };
}

/** The typed views of the shared buffer: floats, then int32s, then the error text. */
export function domainViews(sab: SharedArrayBuffer, l: DomainLayout): { f32: Float32Array; i32: Int32Array; err: Uint8Array } {
  const f32 = new Float32Array(sab, 0, l.f32.end);
  const i32 = new Int32Array(sab, l.f32.end * 4, l.i32.end);
  const err = new Uint8Array(sab, (l.f32.end + l.i32.end) * 4, l.errBytes);
  return { f32, i32, err };
}

export const bufferBytes = (l: DomainLayout): number => (l.f32.end + l.i32.end) * 4 + l.errBytes;

/**
 * Whether a run on `backend` can use a domain worker, and the onnxruntime threads of each side:
 * the cores the backend may use (native: its thread count, GANVAS_NATIVE_THREADS or 2; wasm: the
 * machine's cores) split between the two threads. Otherwise why not.
 */
export function planDomainWorker(
  opts: Pick<TrainerOptions, 'diffAug'>,
  backend: string,
  cores: number = backend === 'native' ? nativeThreads() : (os.availableParallelism?.() ?? os.cpus().length),
): { threads: number } | { why: string } {
  if (backend !== 'native' && backend !== 'wasm') return { why: `the ${backend} backend runs its own threads (the worker is for the CPU backends native and wasm)` };
  if (opts.diffAug && opts.diffAug !== 'none') return { why: 'DiffAugment draws from the RNG inside each half, so the halves must run in order' };
  if (cores < 2) return { why: backend === 'native' ? `the native backend may use one core (GANVAS_NATIVE_THREADS=${cores})` : 'one CPU core' };
  return { threads: Math.floor(cores / 2) };
}

/** Milliseconds the training thread waits for one worker request before it gives up. */
const REQUEST_TIMEOUT_MS = 30 * 60 * 1000;

export class DomainWorker {
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;
  private readonly err: Uint8Array;
  private seq = 0;
  private pending: string | null = null;
  /** How long the last answered request took (ms): a request that takes many times longer means the worker is gone. */
  private lastMs = 0;
  private sentAt = 0;

  private constructor(
    private readonly worker: Worker,
    readonly layout: DomainLayout,
    sab: SharedArrayBuffer,
    private readonly gVars: tf.Variable[],
    private readonly daVars: tf.Variable[],
  ) {
    ({ f32: this.f32, i32: this.i32, err: this.err } = domainViews(sab, layout));
  }

  /**
   * Starts a worker for `trainer` on the same tfjs backend with `threads` onnxruntime threads and
   * waits until it has built the same networks (their variable shapes are compared).
   */
  static async start(trainer: CycleGanTrainer, threads: number): Promise<DomainWorker> {
    const gVars = trainer.generatorVars();
    const daVars = trainer.discriminatorVars('a');
    const layout = domainLayout(
      gVars.map((v) => v.shape),
      daVars.map((v) => v.shape),
      trainer.opts.batchSize,
      trainer.opts.crop,
    );
    const sab = new SharedArrayBuffer(bufferBytes(layout));
    const worker = startTsWorker(new URL('./domain-worker-thread.ts', import.meta.url), { sab, layout, opts: JSON.parse(JSON.stringify(trainer.opts)) as TrainerOptions, backend: tf.getBackend() }, {
      env: { ...process.env, GANVAS_NATIVE_THREADS: String(threads) },
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string): void => {
        void worker.terminate();
        reject(new Error(`the domain worker did not start: ${why}`));
      };
      worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : fail(m.error ?? 'no reason given')));
      worker.once('error', (e) => fail(e.message));
      worker.once('exit', (code) => fail(`it exited with code ${code}`));
    });
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    // a worker error between requests surfaces at the next wait (its status word); keep the process alive otherwise
    worker.on('error', () => {});
    worker.unref();
    return new DomainWorker(worker, layout, sab, gVars, daVars);
  }

  private copyWeights(vars: tf.Variable[], at: number): number {
    for (const v of vars) {
      const d = v.dataSync() as Float32Array;
      this.f32.set(d, at);
      at += d.length;
    }
    return at;
  }

  private post(cmd: string): void {
    if (this.pending) throw new Error(`domain worker: a ${cmd} request while the ${this.pending} request is unanswered`);
    this.seq++;
    this.pending = cmd;
    this.sentAt = Date.now();
    this.worker.postMessage({ cmd, seq: this.seq });
  }

  /**
   * Blocks until the worker has answered the pending request; throws the worker's error. The
   * training thread cannot see the worker's exit while it blocks, so a request that takes far
   * longer than the last one (or REQUEST_TIMEOUT_MS for the first) is taken as a lost worker.
   */
  private wait(cmd: string): void {
    if (this.pending !== cmd) throw new Error(`domain worker: waiting for a ${cmd} answer, but the pending request is ${this.pending ?? 'none'}`);
    const limit = this.lastMs ? Math.max(120_000, 50 * this.lastMs) : REQUEST_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.i32, this.layout.i32.ctl + CTL.done);
      if (done === this.seq) break;
      if (Date.now() - this.sentAt > limit) {
        this.pending = null;
        throw new Error(`domain worker: no answer to the ${cmd} request in ${Math.round(limit / 1000)} s (the worker thread is gone or stuck); run with --no-domain-worker`);
      }
      Atomics.wait(this.i32, this.layout.i32.ctl + CTL.done, done, 1000);
    }
    this.lastMs = Math.max(this.lastMs, Date.now() - this.sentAt);
    this.pending = null;
    if (Atomics.load(this.i32, this.layout.i32.ctl + CTL.status) !== 0) {
      const n = Atomics.load(this.i32, this.layout.i32.ctl + CTL.errLength);
      throw new Error(`domain worker (${cmd} half): ${new TextDecoder().decode(this.err.slice(0, n))}`);
    }
  }

  /** Sends this step's weights of G, F and D_A and the real b batch, and starts half b of L_G. */
  startGeneratorHalf(bData: Float32Array): void {
    const at = this.copyWeights(this.gVars, this.layout.f32.weights);
    this.copyWeights(this.daVars, at);
    this.f32.set(bData, this.layout.f32.realB);
    this.post('generator');
  }

  /** Half b of L_G, as tensors of this thread (the gradient keyed by this thread's variable names). */
  generatorHalf(): GeneratorHalf {
    this.wait('generator');
    const l = this.layout;
    const grads: tf.NamedTensorMap = {};
    let at = l.f32.gradsG;
    this.gVars.forEach((v, i) => {
      const n = v.size;
      if (this.i32[l.i32.gPresent + i]) grads[v.name] = tf.tensor(this.f32.subarray(at, at + n), v.shape, 'float32');
      at += n;
    });
    const s = this.f32.subarray(l.f32.gScalars, l.f32.gScalars + 3);
    const crop = Math.round(Math.sqrt(l.image / l.batch / 3));
    return {
      fake: tf.tensor4d(this.f32.subarray(l.f32.fakeA, l.f32.fakeA + l.image), [l.batch, crop, crop, 3]),
      adv: tf.scalar(s[0]),
      cycle: tf.scalar(s[1]),
      idt: tf.scalar(s[2]),
      grads,
    };
  }

  /** Sends the real a batch, the pooled F(b) and WGAN-GP's weights, and starts D_A's half of L_D (at this step's D_A). */
  startDiscriminatorHalf(aData: Float32Array, pooledA: Float32Array, epsA: Float32Array): void {
    const l = this.layout;
    this.f32.set(aData, l.f32.realA);
    this.f32.set(pooledA, l.f32.pooledA);
    this.f32.set(epsA, l.f32.epsA);
    this.post('discriminator');
  }

  /** D_A's half of L_D, as tensors of this thread. */
  discriminatorHalf(): DiscriminatorHalf {
    this.wait('discriminator');
    const l = this.layout;
    const grads: tf.NamedTensorMap = {};
    let at = l.f32.gradsDA;
    this.daVars.forEach((v, i) => {
      const n = v.size;
      if (this.i32[l.i32.daPresent + i]) grads[v.name] = tf.tensor(this.f32.subarray(at, at + n), v.shape, 'float32');
      at += n;
    });
    const s = (k: (typeof D_SCALARS)[number]): tf.Scalar => tf.scalar(this.f32[l.f32.dScalars + D_SCALARS.indexOf(k)]);
    return { value: s('value'), grads, parts: { dReal: s('dReal'), dFake: s('dFake'), accReal: s('accReal'), accFake: s('accFake'), gp: s('gp') } };
  }

  /** Sends a request and waits for its answer (tests: an unknown request must come back as the worker's error). */
  request(cmd: string): void {
    this.post(cmd);
    this.wait(cmd);
  }

  terminate(): void {
    void this.worker.terminate();
  }
}
