/**
 * What every hand-written kernel on the wasm (and native) backend shares: the kernel-function
 * argument type and a float32 view of a tensor's bytes on the wasm heap.
 *
 * A view is only valid until the heap grows: take views after every output of a kernel has
 * been allocated (backend.makeOutput may grow, and so detach, the heap).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type Info = tf.TensorInfo;
export type WasmKernelArgs = { inputs: Record<string, Info>; backend: BackendWasm; attrs: Record<string, unknown> };

export function heapF32(backend: BackendWasm, info: Info): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
