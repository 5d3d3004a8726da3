/**
 * SR speed bench (`npm run bench:sr`): megapixels of output per second for every shipped SR
 * model (onnxruntime-node, and the same weights in tfjs wasm) and every UpscalerJS ESRGAN model
 * (tfjs wasm), on one 512x512 input, in one process, one after the other, so the ratios compare
 * like with like on this machine; then the same models on the same input in headless Chromium
 * (onnxruntime-web WASM for ours, tfjs wasm for UpscalerJS; bench/sr-browser.ts), each with a
 * check that its Chromium output matches its Node output. Prints JSON and writes docs/bench-sr.md.
 *
 *   npx tsx bench/sr.ts [--size 512] [--tile 128] [--skip-thick] [--no-browser] [--check-size 48] [--out docs/bench-sr.md]
 *                       [--scales 2,4] [--models sr-quality-x2,esrgan-slim,esrgan-thick]
 *
 * --scales and --models time a subset (e.g. one re-shipped model against the UpscalerJS models it
 * is compared with) in one run; the report then says which rows it holds.
 *
 * All runtimes are single-threaded (onnxruntime intra-op threads 1; tfjs wasm in Node has no
 * threads; in Chromium ort.env.wasm.numThreads = 1 and tfjs-backend-wasm setThreadsCount(1)),
 * the fair comparison on a shared 2-core machine. Models that need tiling (the UpscalerJS RRDN
 * at 512x512 would need many GB) run in tiles of --tile LR pixels; tile overhead is included in
 * their time.
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
import { bicubicRunner, cropReflect, onnxRunner, tfjsRunner, type SrRunner } from '../training/eval/sr/runners';
import { upscalerRunner, UPSCALER_MODELS } from '../training/eval/sr/peers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { findGeneratorFolder, loadLayersModel } from '../training/checkpoint';
import * as tf from '@tensorflow/tfjs-core';
import { checkKey, MAX_CHECK_DIFF, runBrowserBench, type BrowserModel, type BrowserResult } from './sr-browser';

interface Row {
  model: string;
  scale: number;
  runtime: string;
  seconds: number;
  outputMegapixels: number;
  mpixPerSecond: number;
  /** Speed relative to UpscalerJS esrgan-slim at the same scale in the same environment (Node or Chromium; same machine, same run). */
  vsSlim?: number;
  /** Chromium rows: timed runs behind `seconds`. */
  runs?: number;
  /** Chromium rows: speed relative to the same model's Node row (onnxruntime-node for ort-web, tfjs wasm for tfjs wasm). */
  vsNode?: number;
  /** Chromium rows: max abs difference (8-bit levels) between the Chromium and the Node output on the check input. */
  maxAbsDiffVsNode?: number | null;
}

const isChromium = (r: Row) => r.runtime.startsWith('chromium');

/** The tfjs weights behind a shipped model: its checkpoint in checkpoints/<id>/ (null when absent). */
async function loadShippedTfjs(id: string): Promise<LayersModel | null> {
  const generator = await findGeneratorFolder(path.join(repoRoot, 'checkpoints', id));
  return generator ? loadLayersModel(generator) : null;
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
    .option('--no-browser', 'skip the Chromium rows (bench/sr-browser.ts)')
    .option('--check-size <n>', 'side of the centre crop on which Chromium and Node outputs are compared', '48')
    .option('--out <file>', 'markdown report', path.join(repoRoot, 'docs/bench-sr.md'))
    .option('--scales <list>', 'scales to time', '2,4')
    .option('--models <list>', 'only these models (manifest ids and esrgan-slim/-medium/-thick; bicubic always runs); default all')
    .parse(process.argv)
    .opts();
  const size = Number(a.size);
  const tile = Number(a.tile);
  const backend = await initBackend({ backend: 'wasm', log: () => {} });
  const src = await decodeImageFile(path.join(DEFAULT_SR_ROOT, 'Set5/HR/baby.png'));
  const img = src.width === size && src.height === size ? src : imresize(src, size / src.width);
  const input: RgbImage = { width: size, height: size, data: img.data.subarray(0, size * size * 3) };
  const warm: RgbImage = imresize(input, 64 / size);
  const checkSize = Math.min(Number(a.checkSize), size);
  const check = cropReflect(input, (size - checkSize) >> 1, (size - checkSize) >> 1, checkSize, checkSize);
  /** Node outputs on `check`, for the Chromium rows' correctness check. */
  const nodeCheck = new Map<string, RgbImage>();
  const browserModels: BrowserModel[] = [];

  const manifest = parseManifest(JSON.parse(await fs.readFile(path.join(repoRoot, 'public/models/manifest.json'), 'utf8')));
  const only = a.models ? new Set(String(a.models).split(',').map((x) => x.trim())) : null;
  const wanted = (name: string) => !only || only.has(name);
  const ours = manifest.models.filter((m) => m.task === 'super-resolution' && m.id.startsWith('sr-') && wanted(m.id));
  const scales = String(a.scales).split(',').map(Number);
  const known = new Set([...manifest.models.map((m) => m.id), ...UPSCALER_MODELS.map((n) => `esrgan-${n}`)]);
  for (const name of only ?? []) if (!known.has(name)) throw new Error(`--models: unknown model ${name} (manifest ids or esrgan-slim/-medium/-thick)`);
  if (!scales.every((x) => [2, 3, 4].includes(x))) throw new Error(`--scales: 2, 3 or 4, got ${a.scales}`);
  const rows: Row[] = [];
  const add = (model: string, scale: number, runtime: string, seconds: number) => {
    const outputMegapixels = (size * scale) ** 2 / 1e6;
    const row = { model, scale, runtime, seconds: +seconds.toFixed(3), outputMegapixels, mpixPerSecond: +(outputMegapixels / seconds).toPrecision(4) };
    rows.push(row);
    console.error(`${model} x${scale} ${runtime}: ${seconds.toFixed(2)} s, ${row.mpixPerSecond} MP/s`);
  };

  for (const scale of scales) {
    add('bicubic (MATLAB imresize, JS)', scale, 'node js', await timeRunner(bicubicRunner(scale), input, warm));
    for (const m of ours.filter((e) => e.scale === scale)) {
      const file = path.join(repoRoot, 'public/models', m.file);
      const r = await onnxRunner(file, { name: m.id, scale, inputName: m.input.name, outputName: m.output.name, inputRange: m.input.range, outputRange: m.output.range, threads: 1 });
      add(m.id, scale, 'onnxruntime-node (1 thread)', await timeRunner(r, input, warm));
      nodeCheck.set(checkKey(m.id, scale), await r.upscale(check));
      browserModels.push({ kind: 'onnx', id: m.id, scale, file: m.file, inputName: m.input.name, outputName: m.output.name, inputRange: m.input.range, outputRange: m.output.range });
      await r.dispose?.();
      const tfModel = await loadShippedTfjs(m.id);
      if (tfModel) {
        const t = tfjsRunner(tfModel, { name: m.id, scale, range: [0, 1] });
        add(m.id, scale, 'tfjs wasm', await timeRunner(t, input, warm));
        tfModel.dispose();
      }
    }
    for (const name of UPSCALER_MODELS) {
      if ((name === 'thick' && a.skipThick) || !wanted(`esrgan-${name}`)) continue;
      const r = await upscalerRunner(name, scale, { tile, overlap: 8 });
      add(`upscalerjs esrgan-${name}`, scale, `tfjs wasm (tiles ${tile})`, await timeRunner(r, input, warm));
      nodeCheck.set(checkKey(`upscalerjs esrgan-${name}`, scale), await r.upscale(check));
      browserModels.push({ kind: 'upscaler', name, scale });
    }
  }

  let browser: Omit<BrowserResult, 'rows'> | { skipped: true } | { failed: string } = { skipped: true };
  if (a.browser) {
    try {
      const b = await runBrowserBench({ models: browserModels, input, warm, check, tile, overlap: 8, nodeCheck });
      const { rows: browserRows, ...info } = b;
      browser = info;
      for (const br of browserRows) {
        const nodeRuntime = br.runtime.includes('ort-web') ? 'onnxruntime-node (1 thread)' : `tfjs wasm (tiles ${tile})`;
        const node = rows.find((r) => r.model === br.model && r.scale === br.scale && r.runtime === nodeRuntime);
        rows.push({ ...br, vsNode: node ? +(br.mpixPerSecond / node.mpixPerSecond).toPrecision(3) : undefined });
      }
    } catch (e) {
      browser = { failed: e instanceof Error ? e.message : String(e) };
      console.error(`chromium: ${browser.failed}`);
    }
  }
  // One table: per scale, the Node rows then the Chromium rows (stable sort keeps each group's order).
  rows.sort((p, q) => p.scale - q.scale || Number(isChromium(p)) - Number(isChromium(q)));
  for (const r of rows) {
    const slim = rows.find((s) => s.scale === r.scale && s.model === 'upscalerjs esrgan-slim' && isChromium(s) === isChromium(r));
    if (slim) r.vsSlim = +(r.mpixPerSecond / slim.mpixPerSecond).toPrecision(3);
  }
  const ortNode = await import('onnxruntime-node');
  const ortNodeVersion = ortNode.env.versions.node ?? ortNode.env.versions.common;
  // What tfjs-backend-wasm picks in Node (no threads in Node; SIMD when the engine has it), for the report.
  const nodeTfjsBinary = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  const result = { input: `${size}x${size} (Set5 baby)`, checkInput: `${checkSize}x${checkSize} centre crop`, backend: backend.name, ortNode: ortNodeVersion, nodeTfjsBinary, cpu: os.cpus()[0]?.model, cores: os.cpus().length, date: new Date().toISOString(), browser, rows };
  console.log(JSON.stringify(result, null, 1));
  const md = [
    '# SR speed bench (Node and Chromium)',
    '',
    `Generated by \`npm run bench:sr\` on ${result.date.slice(0, 10)}: one ${size}x${size} input (Set5 "baby"), output megapixels per second, single-threaded runtimes, all models timed one after another in one run on this machine (${result.cpu ?? 'unknown CPU'}, ${result.cores} cores shared with other jobs, so absolute numbers are noisy; the ratios are the point). Each model runs once on a 64x64 input first (warm-up), then the best of up to 3 timed runs is kept (1 run when it takes over 5 s). UpscalerJS models run in tiles of ${tile} LR pixels (overlap 8) in both Node and Chromium.`,
    '',
    `Node rows: onnxruntime-node ${ortNodeVersion} (intra-op threads 1) and tfjs-backend-wasm (\`${nodeTfjsBinary}\`, no threads in Node).`,
    '',
    browserNote(browser, checkSize),
    '',
    ...(only || a.scales !== '2,4' ? [`A partial run: models ${only ? [...only].join(', ') : 'all'} at x${scales.join(', x')} (\`--models\`, \`--scales\`).`, ''] : []),
    `| model | scale | runtime | seconds | output MP/s | x esrgan-slim (same env) | Chromium / Node | max abs diff vs Node (${checkSize}x${checkSize}, 8-bit) |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | x${r.scale} | ${r.runtime} | ${r.seconds} | ${r.mpixPerSecond} | ${r.vsSlim ?? '-'} | ${r.vsNode ?? '-'} | ${r.maxAbsDiffVsNode ?? '-'} |`),
    '',
  ].join('\n');
  await writeFileAtomic(a.out as string, md);
  if ('failed' in browser || ('errors' in browser && browser.errors.length)) process.exitCode = 1;
}

function browserNote(b: Omit<BrowserResult, 'rows'> | { skipped: true } | { failed: string }, checkSize: number): string {
  if ('skipped' in b) return 'Chromium rows: skipped (`--no-browser`).';
  if ('failed' in b) return `Chromium rows: **the Chromium run failed**: ${b.failed}`;
  const tfjs = b.tfjs ? `tfjs-backend-wasm (\`${b.tfjs.binary}\`, ${b.tfjs.threads} XNNPACK thread${b.tfjs.threads === 1 ? '' : 's'} via setThreadsCount(1))` : 'tfjs-backend-wasm (not used)';
  return [
    `Chromium rows ("chromium ..."): headless Debian Chromium ${b.chromium}, a local page (cross-origin isolated: ${b.crossOriginIsolated ? 'yes' : 'no'}) running onnxruntime-web ${b.ortWeb} WASM EP with \`numThreads = 1\` for the shipped ONNX models and ${tfjs} for UpscalerJS, on the same input pixels, with the same warm-up and timing rule and the same tiling as the Node rows (\`bench/sr-browser.ts\`).`,
    `"x esrgan-slim" compares with esrgan-slim at the same scale in the same environment (Node rows with the Node row, Chromium rows with the Chromium row); "Chromium / Node" is a Chromium row's speed over the same model's Node row (ort-web over onnxruntime-node, tfjs wasm over tfjs wasm). The last column checks the feed: the largest difference, in 8-bit levels, between the model's Chromium and Node outputs on a ${checkSize}x${checkSize} centre crop of the input (0-1 is rounding noise; a wrong input range, layout or scale gives tens to 255; over ${MAX_CHECK_DIFF} fails the run).`,
    ...(b.errors.length ? ['', `**Failed in Chromium:** ${b.errors.join('; ')}`] : []),
  ].join('\n');
}

main().catch((e: unknown) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
