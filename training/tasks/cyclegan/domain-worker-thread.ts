/**
 * The worker thread of a domain-parallel CycleGAN step (domain-worker.ts): it builds the same
 * networks on the same tfjs backend, then answers two requests, each on the weights the training
 * thread copied in at the start of the step:
 *   'generator':     half b of L_G (F(b) judged by D_A, the cycle G(F(b)), G's identity on b) and its
 *                    gradient over G's and F's weights, plus F(b) for the image pool;
 *   'discriminator': D_A's half of L_D on real a and the pooled F(b), and its gradient over D_A.
 * It keeps no state between steps beyond those weights.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backends';
import { CTL, D_SCALARS, domainViews, type DomainLayout } from './domain-worker';
import { CycleGanTrainer, type TrainerOptions } from './trainer';

interface Data {
  sab: SharedArrayBuffer;
  layout: DomainLayout;
  opts: TrainerOptions;
  backend: string;
}

const { sab, layout: l, opts, backend } = (workerData as { data: Data }).data;
const { f32, i32, err } = domainViews(sab, l);
const port = parentPort!;
let inFlight = 0;

const sameShapes = (a: number[][], b: number[][]): boolean => a.length === b.length && a.every((s, i) => s.join() === b[i].join());

function writeGrads(vars: tf.Variable[], grads: tf.NamedTensorMap, at: number, present: number): void {
  vars.forEach((v, i) => {
    const g = grads[v.name];
    i32[present + i] = g ? 1 : 0;
    if (g) f32.set(g.dataSync() as Float32Array, at);
    at += v.size;
  });
}

function generatorRequest(t: CycleGanTrainer): void {
  let at = l.f32.weights;
  for (const v of [...t.generatorVars(), ...t.discriminatorVars('a')]) {
    const n = v.size;
    tf.tidy(() => v.assign(tf.tensor(f32.subarray(at, at + n), v.shape, 'float32')));
    at += n;
  }
  const crop = opts.crop;
  const realB = tf.tensor4d(f32.subarray(l.f32.realB, l.f32.realB + l.image), [l.batch, crop, crop, 3]);
  const h = t.generatorHalfOf('b', realB);
  try {
    writeGrads(t.generatorVars(), h.grads, l.f32.gradsG, l.i32.gPresent);
    f32.set(h.fake.dataSync() as Float32Array, l.f32.fakeA);
    f32[l.f32.gScalars] = h.adv.dataSync()[0];
    f32[l.f32.gScalars + 1] = h.cycle.dataSync()[0];
    f32[l.f32.gScalars + 2] = h.idt.dataSync()[0];
  } finally {
    tf.dispose([realB, h.fake, h.adv, h.cycle, h.idt, Object.values(h.grads)]);
  }
}

function discriminatorRequest(t: CycleGanTrainer): void {
  const shape: [number, number, number, number] = [l.batch, opts.crop, opts.crop, 3];
  const realA = tf.tensor4d(f32.subarray(l.f32.realA, l.f32.realA + l.image), shape);
  const pooled = tf.tensor4d(f32.subarray(l.f32.pooledA, l.f32.pooledA + l.image), shape);
  const eps = tf.tensor4d(f32.subarray(l.f32.epsA, l.f32.epsA + l.batch), [l.batch, 1, 1, 1]);
  const d = t.discriminatorHalf('a', realA, pooled, eps);
  try {
    writeGrads(t.discriminatorVars('a'), d.grads, l.f32.gradsDA, l.i32.daPresent);
    const scalars = { value: d.value, ...d.parts };
    D_SCALARS.forEach((k, i) => (f32[l.f32.dScalars + i] = scalars[k].dataSync()[0]));
  } finally {
    tf.dispose([realA, pooled, eps, d.value, Object.values(d.parts), Object.values(d.grads)]);
  }
}

function answer(seq: number, error: unknown): void {
  const ctl = l.i32.ctl;
  if (error) {
    const bytes = new TextEncoder().encode(error instanceof Error ? (error.stack ?? error.message) : String(error)).slice(0, l.errBytes);
    err.set(bytes);
    Atomics.store(i32, ctl + CTL.errLength, bytes.length);
  }
  Atomics.store(i32, ctl + CTL.status, error ? 1 : 0);
  Atomics.store(i32, ctl + CTL.done, seq);
  Atomics.notify(i32, ctl + CTL.done);
}

try {
  await initBackend({ backend, log: () => {} });
  const t = await CycleGanTrainer.create({ ...opts, ema: undefined });
  const g = t.generatorVars().map((v) => v.shape);
  const da = t.discriminatorVars('a').map((v) => v.shape);
  if (!sameShapes(g, l.gShapes) || !sameShapes(da, l.daShapes)) throw new Error('the networks built from the run options differ from the training thread\'s');
  // an error outside a request's try (an async failure in a library) still answers the request in flight
  process.on('uncaughtException', (e) => inFlight && answer(inFlight, e));
  port.on('message', ({ cmd, seq }: { cmd: string; seq: number }) => {
    inFlight = seq;
    let error: unknown = null;
    try {
      if (cmd === 'generator') generatorRequest(t);
      else if (cmd === 'discriminator') discriminatorRequest(t);
      else throw new Error(`unknown request '${cmd}'`);
    } catch (e) {
      error = e;
    }
    inFlight = 0;
    answer(seq, error);
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: e instanceof Error ? e.message : String(e) });
}
