/**
 * Node side of the browser export-parity test: a small model that uses the ops the exporter
 * emits most (reflect Pad, Conv with SAME_UPPER stride 2, InstanceNormalization, ConvTranspose,
 * depthwise Conv, Resize, Concat, Add/Mul/Max/Min chains, Slice, pooling, DepthToSpace,
 * BatchNormalization, activations), exported
 * with exportOnnx; onnxruntime-node reference outputs; a tiny static server for ort-web.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { InstanceNorm, PixelShuffle, ReflectionPad2D } from '../../../training/models/layers';
import { exportOnnx, type ExportReport } from '../../../training/export';
import { seededUniform } from '../../../training/export/parity';

type ST = tfl.SymbolicTensor;
const apply = (layer: tfl.layers.Layer, x: ST | ST[]) => layer.apply(x) as ST;

/** A generator-like, SR-like model: input [-1, 1] RGB, output x2, tanh. */
export function buildKitchenSinkModel(): tfl.LayersModel {
  const L = tfl.layers;
  const x = tfl.input({ shape: [null, null, 3], name: 'img' });
  let h = apply(new ReflectionPad2D({ padding: 2 }), x);
  h = apply(L.conv2d({ filters: 8, kernelSize: 5, activation: 'relu' }), h);
  const skip = h;
  h = apply(L.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same' }), h);
  h = apply(L.leakyReLU({ alpha: 0.2 }), apply(new InstanceNorm({ affine: true }), h));
  h = apply(L.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1 }), h);
  h = apply(L.batchNormalization({}), h);
  const up1 = apply(L.conv2dTranspose({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }), h);
  const up2 = apply(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), apply(L.conv2d({ filters: 8, kernelSize: 1 }), h));
  h = apply(L.add(), [up1, up2, skip]);
  const gate = apply(L.conv2d({ filters: 8, kernelSize: 1, activation: 'sigmoid' }), h);
  h = apply(L.multiply(), [h, gate, apply(L.activation({ activation: 'elu' }), up2)]);
  h = apply(L.maximum(), [h, apply(L.minimum(), [up1, up2, skip])]);
  h = apply(L.average(), [h, apply(L.cropping2D({ cropping: [[1, 1], [2, 0]] }), apply(L.zeroPadding2d({ padding: [[1, 1], [0, 2]] }), skip))]);
  h = apply(L.concatenate(), [h, apply(L.upSampling2d({ size: [2, 2] }), apply(L.maxPooling2d({ poolSize: 2 }), skip)), apply(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), skip)]);
  h = apply(L.conv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'tanh' }), h);
  h = apply(new PixelShuffle({ scale: 2 }), h);
  const model = tfl.model({ inputs: x, outputs: h, name: 'kitchen_sink' });
  let seed = 100;
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (!ws.length) continue;
    layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(seededUniform(w.size, /variance/.test(ws[i].originalName) ? [0.5, 1.5] : [-0.4, 0.4], seed++), w.shape)));
  }
  return model;
}

export async function exportKitchenSink(dir: string): Promise<{ fp32: ExportReport; fp16: ExportReport }> {
  await tf.setBackend('cpu');
  const model = buildKitchenSinkModel();
  const common = { inputRange: [-1, 1] as [number, number], multipleOf: 4, check: { sizes: [[64, 64], [32, 48]] as [number, number][] } };
  const fp32 = await exportOnnx(model, { ...common, outFile: path.join(dir, 'model.onnx') });
  const fp16 = await exportOnnx(model, { ...common, outFile: path.join(dir, 'model.fp16.onnx'), fp16: true });
  return { fp32, fp16 };
}

export async function ortNodeRun(file: string, input: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, dims) });
    const y = out[session.outputNames[0]];
    return { data: y.data as Float32Array, dims: y.dims.map(Number) };
  } finally {
    await session.release();
  }
}

const ORT_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../node_modules/onnxruntime-web/dist');
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.html': 'text/html' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>export parity</title><script src="/ort/ort.webgpu.min.js"></script><body>ort-web</body>';

/**
 * Serves `/` (a page that loads ort-web's WebGPU build), `/ort/*` (onnxruntime-web/dist) and
 * `/models/<name>` (files from `modelDir`) on 127.0.0.1 with COOP/COEP (cross-origin isolation).
 */
export async function startStaticServer(modelDir: string): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store' };
    let file: string | null = null;
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, headers).end();
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(PAGE);
      return;
    }
    const name = path.basename(url.pathname);
    if (url.pathname === `/ort/${name}`) file = path.join(ORT_DIST, name);
    else if (url.pathname === `/models/${name}`) file = path.join(modelDir, name);
    try {
      if (!file) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
