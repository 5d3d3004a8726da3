/**
 * The worker thread of a half-step worker (half-worker.ts): starts the same tfjs backend, imports
 * the task's handler module, whose `init(views, data)` builds the networks and returns one
 * function per request, then answers requests: each reads its inputs from the shared buffer,
 * writes its outputs there, and stores its sequence number (and any error's text) in the control
 * words.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../backends';
import { CTL, halfViews, type HalfLayout, type HalfViews } from './half-worker';

export type HalfHandlers = Record<string, () => void>;
export type HalfInit = (views: HalfViews, data: unknown) => Promise<HalfHandlers>;

interface Data {
  handlers: string;
  sab: SharedArrayBuffer;
  layout: HalfLayout;
  data: unknown;
  backend: string;
}

const { handlers, sab, layout, data, backend } = (workerData as { data: Data }).data;
const views = halfViews(sab, layout);
const port = parentPort!;
let inFlight = 0;

function answer(seq: number, error: unknown): void {
  const { ctl, err } = views;
  if (error) {
    const bytes = new TextEncoder().encode(error instanceof Error ? (error.stack ?? error.message) : String(error)).slice(0, layout.errBytes);
    err.set(bytes);
    Atomics.store(ctl, CTL.errLength, bytes.length);
  }
  Atomics.store(ctl, CTL.status, error ? 1 : 0);
  Atomics.store(ctl, CTL.done, seq);
  Atomics.notify(ctl, CTL.done);
}

try {
  await initBackend({ backend, log: () => {} });
  const { init } = (await import(handlers)) as { init: HalfInit };
  const h = await init(views, data);
  // an error outside a request's try (an async failure in a library) still answers the request in flight
  process.on('uncaughtException', (e) => inFlight && answer(inFlight, e));
  port.on('message', ({ cmd, seq }: { cmd: string; seq: number }) => {
    inFlight = seq;
    let error: unknown = null;
    try {
      const f = Object.hasOwn(h, cmd) ? h[cmd] : null;
      if (!f) throw new Error(`unknown request '${cmd}'`);
      f();
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
