/**
 * The native backend depends on an internal API of onnxruntime-node (`dist/binding`): this file
 * fails loudly when a different version is installed or that API changes shape or behaviour.
 * Also: a fresh install runs no dependency install script (.npmrc), session errors name the op,
 * and repeated training steps leak no tensors, wasm buffers or sessions.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backends';
import { checkBindingShape, DEFAULT_THREADS, loadOrt, nativeThreads, PINNED_ORT_VERSION, SessionCache } from '../../training/backends/native/ort';
import { nativeStats } from '../../training/backends/native/kernels';
import { GraphBuilder, attr, encodeModel } from '../../training/export/onnx/builder';
import { resnetGenerator } from '../../training/models/resnet-generator';

const ROOT = path.resolve(__dirname, '../..');
const require = createRequire(import.meta.url);

describe('GANVAS_NATIVE_THREADS', () => {
  it('sets the intra-op threads; unset or empty is the default; anything else is refused by name', () => {
    expect(nativeThreads({})).toBe(DEFAULT_THREADS);
    expect(nativeThreads({ GANVAS_NATIVE_THREADS: '' })).toBe(DEFAULT_THREADS);
    expect(nativeThreads({ GANVAS_NATIVE_THREADS: '1' })).toBe(1);
    expect(nativeThreads({ GANVAS_NATIVE_THREADS: '4' })).toBe(4);
    for (const bad of ['0', '-2', '1.5', 'two']) expect(() => nativeThreads({ GANVAS_NATIVE_THREADS: bad })).toThrow(/GANVAS_NATIVE_THREADS must be a whole number/);
  });
});

describe('onnxruntime-node internal binding (pinned)', () => {
  it(`package.json pins onnxruntime-node to exactly ${PINNED_ORT_VERSION}, and that version is installed`, () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['onnxruntime-node']).toBe(PINNED_ORT_VERSION);
    expect((require('onnxruntime-node/package.json') as { version: string }).version).toBe(PINNED_ORT_VERSION);
    const load = loadOrt();
    expect(load.ok, load.ok ? '' : load.why).toBe(true);
  });

  it('dist/binding still has initOrt() and InferenceSession { loadModel, run, dispose }', () => {
    expect(checkBindingShape(require('onnxruntime-node/dist/binding'))).toBeNull();
    // and the check does catch a changed API
    expect(checkBindingShape({ binding: { InferenceSession: class {} }, initOrt: () => {} })).toMatch(/no loadModel/);
    expect(checkBindingShape({ initOrt: () => {} })).toMatch(/no `binding`/);
  });

  it('run() is synchronous and writes into the preallocated output view (input and output at byte offsets)', () => {
    const load = loadOrt();
    if (!load.ok) throw new Error(load.why);
    const g = new GraphBuilder();
    g.reserve('x');
    g.reserve('y');
    g.node('LeakyRelu', ['x'], { alpha: attr.float(0.5) }, { outputs: ['y'] });
    const model = encodeModel(g.toModel({ inputs: [{ name: 'x', dims: [2, 3] }], outputs: [{ name: 'y', dims: [2, 3] }] }));
    const cache = new SessionCache(load.ort, 4);
    const entry = cache.get('leaky', () => ({ op: 'LeakyRelu', model, inputs: ['x'], outputs: ['y'] }));
    const heap = new Float32Array(64);
    heap.set([1, -2, 3, -4, 5, -6], 5);
    const out = heap.subarray(20, 26);
    cache.run(entry, [{ data: heap.subarray(5, 11), dims: [2, 3] }], [{ data: out, dims: [2, 3] }]);
    // no await in between: the values are there when run() returns
    expect(Array.from(out)).toEqual([1, -1, 3, -2, 5, -3]);
    expect(heap[19]).toBe(0);
    expect(heap[26]).toBe(0);
    cache.clear();
  });

  it('a session that cannot be created is an error naming the op and its key', () => {
    const load = loadOrt();
    if (!load.ok) throw new Error(load.why);
    const cache = new SessionCache(load.ort, 4);
    expect(() => cache.get('Conv2D [1,8,8,3]', () => ({ op: 'Conv2D', model: new Uint8Array([1, 2, 3]), inputs: [], outputs: [] }))).toThrow(
      /native Conv2D: onnxruntime could not create a session for Conv2D \[1,8,8,3\]/,
    );
  });

  it('the session cache is bounded: the least recently used session is released', () => {
    const load = loadOrt();
    if (!load.ok) throw new Error(load.why);
    const cache = new SessionCache(load.ort, 2);
    const make = (alpha: number) => () => {
      const g = new GraphBuilder();
      g.reserve('x');
      g.reserve('y');
      g.node('LeakyRelu', ['x'], { alpha: attr.float(alpha) }, { outputs: ['y'] });
      return { op: 'LeakyRelu', model: encodeModel(g.toModel({ inputs: [{ name: 'x', dims: [1] }], outputs: [{ name: 'y', dims: [1] }] })), inputs: ['x'], outputs: ['y'] };
    };
    cache.get('a', make(0.1));
    cache.get('b', make(0.2));
    cache.get('a', make(0.1)); // refresh a
    cache.get('c', make(0.3)); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.released).toBe(1);
    expect(cache.created).toBe(3);
    cache.get('a', make(0.1));
    expect(cache.created).toBe(3);
    cache.clear();
  });
});

describe('install: no dependency install script runs (no CUDA download), and npm does not warn about .npmrc', () => {
  it('npm reads ignore-scripts=true from .npmrc without an unknown-config warning', () => {
    const env = { ...process.env };
    delete env.npm_config_ignore_scripts; // read the project's .npmrc, not the parent npm's setting
    const res = spawnSync('npm', ['config', 'get', 'ignore-scripts'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('true');
    expect(res.stderr).not.toMatch(/Unknown (project|user|env) config/);
  });
});

describe('no leaks on the native backend', () => {
  it('20 generator training steps: tensors, wasm buffers and sessions stay flat', async () => {
    await initBackend({ backend: 'native', log: () => {} });
    const m = resnetGenerator({ ngf: 4, nBlocks: 1 });
    const x = tf.randomUniform([1, 24, 24, 3], -1, 1, 'float32', 1);
    const t = tf.randomUniform([1, 24, 24, 3], -1, 1, 'float32', 2);
    const opt = tf.train.adam(1e-3);
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = (): void => tf.dispose(opt.minimize(() => tf.mean(tf.abs(tf.sub(m.apply(x, { training: true }) as tf.Tensor, t))), true, vars)!);
    step();
    step();
    const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds(), sessions: nativeStats().sessions, created: nativeStats().created };
    const runs = nativeStats().runs;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(tf.engine().backend.numDataIds()).toBe(before.buffers);
    expect(nativeStats().sessions).toBe(before.sessions);
    expect(nativeStats().created, 'no session is created after the first step').toBe(before.created);
    expect(nativeStats().runs - runs).toBeGreaterThan(20 * 10);
    tf.dispose([x, t]);
    opt.dispose();
    m.dispose();
  });
});
