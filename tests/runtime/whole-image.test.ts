/**
 * Full-size photos in one piece: tiled translation with whole-image instance-norm statistics
 * (lib/onnx/instance-norm.ts + lib/runtime/whole-image.ts) against the same model run on the whole
 * image in one piece, with onnxruntime-node: a shipped instance-norm model and a third-party-style one.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { inspectInstanceNorm, normNames, rewriteInstanceNorm } from '../../lib/onnx/instance-norm';
import { createNodeTiler, type NodeTiler } from '../../lib/runtime/node';
import { runTiledImage, statsFromCopy, type RunVariant, type TiledSpec } from '../../lib/runtime/whole-image';
import { nchwToRGBA, rgbaToNCHW } from '../../lib/imaging/tensor';
import { cropRGBA } from '../../lib/imaging/tiles';
import { seamReport } from '../../lib/imaging/tile-metrics';
import { landscape } from './fixtures/landscape';
import { thirdPartyGenerator } from './fixtures/third-party-generator';
import { halfResGenerator } from '../../training/models/halfres-generator';
import { convertToOnnx } from '../../training/export/convert';
import { randomizeWeights, useCpu } from '../export/helpers';

const SUMMER2WINTER = readFileSync('public/models/cyclegan-summer2winter.onnx');
/** The half-resolution webcam generator (its norms at 1/2 and 1/4 resolution, output = input + residual), random weights. */
async function halfResOnnx(): Promise<Uint8Array> {
  await useCpu();
  const m = halfResGenerator({ ngf: 8, nBlocks: 2 });
  randomizeWeights(m, 21, 0.3);
  const bytes = convertToOnnx(m).bytes;
  m.dispose();
  return bytes;
}

const SPEC: TiledSpec = { inRange: [-1, 1], outRange: [-1, 1], scale: 1, multipleOf: 4, tile: { size: 512, overlap: 32 }, feather: 'linear' };

async function wholeImage(t: NodeTiler, rgba: Uint8ClampedArray, W: number, H: number): Promise<Uint8ClampedArray> {
  const y = await t.run('plain', { [t.info.inputName]: { data: rgbaToNCHW(rgba, W, H, SPEC.inRange), dims: [1, 3, H, W] } });
  return nchwToRGBA(y[t.info.outputName].data, W, H, SPEC.outRange);
}

describe('instance-norm graph rewrite', () => {
  it('finds every InstanceNormalization of a shipped and a third-party model, none in an SR model', () => {
    // Expected counts read straight from the protobuf, so re-shipping the model does not break the test.
    const graph = onnxProto.onnx.ModelProto.decode(SUMMER2WINTER).graph!;
    const inNodes = graph.node!.filter((n) => n.opType === 'InstanceNormalization');
    const firstScale = graph.initializer!.find((t) => t.name === inNodes[0].input![1])!;
    expect(inNodes.length).toBeGreaterThan(0);
    const ours = inspectInstanceNorm(SUMMER2WINTER);
    expect(ours.layers.length).toBe(inNodes.length);
    expect(ours).toMatchObject({ inputName: 'input', outputName: 'output', opset: 17 });
    expect(ours.layers[0].channels).toBe(Number(firstScale.dims![0]));
    const theirs = inspectInstanceNorm(thirdPartyGenerator());
    expect(theirs.layers.length).toBe(7);
    expect(theirs.opset).toBe(18);
    const sr = readFileSync('public/models/sr-realtime-x2.onnx');
    expect(inspectInstanceNorm(sr).layers).toEqual([]);
    expect(() => rewriteInstanceNorm(sr, 'fixed')).toThrow(/no InstanceNormalization/);
  });

  it('rejects bytes that are not ONNX with a clear message', () => {
    expect(() => inspectInstanceNorm(new Uint8Array([1, 2, 3, 4, 5, 250, 251]))).toThrow(/not an ONNX model/);
  });

  const models: [string, () => Uint8Array | Promise<Uint8Array>][] = [
    ['summer2winter (ours, opset 17)', () => SUMMER2WINTER],
    ['third-party ResnetGenerator (opset 18)', thirdPartyGenerator],
    ['half-resolution webcam generator', halfResOnnx],
  ];
  for (const [name, bytes] of models) {
    it(`${name}: fixed statistics taken from the stats variant reproduce the original model exactly`, async () => {
      const t = await createNodeTiler(await bytes());
      try {
        const W = 52, H = 40;
        const rgba = landscape(W, H, 3);
        const x = { data: rgbaToNCHW(rgba, W, H, SPEC.inRange), dims: [1, 3, H, W] };
        const plain = (await t.run('plain', { input: x })).output.data;
        const stats = await t.run('stats', { input: x });
        expect(stats.output.data).toEqual(plain); // the stats variant is the original graph plus outputs
        const feeds: Record<string, { data: Float32Array; dims: number[] }> = { input: x };
        t.info.layers.forEach((_, k) => {
          feeds[normNames.normMean(k)] = stats[normNames.statMean(k)];
          feeds[normNames.normVar(k)] = stats[normNames.statVar(k)];
        });
        const fixed = (await t.run('fixed', feeds)).output.data;
        let max = 0;
        for (let i = 0; i < plain.length; i++) max = Math.max(max, Math.abs(fixed[i] - plain[i]));
        expect(max).toBeLessThan(1e-4);
        // and other statistics change the output (the inputs are really used)
        feeds[normNames.normVar(0)] = { data: stats[normNames.statVar(0)].data.map((v) => v * 4), dims: stats[normNames.statVar(0)].dims };
        const other = (await t.run('fixed', feeds)).output.data;
        expect(other.some((v, i) => Math.abs(v - plain[i]) > 1e-2)).toBe(true);
      } finally {
        await t.release();
      }
    });
  }
});

describe('a 2048x1536 photo tiled (512 px) looks like the whole-image run', () => {
  const W = 2048, H = 1536;
  const photo = landscape(W, H, 1);

  /** The test: every tile's mean colour within 3/255 of the whole-image run, and no step in mean colour across any tile boundary larger than the steps inside the tiles (on the error image; sub-level steps are not visible in 8 bits). */
  const expectOneImage = (rep: ReturnType<typeof seamReport>) => {
    expect(rep.maxTileDiff).toBeLessThanOrEqual(3);
    expect(rep.maxBoundaryStep).toBeLessThanOrEqual(Math.max(rep.maxInsideStep, 0.5));
  };

  it('third-party ResnetGenerator: one image with whole-image statistics; per-tile statistics are the patchwork', async () => {
    const t = await createNodeTiler(thirdPartyGenerator());
    try {
      const ref = await wholeImage(t, photo, W, H);
      const r = await t.runImage(photo, W, H, SPEC);
      expect(r.normalization).toBe('whole-image');
      expect(r.statsFrom).toEqual({ width: W, height: H, refine: 0 });
      expect(r.plan.tiles.length).toBeGreaterThanOrEqual(12);
      expectOneImage(seamReport(r.out, ref, r.plan));
      // the old behaviour, each tile with its own statistics, is what this test exists to catch
      const old = await t.runImage(photo, W, H, SPEC, { mode: 'per-tile' });
      expect(old.normalization).toBe('per-tile');
      const oldRep = seamReport(old.out, ref, old.plan);
      expect(oldRep.maxTileDiff).toBeGreaterThan(3);
      // statistics from a copy at half size (what a 12 MP photo gets by default) still join into one image
      const half = await t.runImage(photo, W, H, SPEC, { statsSize: 1024 });
      expect(half.statsFrom).toEqual({ width: 1024, height: 768, refine: 0 });
      const halfRep = seamReport(half.out, ref, half.plan);
      expect(halfRep.maxBoundaryStep).toBeLessThanOrEqual(Math.max(halfRep.maxInsideStep, 0.5));
      expect(halfRep.maxBoundaryStep).toBeLessThan(oldRep.maxBoundaryStep / 4);
    } finally {
      await t.release();
    }
  }, 300_000);

  it('shipped cyclegan-summer2winter: every tile within 3/255 of the whole-image run, no boundary step above the steps inside tiles', async () => {
    const t = await createNodeTiler(SUMMER2WINTER);
    try {
      const ref = await wholeImage(t, photo, W, H);
      const r = await t.runImage(photo, W, H, SPEC);
      expect(r.normalization).toBe('whole-image');
      expectOneImage(seamReport(r.out, ref, r.plan));
    } finally {
      await t.release();
    }
  }, 300_000);
});

describe('statistics pass', () => {
  it('a model without instance norm is tiled as before (plain variant only)', async () => {
    const t = await createNodeTiler(readFileSync('public/models/sr-realtime-x2.onnx'));
    try {
      const W = 300, H = 200;
      const img = landscape(W, H, 2);
      const seen = new Set<string>();
      const spec: TiledSpec = { inRange: [0, 1], outRange: [0, 1], scale: 2, multipleOf: 1, tile: { size: 128, overlap: 16 }, feather: 'linear' };
      const read = (x: number, y: number, w: number, h: number) => cropRGBA(img, W, x, y, w, h);
      const r = await runTiledImage({ width: W, height: H, read, spec, info: t.info, run: (v, f) => (seen.add(v), t.run(v, f)) });
      expect(r.normalization).toBe('none');
      expect([...seen]).toEqual(['plain']);
      expect(r.plan.tiles.length).toBe(6);
    } finally {
      await t.release();
    }
  });

  it('retries a statistics run the backend cannot hold on a half-size copy; other errors pass through', async () => {
    const t = await createNodeTiler(thirdPartyGenerator());
    try {
      const W = 640, H = 480;
      const img = landscape(W, H, 6);
      const read = (x: number, y: number, w: number, h: number) => cropRGBA(img, W, x, y, w, h);
      class OutOfMemory extends Error {}
      // a backend that cannot run more than 320 px in one piece (like a GPU buffer limit)
      const run: RunVariant = (v, f) => (f.input.dims[3] > 320 ? Promise.reject(new OutOfMemory('buffer too large')) : t.run(v, f));
      const args = { width: W, height: H, read, spec: { ...SPEC, tile: { size: 256, overlap: 32 } }, info: t.info, run, norm: { statsSize: 640 } };
      const r = await runTiledImage({ ...args, isRetryable: (e) => e instanceof OutOfMemory });
      expect(r.statsFrom).toEqual({ width: 320, height: 240, refine: 0 });
      expect(r.normalization).toBe('whole-image');
      await expect(runTiledImage(args)).rejects.toThrow('buffer too large');
    } finally {
      await t.release();
    }
  });

  it('takes the statistics of a large photo from a copy that fits statsSize', async () => {
    const t = await createNodeTiler(thirdPartyGenerator());
    try {
      const W = 640, H = 480;
      const img = landscape(W, H, 4);
      const read = (x: number, y: number, w: number, h: number) => cropRGBA(img, W, x, y, w, h);
      const sizes: number[][] = [];
      const stats = await statsFromCopy({ width: W, height: H, read, spec: SPEC, info: t.info, run: (v, f) => (sizes.push(f.input.dims), t.run(v, f)) }, { width: 320, height: 240 });
      expect(sizes).toEqual([[1, 3, 240, 320]]);
      expect(stats.length).toBe(7);
      expect(stats[0].mean.length).toBe(8);
      expect(stats.every((s) => [...s.var].every((v) => v > 0 && Number.isFinite(v)))).toBe(true);
    } finally {
      await t.release();
    }
  });
});
