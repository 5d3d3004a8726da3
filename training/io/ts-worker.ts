/**
 * Worker threads that run TypeScript modules: `startTsWorker(new URL('./x.ts', import.meta.url), data)`
 * starts a worker_threads Worker whose first act is registering tsx's loader
 * (ts-worker-boot.mjs) and importing the module; `data` arrives as workerData.data.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startTsWorker(entry: URL, data: unknown, opts: Omit<WorkerOptions, 'workerData'> = {}): Worker {
  return new Worker(new URL('./ts-worker-boot.mjs', import.meta.url), { ...opts, workerData: { entry: entry.href, data } });
}
