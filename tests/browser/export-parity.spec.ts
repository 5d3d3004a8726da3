/**
 * The exported ONNX runs the same in the browser: onnxruntime-web WASM EP and WebGPU EP
 * (SwiftShader here) against onnxruntime-node, within 1e-3, for fp32 and fp16-weights exports.
 * The WebGPU run uses executionProviders ['webgpu'] only and keeps its output on the GPU
 * (preferredOutputLocation 'gpu-buffer'), so a silent fallback to WASM cannot pass.
 * Served by its own static server (COOP/COEP), not by the Next site.
 */
import { test, expect } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportKitchenSink, ortNodeRun, startStaticServer } from './export-parity/fixture';
import { seededUniform } from '../../training/export/parity';

/**
 * Parses onnxruntime's verbose node-placement log: "All nodes placed on [EP]. Number of nodes: n"
 * or, when split, "Node(s) placed on [EP]. Number of nodes: n" followed by "  OpType (name)" lines.
 */
function nodePlacements(lines: string[]): { counts: Record<string, number>; nodes: Record<string, string[]> } {
  const counts: Record<string, number> = {};
  const nodes: Record<string, string[]> = {};
  let ep: string | null = null;
  for (const line of lines) {
    const head = /placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (head) {
      ep = head[1];
      counts[ep] = (counts[ep] ?? 0) + Number(head[2]);
      nodes[ep] ??= [];
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\w+ \(.*\))/.exec(line);
    if (node && ep) nodes[ep].push(node[1]);
    else if (!/VerifyEachNodeIsAssignedToAnEp/.test(line)) ep = null;
  }
  return { counts, nodes };
}

interface BrowserRun {
  wasm: number[];
  webgpu: number[];
  dims: number[];
  webgpuLocation: string;
  adapter: { vendor: string; architecture: string; device: string; description: string } | null;
}

test('exported ONNX: ort-web WASM and WebGPU EPs match onnxruntime-node within 1e-3 (fp32 and fp16 weights)', async ({ page }) => {
  test.setTimeout(300_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ganvas-export-parity-'));
  const server = await startStaticServer(dir);
  try {
    const { fp32, fp16 } = await exportKitchenSink(dir);
    console.log(`exported: fp32 ${fp32.bytes} B, ${fp32.nodes} nodes, node parity ${fp32.maxAbsDiff.toExponential(2)}; fp16 ${fp16.bytes} B, node parity ${fp16.maxAbsDiff.toExponential(2)}`);

    const H = 64;
    const W = 64;
    const dims = [1, 3, H, W];
    const input = seededUniform(3 * H * W, [-1, 1], 2024);
    const consoleLines: string[] = [];
    const allConsole: string[] = [];
    page.on('console', (m) => {
      consoleLines.push(`${m.type()}: ${m.text()}`);
      allConsole.push(`${m.type()}: ${m.text()}`);
    });
    await page.goto(server.url);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);

    for (const [file, report] of [
      ['model.onnx', fp32],
      ['model.fp16.onnx', fp16],
    ] as const) {
      const ref = await ortNodeRun(path.join(dir, file), input, dims);
      expect(ref.dims).toEqual([1, 3, 2 * H, 2 * W]);
      const run = await page.evaluate(
        async ({ url, input, dims }): Promise<BrowserRun> => {
          const ort = (self as unknown as { ort: typeof import('onnxruntime-web') }).ort;
          ort.env.wasm.wasmPaths = '/ort/';
          ort.env.wasm.numThreads = 1;
          const model = new Uint8Array(await (await fetch(url)).arrayBuffer());
          const feeds = () => ({ input: new ort.Tensor('float32', Float32Array.from(input), dims) });

          const wasmSession = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
          const w = (await wasmSession.run(feeds())).output;
          const wasm = Array.from(w.data as Float32Array);
          await wasmSession.release();

          const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
          const a = gpu ? await gpu.requestAdapter() : null;
          const adapter = a?.info ? { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description } : null;
          // Verbose session log: onnxruntime lists which EP each node was placed on.
          const gpuSession = await ort.InferenceSession.create(model, {
            executionProviders: ['webgpu'],
            preferredOutputLocation: 'gpu-buffer',
            logSeverityLevel: 0,
            logVerbosityLevel: 1,
          });
          const g = (await gpuSession.run(feeds())).output;
          const webgpuLocation = g.location;
          const webgpu = Array.from((await g.getData()) as Float32Array);
          g.dispose();
          await gpuSession.release();
          return { wasm, webgpu, dims: [...w.dims], webgpuLocation, adapter };
        },
        { url: `/models/${file}`, input: Array.from(input), dims },
      );

      const { counts, nodes } = nodePlacements(consoleLines.splice(0));
      console.log(`${file}: node placement ${JSON.stringify(counts)}; on the CPU EP: ${JSON.stringify(nodes.CPUExecutionProvider ?? [])}`);
      // Every op the exporter emitted has a WebGPU kernel: nothing falls back to the CPU EP.
      expect(counts.WebGpuExecutionProvider ?? 0).toBeGreaterThan(20);
      expect(counts.CPUExecutionProvider ?? 0, JSON.stringify(nodes.CPUExecutionProvider)).toBe(0);
      console.log(`${file}: WebGPU adapter ${JSON.stringify(run.adapter)}; output location ${run.webgpuLocation}`);
      expect(run.webgpuLocation).toBe('gpu-buffer'); // the WebGPU EP produced it: no silent WASM fallback
      expect(run.adapter).not.toBeNull();
      expect(run.dims).toEqual(ref.dims);
      let dWasm = 0;
      let dGpu = 0;
      for (let i = 0; i < ref.data.length; i++) {
        dWasm = Math.max(dWasm, Math.abs(run.wasm[i] - ref.data[i]));
        dGpu = Math.max(dGpu, Math.abs(run.webgpu[i] - ref.data[i]));
      }
      console.log(`${file} (${report.fp16 ? 'fp16' : 'fp32'} weights): max |ort-web - ort-node|: wasm ${dWasm.toExponential(2)}, webgpu ${dGpu.toExponential(2)}`);
      expect(run.wasm.length).toBe(ref.data.length);
      expect(run.webgpu.length).toBe(ref.data.length);
      expect(dWasm).toBeLessThanOrEqual(1e-3);
      expect(dGpu).toBeLessThanOrEqual(1e-3);
    }
    const errors = allConsole.filter((l) => l.startsWith('error') && !/\[[VIW]:onnxruntime/.test(l));
    expect(errors, errors.join('\n')).toEqual([]);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
