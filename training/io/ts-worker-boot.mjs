// Entry of a worker thread that runs a TypeScript module (training/io/ts-worker.ts): Node does
// not pass tsx's loader on to worker threads, so the worker registers it itself and then imports
// the module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
