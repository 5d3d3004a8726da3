/**
 * SR speed bench (`npm run bench:sr`): megapixels of output per second for every shipped SR
 * model (onnxruntime-node, and the same weights in tfjs wasm) and every UpscalerJS ESRGAN model
 * (tfjs wasm), on one 512x512 input, in one process, one after the other, so the ratios compare
 * like with like on this machine. Prints JSON and writes docs/bench-sr.md.
 *
 *   npx tsx bench/sr.ts [--size 512] [--tile 128] [--skip-thick] [--out docs/bench-sr.md]
 *
 * All runtimes are single-threaded (onnxruntime intra-op threads 1; tfjs wasm in Node has no
 * threads), the fair comparison on a shared 2-core machine. Models that need tiling (the
 * UpscalerJS RRDN at 512x512 would need many GB) run in tiles of --tile LR pixels; tile
 * overhead is included in their time.
 */
import path from 'node:path';
import os from 'node:os';
import { promises as fs } from 'node:fs';
import { Command } from 'commander';
import { parseManifest } from '../lib/contract/manifest';
import { initBackend } from '../training/backends';
import { decodeImageFile, type RgbImage } from '../training/data/images';
import { writeFileAtomic } from '../training/io/atomic';
import { imresize } from '../training/data/bicubic';
import { DEFAULT_SR_ROOT, repoRoot } from '../training/eval/sr/evaluate';
import { bicubicRunner, onnxRunner, tfjsRunner, type SrRunner } from '../training/eval/sr/runners';
import { upscalerRunner, UPSCALER_MODELS } from '../training/eval/sr/peers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { findLatestCheckpoint, loadLayersModel } from '../training/checkpoint';

interface Row {
  model: string;
  scale: number;
  runtime: string;
  seconds: number;
  outputMegapixels: number;
  mpixPerSecond: number;
  /** Speed relative to UpscalerJS esrgan-slim at the same scale (same machine, same run). */
  vsSlim?: number;
}

/** The tfjs weights behind a shipped model: its checkpoint in checkpoints/<id>/ (null when absent). */
async function loadShippedTfjs(id: string): Promise<LayersModel | null> {
  const ck = await findLatestCheckpoint(path.join(repoRoot, 'checkpoints', id));
  return ck ? loadLayersModel(path.join(ck, 'models', 'generator')) : null;
}

async function timeRunner(r: SrRunner, img: RgbImage, warm: RgbImage): Promise<number> {
  await r.upscale(warm);
  // Best of up to 3 runs (only 1 when a run takes over 5 s): the machine is shared, min is the least noisy.
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await r.upscale(img);
    const s = (performance.now() - t0) / 1000;
    best = Math.min(best, s);
    if (s > 5) break;
  }
  return best;
}

async function main(): Promise<void> {
  const a = new Command('bench-sr')
    .option('--size <n>', 'input side in pixels', '512')
    .option('--tile <n>', 'tile size (LR pixels) for the UpscalerJS models', '128')
    .option('--skip-thick', 'skip esrgan-thick (minutes per image)')
    .option('--out <file>', 'markdown report', path.join(repoRoot, 'docs/bench-sr.md'))
    .parse(process.argv)
    .opts();
  const size = Number(a.size);
  const tile = Number(a.tile);
  const backend = await initBackend({ backend: 'wasm', log: () => {} });
  const src = await decodeImageFile(path.join(DEFAULT_SR_ROOT, 'Set5/HR/baby.png'));
  const img = src.width === size && src.height === size ? src : imresize(src, size / src.width);
  const input: RgbImage = { width: size, height: size, data: img.data.subarray(0, size * size * 3) };
  const warm: RgbImage = imresize(input, 64 / size);

  const manifest = parseManifest(JSON.parse(await fs.readFile(path.join(repoRoot, 'public/models/manifest.json'), 'utf8')));
  const ours = manifest.models.filter((m) => m.task === 'super-resolution' && m.id.startsWith('sr-'));
  const rows: Row[] = [];
  const add = (model: string, scale: number, runtime: string, seconds: number) => {
    const outputMegapixels = (size * scale) ** 2 / 1e6;
    const row = { model, scale, runtime, seconds: +seconds.toFixed(3), outputMegapixels, mpixPerSecond: +(outputMegapixels / seconds).toPrecision(4) };
    rows.push(row);
    console.error(`${model} x${scale} ${runtime}: ${seconds.toFixed(2)} s, ${row.mpixPerSecond} MP/s`);
  };

  for (const scale of [2, 4]) {
    add('bicubic (MATLAB imresize, JS)', scale, 'node js', await timeRunner(bicubicRunner(scale), input, warm));
    for (const m of ours.filter((e) => e.scale === scale)) {
      const file = path.join(repoRoot, 'public/models', m.file);
      const r = await onnxRunner(file, { name: m.id, scale, inputName: m.input.name, outputName: m.output.name, inputRange: m.input.range, outputRange: m.output.range, threads: 1 });
      add(m.id, scale, 'onnxruntime-node (1 thread)', await timeRunner(r, input, warm));
      await r.dispose?.();
      const tfModel = await loadShippedTfjs(m.id);
      if (tfModel) {
        const t = tfjsRunner(tfModel, { name: m.id, scale, range: [0, 1] });
        add(m.id, scale, 'tfjs wasm', await timeRunner(t, input, warm));
        tfModel.dispose();
      }
    }
    for (const name of UPSCALER_MODELS) {
      if (name === 'thick' && a.skipThick) continue;
      const r = await upscalerRunner(name, scale, { tile, overlap: 8 });
      add(`upscalerjs esrgan-${name}`, scale, `tfjs wasm (tiles ${tile})`, await timeRunner(r, input, warm));
    }
  }
  for (const r of rows) {
    const slim = rows.find((s) => s.scale === r.scale && s.model === 'upscalerjs esrgan-slim');
    if (slim) r.vsSlim = +(r.mpixPerSecond / slim.mpixPerSecond).toPrecision(3);
  }
  const result = { input: `${size}x${size} (Set5 baby)`, backend: backend.name, cpu: os.cpus()[0]?.model, cores: os.cpus().length, date: new Date().toISOString(), rows };
  console.log(JSON.stringify(result, null, 1));
  const md = [
    '# SR speed bench (Node)',
    '',
    `Generated by \`npm run bench:sr\` on ${result.date.slice(0, 10)}: one ${size}x${size} input (Set5 "baby"), output megapixels per second, single-threaded runtimes, all models timed one after another in the same process on this machine (${result.cpu ?? 'unknown CPU'}, ${result.cores} cores shared with other jobs, so absolute numbers are noisy; the ratios are the point). Each model runs once on a 64x64 input first (warm-up), then the best of up to 3 timed runs is kept (1 run when it takes over 5 s).`,
    '',
    '| model | scale | runtime | seconds | output MP/s | x esrgan-slim |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | x${r.scale} | ${r.runtime} | ${r.seconds} | ${r.mpixPerSecond} | ${r.vsSlim ?? '-'} |`),
    '',
    'The Chromium (onnxruntime-web WASM / WebGPU) column comes from the site\'s own bench page and is not part of this run.',
    '',
  ].join('\n');
  await writeFileAtomic(a.out as string, md);
}

main().catch((e: unknown) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
