/**
 * Fixes for two wrong gradient kernels of @tensorflow/tfjs-backend-cpu 4.22 (found by the
 * kernel-coverage test, which checks wasm training gradients against cpu):
 *
 *  - ResizeNearestNeighborGrad reads dy at the *images* batch offset, so every batch item after
 *    the first gets garbage. Fixed by running the stock kernel one batch item at a time.
 *  - ResizeBilinearGrad returns its (correctly laid out) result with shape [N, W, H, C], which
 *    breaks every non-square input. Fixed by relabelling the shape as images.shape.
 *
 * The wasm backend's versions of both are correct. The cpu backend is the slow last resort and
 * the tests' reference, so it must be right too.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

type Info = tf.TensorInfo;
interface CpuBackendLike {
  disposeData(dataId: tf.DataId): void;
}
type Args = { inputs: Record<string, Info>; backend: CpuBackendLike; attrs: Record<string, unknown> };

const fixed = new WeakSet<object>();

function replaceCpuKernel(kernelName: string, make: (stock: tf.KernelFunc) => (args: Args) => Info): void {
  const existing = tf.getKernel(kernelName, 'cpu');
  if (!existing || fixed.has(existing.kernelFunc)) return;
  const stock = existing.kernelFunc;
  const kernelFunc = make(stock) as unknown as tf.KernelFunc;
  fixed.add(kernelFunc);
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ ...existing, kernelFunc });
}

function cpuKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`cpu kernel ${name} is not registered`);
  return k.kernelFunc;
}

/** Registers the fixed cpu kernels (idempotent). */
export function registerCpuKernelFixes(): void {
  replaceCpuKernel(tf.ResizeNearestNeighborGrad, (stock) => ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs;
    const n = images.shape[0];
    if (n === 1) return stock({ inputs, backend, attrs } as unknown as Parameters<tf.KernelFunc>[0]) as Info;
    const slice = cpuKernel(tf.Slice);
    const parts: Info[] = [];
    for (let b = 0; b < n; b++) {
      const run = (x: Info): Info =>
        slice({ inputs: { x }, backend, attrs: { begin: [b, 0, 0, 0], size: [1, ...x.shape.slice(1)] } } as unknown as Parameters<tf.KernelFunc>[0]) as Info;
      const img = run(images);
      const d = run(dy);
      parts.push(stock({ inputs: { images: img, dy: d }, backend, attrs } as unknown as Parameters<tf.KernelFunc>[0]) as Info);
      backend.disposeData(img.dataId);
      backend.disposeData(d.dataId);
    }
    const out = cpuKernel(tf.Concat)({ inputs: parts, backend, attrs: { axis: 0 } } as unknown as Parameters<tf.KernelFunc>[0]) as Info;
    for (const p of parts) backend.disposeData(p.dataId);
    return out;
  });

  replaceCpuKernel(tf.ResizeBilinearGrad, (stock) => (args) => {
    const out = stock(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
    return { ...out, shape: args.inputs.images.shape.slice() };
  });
}
