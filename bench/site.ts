/**
 * Site benchmark in Debian Chromium, through the real UI (worker, onnxruntime-web, tiling):
 *   translate latency at 256 and 512, upscale megapixels/s per model, webcam FPS at 256 and 512
 *   (fake camera), WebGPU (SwiftShader here: correctness only) vs WASM.
 * Uses the shipped models from public/models/manifest.json; when none of a kind is shipped, the
 * test fixture models (tests/browser/site/onnx-fixtures.ts) are routed in and labelled "fixture".
 *
 *   npm run bench:site            # builds if .next is missing, starts next on :3124, prints JSON, writes docs/bench-site.md
 *   GANVAS_BENCH_URL=http://127.0.0.1:3123 npm run bench:site   # against a running site
 *   GANVAS_BENCH_SECTIONS=webcam GANVAS_BENCH_WEBCAM_MODELS=a,b npm run bench:site   # webcam FPS of some models only
 *   GANVAS_BENCH_SECTIONS=webcam,huge npm run bench:site         # only some sections (translate, upscale,
 *                                                                 # large, webcam, webgpu, huge); the
 *                                                                 # others keep their last numbers
 * "huge" translates a 100-megapixel photo (10000x10000) with the cheapest translation model and
 * reports the job time, the download time and size, and the browser's peak memory (PSS of all its
 * processes, sampled every 250 ms, above the level before the upload).
 * "fullsize" translates a 12 MP phone-size photo (4032x3024) with summer->winter with whole-image
 * instance-norm statistics (the default, lib/runtime/whole-image.ts) and with per-tile statistics
 * (`?norm=per-tile`, the old patchwork), alternating (GANVAS_BENCH_FULLSIZE_RUNS pairs, default 2),
 * and reports wall time and the browser's CPU seconds (steadier on a shared machine) and their ratios.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import sharp from 'sharp';
import { CHROMIUM_ARGS } from '../playwright.config';
import { parseManifest } from '../lib/contract/manifest';
import { writeFixtures } from '../tests/browser/site/onnx-fixtures';
import { decodePng, HORSE, maxAbsDiffPlain, pssSampler, treeCpuSeconds, treePss } from './site-helpers';
import { writeY4m } from '../tests/browser/site/y4m';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const EXE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RUNS = Number(process.env.GANVAS_BENCH_RUNS ?? 3);
const SECTIONS = ['translate', 'upscale', 'large', 'webcam', 'webgpu', 'huge', 'fullsize'] as const;
const WANTED = new Set((process.env.GANVAS_BENCH_SECTIONS ?? SECTIONS.join(',')).split(',').map((x) => x.trim()));
for (const w of WANTED) if (!(SECTIONS as readonly string[]).includes(w)) throw new Error(`unknown section "${w}" in GANVAS_BENCH_SECTIONS (have: ${SECTIONS.join(', ')})`);
const REPORT_JSON = path.join(ROOT, 'docs/bench-site.json');
/** GANVAS_BENCH_WEBCAM_MODELS=id,id: the webcam section measures only these (in one run, for a ratio); the other models keep their last rows. */
const WEBCAM_ONLY = process.env.GANVAS_BENCH_WEBCAM_MODELS ? new Set(process.env.GANVAS_BENCH_WEBCAM_MODELS.split(',').map((x) => x.trim())) : null;
const IS_CHROMIUM = /chrom/i;

async function startServer(): Promise<{ url: string; proc: ChildProcess | null }> {
  if (process.env.GANVAS_BENCH_URL) return { url: process.env.GANVAS_BENCH_URL, proc: null };
  if (!existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) execSync('npm run build', { cwd: ROOT, stdio: 'inherit' });
  else execSync('node scripts/copy-ort.mjs', { cwd: ROOT, stdio: 'inherit' });
  const port = 3124;
  try {
    await fetch(`http://127.0.0.1:${port}`);
    throw new Error(`port ${port} is already in use (a leftover server?); stop it or set GANVAS_BENCH_URL`);
  } catch (e) {
    if ((e as Error).message.includes('already in use')) throw e;
  }
  const proc = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(port)], { cwd: ROOT, stdio: 'ignore', detached: true });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(url)).ok) return { url, proc };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  stopServer(proc);
  throw new Error('next start did not come up on :3124');
}

/** next start runs next-server as a child of npx: end the whole process group we started. */
function stopServer(proc: ChildProcess | null): void {
  if (proc?.pid) {
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function photo(size: number): Promise<Buffer> {
  return sharp(HORSE).resize(size, size, { fit: 'cover' }).png().toBuffer();
}

async function runTool(page: Page, png: Buffer, name: string): Promise<{ ms: number; tiles: number; out: string }> {
  await page.getByTestId('image-input').setInputFiles({ name, mimeType: 'image/png', buffer: png });
  await page.getByTestId('picked').filter({ hasText: name }).waitFor();
  await page.getByTestId('run').click();
  // done when the result shown is from this file (no " · from <older file>") and no job is running
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=result-info]');
    return !!el && !el.textContent?.includes(' · from ') && !document.querySelector('[data-testid=progress]');
  }, undefined, { timeout: 600_000 });
  const err = await page.getByTestId('error').count();
  if (err) throw new Error(`run failed: ${await page.getByTestId('error').textContent()}`);
  const text = (await page.getByTestId('result-info').textContent()) ?? '';
  const m = /: (\d+×\d+) in [\d.]+ m?s \((\d+) tile/.exec(text);
  if (!m) throw new Error(`unexpected result text: ${text}`);
  return { ms: Number(await page.getByTestId('result-info').getAttribute('data-ms')), tiles: Number(m[2]), out: m[1] };
}

async function main() {
  const { url, proc } = await startServer();
  const shipped = parseManifest(JSON.parse(readFileSync(path.join(ROOT, 'public/models/manifest.json'), 'utf8'))).models;
  const fxDir = path.join(os.tmpdir(), `ganvas-bench-fixtures-${process.pid}`);
  const fx = writeFixtures(fxDir);
  const useFixtures = {
    translation: !shipped.some((m) => m.task === 'translation'),
    sr: !shipped.some((m) => m.task === 'super-resolution'),
  };
  const models = [
    ...shipped,
    ...fx.models.filter((m) => (m.task === 'translation' ? useFixtures.translation : useFixtures.sr)).map((m) => ({ ...m, fixture: true })),
  ] as (ReturnType<typeof parseManifest>['models'][number] & { fixture?: boolean })[];
  const manifest = { version: 1, models };
  for (const id of WEBCAM_ONLY ?? []) if (!models.some((m) => m.id === id && m.task === 'translation')) throw new Error(`GANVAS_BENCH_WEBCAM_MODELS: no translation model "${id}" in the manifest`);
  const route = async (ctx: BrowserContext) => {
    await ctx.route('**/models/manifest.json', (r) => r.fulfill({ json: manifest }));
    await ctx.route(/\/models\/test-[a-z0-9-]+\.onnx(\?.*)?$/, (r) => r.fulfill({ path: path.join(fxDir, new URL(r.request().url()).pathname.split('/').pop()!) }));
  };
  const y4m = await writeY4m(HORSE, path.join(os.tmpdir(), `ganvas-bench-${process.pid}.y4m`), 640, 480, 30);
  const browser = await chromium.launch({
    executablePath: EXE,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
  const previous = existsSync(REPORT_JSON) ? (JSON.parse(readFileSync(REPORT_JSON, 'utf8')) as Record<string, unknown>) : {};
  const results: Record<string, unknown> = { ...previous, url, date: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, chromium: browser.version(), runs: RUNS, load_avg_1m: +os.loadavg()[0].toFixed(1) };
  const when = (results.section_dates ?? {}) as Record<string, string>;
  results.section_dates = when;
  const stamp = (k: string) => (when[k] = `${new Date().toISOString()} (load ${os.loadavg()[0].toFixed(1)})`);
  try {
    const ctx = await browser.newContext({ baseURL: url, serviceWorkers: 'block', acceptDownloads: true });
    await route(ctx);
    const page = await ctx.newPage();
    await page.goto('/translate');
    await page.getByTestId('backend-badge').and(page.locator('[data-backend=wasm]')).waitFor({ timeout: 60_000 });
    results.backend = await page.getByTestId('backend-reason').textContent();

    // ---- translate latency
    const translate: unknown[] = [];
    if (WANTED.has('translate')) stamp('translate');
    for (const m of models.filter((x) => x.task === 'translation' && WANTED.has('translate'))) {
      await page.getByTestId('model-select').selectOption(m.id);
      for (const size of [256, 512]) {
        const png = await photo(size);
        const times: number[] = [];
        let tiles = 0;
        for (let i = 0; i <= RUNS; i++) {
          const r = await runTool(page, png, `t${m.id}-${size}-${i}.png`);
          tiles = r.tiles;
          if (i > 0) times.push(r.ms); // first run warms up the session
        }
        translate.push({ model: m.id, fixture: !!m.fixture, size, tiles, ms_median: Math.round(median(times)), ms_all: times.map(Math.round) });
      }
    }
    if (WANTED.has('translate')) results.translate_wasm = translate;

    // ---- 100 MP translate with the cheapest translation model: time, download, peak browser memory
    const cheapest = models.filter((x) => x.task === 'translation').sort((a, b) => (a.gmacs256 ?? 1e9) - (b.gmacs256 ?? 1e9))[0];
    if (WANTED.has('huge') && cheapest) {
      stamp('huge');
      await page.getByTestId('model-select').selectOption(cheapest.id);
      const side = Number(process.env.GANVAS_BENCH_HUGE_SIDE ?? 10_000);
      const huge = await sharp(HORSE).resize(side, side).jpeg({ quality: 90 }).toBuffer();
      await page.waitForTimeout(2000);
      const base = treePss(process.pid, IS_CHROMIUM);
      const sampler = pssSampler(process.pid, IS_CHROMIUM);
      const t0 = Date.now();
      const r = await runTool(page, huge, `huge-${side}x${side}.jpg`);
      const wallS = (Date.now() - t0) / 1000;
      const t1 = Date.now();
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 600_000 }), page.getByTestId('download').click()]);
      const file = (await dl.path())!;
      const downloadS = (Date.now() - t1) / 1000;
      const peak = sampler.stop();
      const png = await sharp(file).metadata();
      results.translate_100mp_wasm = {
        model: cheapest.id, fixture: !!cheapest.fixture, input: `${side}x${side} JPEG (${(huge.length / 1e6).toFixed(1)} MB)`, output: r.out, tiles: r.tiles,
        job_seconds: +(r.ms / 1000).toFixed(1), wall_seconds_pick_to_result: +wallS.toFixed(1), download_seconds: +downloadS.toFixed(1),
        download_png: `${png.width}x${png.height}, ${(statSync(file).size / 1e6).toFixed(0)} MB`,
        browser_pss_before_mb: Math.round(base / 1e6), browser_pss_peak_mb: Math.round(peak / 1e6), browser_pss_increase_mb: Math.round((peak - base) / 1e6),
      };
      // free the 100 MP result before the next sections
      await page.reload();
      await page.getByTestId('backend-badge').and(page.locator('[data-backend=wasm]')).waitFor({ timeout: 60_000 });
    }

    // ---- 12 MP translate with an instance-norm model: whole-image statistics vs per-tile (the old way)
    const inModel = models.find((x) => x.id === 'cyclegan-summer2winter') ?? models.find((x) => x.task === 'translation');
    if (WANTED.has('fullsize') && inModel) {
      stamp('fullsize');
      const summer = path.join(ROOT, '../shared/datasets/cyclegan/summer2winter_landscapes/testA/d48a2d6bfd.jpg');
      const src = existsSync(summer) ? summer : HORSE;
      const big = await sharp(src).resize(4032, 3024, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
      const runs: { norm: string; ms: number; cpu: number; tiles: number; out: string }[] = [];
      const pairs = Number(process.env.GANVAS_BENCH_FULLSIZE_RUNS ?? 2);
      const order = Array.from({ length: pairs }, (_, i) => (i % 2 ? ['whole-image', 'per-tile'] : ['per-tile', 'whole-image'])).flat();
      for (const norm of order) {
        await page.goto(`/translate?norm=${norm}`);
        await page.getByTestId('backend-badge').and(page.locator('[data-backend=wasm]')).waitFor({ timeout: 60_000 });
        await page.getByTestId('model-select').selectOption(inModel.id);
        const cpu0 = treeCpuSeconds(process.pid, IS_CHROMIUM);
        const r = await runTool(page, big, `fullsize-${norm}-${runs.length}.jpg`);
        runs.push({ norm, ...r, cpu: treeCpuSeconds(process.pid, IS_CHROMIUM) - cpu0 });
      }
      const mean = (n: string, k: 'ms' | 'cpu') => runs.filter((r) => r.norm === n).reduce((a, r) => a + r[k], 0) / pairs / (k === 'ms' ? 1000 : 1);
      results.translate_fullsize_wasm = ['per-tile', 'whole-image'].map((norm) => ({
        model: inModel.id, fixture: !!inModel.fixture, input: `4032x3024 JPEG (${path.basename(src)} upscaled)`, normalization: norm,
        tiles: runs.find((r) => r.norm === norm)!.tiles, seconds_mean: +mean(norm, 'ms').toFixed(1),
        seconds_all: runs.filter((r) => r.norm === norm).map((r) => +(r.ms / 1000).toFixed(1)).join(', '),
        vs_per_tile: +(mean(norm, 'ms') / mean('per-tile', 'ms')).toFixed(2),
        browser_cpu_seconds_mean: +mean(norm, 'cpu').toFixed(1),
        cpu_vs_per_tile: +(mean(norm, 'cpu') / mean('per-tile', 'cpu')).toFixed(2),
        load_avg_1m: +os.loadavg()[0].toFixed(1),
      }));
      await page.goto('/translate');
    }

    // ---- upscale throughput
    await page.goto('/upscale');
    const upscale: unknown[] = [];
    if (WANTED.has('upscale')) stamp('upscale');
    for (const m of models.filter((x) => x.task === 'super-resolution' && WANTED.has('upscale'))) {
      await page.getByTestId('scale-select').selectOption(String(m.scale));
      await page.getByTestId('tier-select').selectOption(m.tier ?? 'quality');
      await page.getByTestId('model-select').selectOption(m.id);
      const size = 256;
      const png = await photo(size);
      const times: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const r = await runTool(page, png, `u${m.id}-${i}.png`);
        if (i > 0) times.push(r.ms);
      }
      const s = median(times) / 1000;
      upscale.push({
        model: m.id, fixture: !!m.fixture, scale: m.scale, input: `${size}x${size}`,
        ms_median: Math.round(median(times)), input_mp_per_s: +((size * size) / 1e6 / s).toFixed(3), output_mp_per_s: +((size * size * m.scale * m.scale) / 1e6 / s).toFixed(3),
      });
    }
    if (WANTED.has('upscale')) results.upscale_wasm = upscale;

    // ---- one large upscale: 2000x1500 -> 8000x6000 with the first x4 model
    const x4 = models.find((x) => x.task === 'super-resolution' && x.scale === 4);
    if (x4 && WANTED.has('large')) {
      stamp('large');
      await page.getByTestId('scale-select').selectOption('4');
      await page.getByTestId('tier-select').selectOption(x4.tier ?? 'quality');
      await page.getByTestId('model-select').selectOption(x4.id);
      const big = await sharp(HORSE).resize(2000, 1500).png({ compressionLevel: 1 }).toBuffer();
      const r = await runTool(page, big, 'big-2000x1500.png');
      results.upscale_large_wasm = { model: x4.id, fixture: !!x4.fixture, input: '2000x1500', output: r.out, tiles: r.tiles, seconds: +(r.ms / 1000).toFixed(1), output_mp_per_s: +(48 / (r.ms / 1000)).toFixed(2) };
    }

    // ---- webcam FPS
    await page.goto('/webcam');
    const webcam: unknown[] = [];
    if (WANTED.has('webcam')) stamp('webcam');
    for (const m of models.filter((x) => x.task === 'translation' && WANTED.has('webcam') && (!WEBCAM_ONLY || WEBCAM_ONLY.has(x.id)))) {
      await page.getByTestId('model-select').selectOption(m.id);
      for (const res of [256, 512]) {
        await page.getByTestId('res-select').selectOption(String(res));
        await page.getByTestId('cam-start').click();
        await page.locator('[data-testid=frames]').waitFor({ timeout: 60_000 });
        await page.waitForTimeout(8000);
        // slow models: at least 4 frames so the rate covers 3 intervals
        await page.locator('[data-testid=frames]').and(page.locator('[data-frames]:not([data-frames="1"]):not([data-frames="2"]):not([data-frames="3"])')).waitFor({ timeout: 120_000 });
        const fps = Number(await page.getByTestId('fps').getAttribute('data-fps'));
        const latency = (await page.getByTestId('latency').textContent()) ?? '';
        webcam.push({ model: m.id, fixture: !!m.fixture, resolution: res, fps: +fps.toFixed(1), latency });
        await page.getByTestId('cam-stop').click();
        await page.getByTestId('cam-start').waitFor();
      }
    }
    if (WANTED.has('webcam')) {
      const kept = WEBCAM_ONLY ? ((previous.webcam_wasm ?? []) as { model: string }[]).filter((r) => !WEBCAM_ONLY.has(r.model)) : [];
      results.webcam_wasm = [...kept, ...webcam];
    }
    await ctx.close();

    // ---- WebGPU (SwiftShader) vs WASM: correctness on 64x64
    const gpu: unknown[] = [];
    const tiny = await photo(64);
    if (WANTED.has('webgpu')) stamp('webgpu');
    for (const m of models.filter((x) => x.task === 'translation' && WANTED.has('webgpu')).slice(0, 1)) {
      const outs: Record<string, Uint8Array> = {};
      const ms: Record<string, number> = {};
      for (const backend of ['wasm', 'webgpu']) {
        const c = await browser.newContext({ baseURL: url, serviceWorkers: 'block', acceptDownloads: true });
        await route(c);
        const p = await c.newPage();
        await p.goto(`/translate?backend=${backend}`);
        await p.locator(`[data-testid=backend-badge][data-backend=${backend}]`).waitFor({ timeout: 60_000 });
        await p.getByTestId('model-select').selectOption(m.id);
        await runTool(p, tiny, 'g0.png');
        const r = await runTool(p, tiny, 'g1.png');
        ms[backend] = Math.round(r.ms);
        const [dl] = await Promise.all([p.waitForEvent('download'), p.getByTestId('download').click()]);
        outs[backend] = decodePng(readFileSync((await dl.path())!)).data;
        await c.close();
      }
      gpu.push({ model: m.id, fixture: !!m.fixture, size: '64x64', wasm_ms: ms.wasm, webgpu_swiftshader_ms: ms.webgpu, max_abs_diff_255: maxAbsDiffPlain(outs.wasm, outs.webgpu) });
    }
    if (WANTED.has('webgpu')) results.webgpu_vs_wasm = gpu;
  } finally {
    await browser.close();
    stopServer(proc);
  }
  console.log(JSON.stringify(results, null, 2));
  writeReport(results);
}

function writeReport(r: Record<string, unknown>) {
  const rows = (xs: unknown, cols: string[]) =>
    (xs as Record<string, unknown>[]).map((x) => `| ${cols.map((c) => String(x[c] ?? '')).join(' | ')} |`).join('\n');
  const table = (title: string, xs: unknown, cols: string[]) =>
    `### ${title}\n\n| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n${rows(xs, cols)}\n`;
  const md = `# Site benchmark

Measured by \`npm run bench:site\` (\`bench/site.ts\`) in Debian Chromium ${r.chromium} (headless) on this machine
(${r.cpus} CPU cores, ${r.cpu}; no GPU), through the real UI: the inference worker, onnxruntime-web, tiling and
blending. Times are the worker's job time (decode, tiles, inference, blending), median of ${r.runs} runs after
one warm-up run. Backend: ${r.backend}. Each section's date and 1-minute load average (2 cores; training jobs
may share the machine, which makes absolute numbers pessimistic): ${Object.entries((r.section_dates ?? {}) as Record<string, string>).map(([k, v]) => `${k} ${v}`).join('; ')}.
Rows marked \`fixture: true\` use the small untrained test models from \`tests/browser/site/onnx-fixtures.ts\`
because no shipped model of that kind was in \`public/models/manifest.json\` at the time; re-run when models land.

Date: ${r.date}

${table('Translate latency (WASM)', r.translate_wasm, ['model', 'fixture', 'size', 'tiles', 'ms_median', 'ms_all'])}
${table('Upscale throughput (WASM)', r.upscale_wasm, ['model', 'fixture', 'scale', 'input', 'ms_median', 'input_mp_per_s', 'output_mp_per_s'])}
${r.upscale_large_wasm ? table('Large upscale (WASM, one run)', [r.upscale_large_wasm], ['model', 'fixture', 'input', 'output', 'tiles', 'seconds', 'output_mp_per_s']) : ''}
${r.translate_fullsize_wasm ? table('12 MP translate (WASM): whole-image instance-norm statistics (default) vs per-tile (the old patchwork); runs alternate; browser CPU seconds = user + system time of all Chromium processes during the job (steadier than wall time on a shared machine)', r.translate_fullsize_wasm, ['model', 'input', 'normalization', 'tiles', 'seconds_mean', 'seconds_all', 'vs_per_tile', 'browser_cpu_seconds_mean', 'cpu_vs_per_tile', 'load_avg_1m']) : ''}
${r.translate_100mp_wasm ? table('100-megapixel translate (WASM, one run; memory = PSS of all browser processes)', [r.translate_100mp_wasm], ['model', 'input', 'tiles', 'job_seconds', 'download_seconds', 'download_png', 'browser_pss_before_mb', 'browser_pss_peak_mb', 'browser_pss_increase_mb']) : ''}
${table('Webcam (WASM, fake camera 640x480 centre-cropped and resized)', r.webcam_wasm, ['model', 'fixture', 'resolution', 'fps', 'latency'])}
${table('WebGPU (SwiftShader software adapter: correctness only) vs WASM', r.webgpu_vs_wasm, ['model', 'fixture', 'size', 'wasm_ms', 'webgpu_swiftshader_ms', 'max_abs_diff_255'])}
Raw JSON: [bench-site.json](bench-site.json).
`;
  writeFileSync(`${REPORT_JSON}.tmp`, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(`${REPORT_JSON}.tmp`, REPORT_JSON);
  const out = path.join(ROOT, 'docs/bench-site.md');
  writeFileSync(`${out}.tmp`, md);
  renameSync(`${out}.tmp`, out);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
