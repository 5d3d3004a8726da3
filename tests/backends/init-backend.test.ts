/** initBackend: auto choice, explicit choice, and errors that list every candidate. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, initBackend, parseTfDeviceLog } from '../../training/backends';
import { nativeStats } from '../../training/backends/native/kernels';

describe('initBackend', () => {
  it('auto picks the best usable backend, says why in one line, and lists every candidate', async () => {
    const lines: string[] = [];
    const report = await initBackend({ log: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^backend: ${report.name} \\(`));
    expect(report.candidates.map((c) => c.name)).toEqual([...BACKEND_NAMES]);
    for (const c of report.candidates) expect(c.why.length).toBeGreaterThan(5);
    // The first usable candidate that is not a software GPU wins; here (no tfjs-node, no GPU) that is wasm.
    const firstUsable = report.candidates.find((c) => c.usable && !(c.name === 'webgpu' && /software/.test(c.why)));
    expect(report.name).toBe(firstUsable!.name);
    expect(tf.getBackend()).toBe(report.name === 'tensorflow-gpu' ? 'tensorflow' : report.name);
    const wasm = report.candidates.find((c) => c.name === 'wasm')!;
    expect(wasm.usable).toBe(true);
    expect(wasm.why).toMatch(/SIMD/);
  });

  it('an explicit backend is used as asked', async () => {
    const report = await initBackend({ backend: 'cpu', log: () => {} });
    expect(report.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(report.reason).toMatch(/--backend/);
    const back = await initBackend({ backend: 'wasm', log: () => {} });
    expect(back.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('native is picked before plain wasm when onnxruntime-node loads; --backend wasm still forces plain wasm', async () => {
    const auto = await initBackend({ log: () => {} });
    const native = auto.candidates.find((c) => c.name === 'native')!;
    expect(native.usable, native.why).toBe(true);
    expect(native.why).toMatch(/onnxruntime-node 1\.30\.0/);
    if (!auto.candidates.slice(0, BACKEND_NAMES.indexOf('native')).some((c) => c.usable && !/software/.test(c.why))) {
      expect(auto.name).toBe('native');
      expect(auto.reason).toMatch(/^best usable: wasm with convolutions/);
    }
    const conv = (): void => tf.dispose(tf.tidy(() => tf.conv2d(tf.ones([1, 6, 6, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 2]) as tf.Tensor4D, 1, 'same')));
    await initBackend({ backend: 'native', log: () => {} });
    let runs = nativeStats().runs;
    conv();
    expect(nativeStats().runs).toBe(runs + 1);
    const plain = await initBackend({ backend: 'wasm', log: () => {} });
    expect(plain.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    runs = nativeStats().runs;
    conv();
    expect(nativeStats().runs, 'plain wasm ran a kernel on onnxruntime').toBe(runs);
  });

  it('an unknown backend is an error listing every candidate and why', async () => {
    const err = await initBackend({ backend: 'tpu', log: () => {} }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/unknown backend 'tpu'/);
    for (const name of BACKEND_NAMES) expect(msg).toContain(name);
  });

  it('an unusable backend is an error, never a silent fallback', async () => {
    const report = await initBackend({ backend: 'wasm', log: () => {} });
    const unusable = report.candidates.find((c) => !c.usable);
    if (!unusable) return; // every backend works on this machine: nothing to refuse
    const err = await initBackend({ backend: unusable.name, log: () => {} }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`backend '${unusable.name}' is not usable here: ${unusable.why}`);
    for (const name of BACKEND_NAMES) expect((err as Error).message).toContain(name);
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('parseTfDeviceLog (tensorflow-gpu detection)', () => {
  it('finds the GPU TensorFlow created, and the CUDA problem when it created none', () => {
    const ok = parseTfDeviceLog(
      '2024-01-01 I tensorflow/core/common_runtime/gpu/gpu_device.cc:1532] Created device /job:localhost/replica:0/task:0/device:GPU:0 with 14786 MB memory:  -> device: 0, name: Tesla T4, pci bus id: 0000:00:04.0, compute capability: 7.5\nsum 262144',
    );
    expect(ok).toEqual({ gpu: true, name: 'Tesla T4' });
    const bad = parseTfDeviceLog(
      "W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file\nsum 262144",
    );
    expect(bad.gpu).toBe(false);
    expect(bad.problem).toMatch(/libcudart/);
    expect(parseTfDeviceLog('sum 262144')).toEqual({ gpu: false, problem: undefined });
  });
});
