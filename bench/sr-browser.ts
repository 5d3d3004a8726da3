/**
 * The Chromium half of bench/sr.ts: the same SR models, the same input, the same timing rule,
 * in headless Debian Chromium (WASM), single-threaded like the Node rows.
 *
 * A tiny local http server (random port, COOP same-origin + COEP require-corp so the page is
 * cross-origin isolated and SharedArrayBuffer works, as on the site) serves:
 *   /                     a page with an import map for the bare imports below
 *   /src/<repo path>      bench/sr-browser-page.ts and the Node helpers it imports
 *                         (training/eval/sr/runners.ts, ...), transpiled with TypeScript on request
 *   /ort/*                node_modules/onnxruntime-web/dist (the page imports ort.wasm.min.mjs, as the site does)
 *   /tfjs/*.js            the ES-module dist bundles of @tensorflow/tfjs-core, -layers, -backend-wasm
 *   /tfjs/wasm/*.wasm     tfjs-backend-wasm's binaries (setWasmPaths)
 *   /stub/empty.js        for the Node built-ins tfjs-backend-wasm imports but never uses in a browser
 *   /models/*             public/models (the shipped ONNX files)
 *   /upscaler/<name>/x<s>/*  the UpscalerJS model folders (model.json + shards) from node_modules
 *   /img/<key>            the input images as raw RGB bytes, exactly the ones the Node rows use
 *
 * Every model runs once on the small check input after its timing; Node compares that output
 * with the Node runtime's output for the same model (max abs difference, 8-bit levels), so a
 * wrong feed (range, layout, scale) cannot pass as fast.
 *
 * GANVAS_BENCH_DEBUG=1 logs every request, every page console message and each model's
 * load / warm-up / timed-run steps.
 */
import http from 'node:http';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import ts from 'typescript';
import { chromium, type Browser } from '@playwright/test';
import { CHROMIUM_ARGS } from '../playwright.config';
import { repoRoot } from '../training/eval/sr/evaluate';
import { upscalerModelInfo, type UpscalerModelName } from '../training/eval/sr/peers';
import type { Range } from '../training/eval/sr/runners';
import type { RgbImage } from '../training/data/images';
import { maxAbsDiffPlain } from './site-helpers';
import type { PageImages, PageJob, PageResult, TfjsInfo } from './sr-browser-page';

/** A Chromium output further than this (8-bit levels) from the Node output counts as a failure: rounding gives 0-1. */
export const MAX_CHECK_DIFF = 8;

export const ORT_RUNTIME = 'chromium ort-web wasm (1 thread)';
export const tfjsRuntime = (tile: number) => `chromium tfjs wasm (tiles ${tile})`;

export type BrowserModel =
  | { kind: 'onnx'; id: string; scale: number; file: string; inputName: string; outputName: string; inputRange: Range; outputRange: Range }
  | { kind: 'upscaler'; name: UpscalerModelName; scale: number };

/** The row label bench/sr.ts uses for a model (also the key of its Node check output). */
export const modelLabel = (m: BrowserModel) => (m.kind === 'onnx' ? m.id : `upscalerjs esrgan-${m.name}`);
export const checkKey = (model: string, scale: number) => `${model}@x${scale}`;

export interface BrowserBenchOptions {
  /** Models in the order to run them. */
  models: BrowserModel[];
  input: RgbImage;
  warm: RgbImage;
  check: RgbImage;
  /** Tile size and overlap (LR pixels) for the UpscalerJS models, as in the Node rows. */
  tile: number;
  overlap: number;
  /** The Node runtimes' outputs on `check`, by checkKey(label, scale). */
  nodeCheck: Map<string, RgbImage>;
  log?: (line: string) => void;
}

export interface BrowserRow {
  model: string;
  scale: number;
  runtime: string;
  seconds: number;
  /** Timed runs behind `seconds` (best of them). */
  runs: number;
  outputMegapixels: number;
  mpixPerSecond: number;
  /** Max abs difference (8-bit levels) between this output and the Node output on the check input; null without a Node output. */
  maxAbsDiffVsNode: number | null;
}

export interface BrowserResult {
  chromium: string;
  crossOriginIsolated: boolean;
  ortWeb: string;
  tfjs: TfjsInfo | null;
  rows: BrowserRow[];
  /** Models that failed in Chromium ("model x2: message"); the others still ran. */
  errors: string[];
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.ts': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

const NM = path.join(repoRoot, 'node_modules');
const TFJS_FILES: Record<string, string> = {
  'tfjs-core.js': path.join(NM, '@tensorflow/tfjs-core/dist/tf-core.fesm.js'),
  'tfjs-layers.js': path.join(NM, '@tensorflow/tfjs-layers/dist/tf-layers.fesm.js'),
  'tfjs-backend-wasm.js': path.join(NM, '@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.fesm.js'),
};
const PAGE_MODULE = '/src/bench/sr-browser-page.ts';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>ganvas sr bench</title>
<script type="importmap">
${JSON.stringify(
  {
    imports: {
      '@tensorflow/tfjs-core': '/tfjs/tfjs-core.js',
      '@tensorflow/tfjs-layers': '/tfjs/tfjs-layers.js',
      '@tensorflow/tfjs-backend-wasm': '/tfjs/tfjs-backend-wasm.js',
      'onnxruntime-web': '/ort/ort.wasm.min.mjs',
      fs: '/stub/empty.js',
      path: '/stub/empty.js',
      os: '/stub/empty.js',
      perf_hooks: '/stub/empty.js',
    },
  },
  null,
  1,
)}
</script>
<script type="module">
import(${JSON.stringify(PAGE_MODULE)}).catch((e) => { window.srBenchError = String(e && e.stack || e); });
</script>
`;

/** Resolves `rel` inside `dir`; null when it would leave it. */
function inside(dir: string, rel: string): string | null {
  const p = path.resolve(dir, '.' + path.posix.normalize('/' + rel));
  return p === dir || p.startsWith(dir + path.sep) ? p : null;
}

async function readable(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

/** A repo TypeScript file as a browser ES module (types erased; imports left as written, the page resolves them). */
async function transpile(urlPath: string): Promise<string | null> {
  const rel = urlPath.slice('/src/'.length);
  if (!/^(bench|training|lib)\//.test(rel)) return null;
  const base = inside(repoRoot, rel);
  if (!base) return null;
  for (const f of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (f.endsWith('.ts') && (await readable(f))) {
      const src = await fs.readFile(f, 'utf8');
      return ts.transpileModule(src, {
        fileName: f,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, useDefineForClassFields: true, sourceMap: false },
      }).outputText;
    }
  }
  return null;
}

interface Served {
  url: string;
  images: Map<string, Uint8Array>;
  close(): Promise<void>;
}

async function serve(log: (line: string) => void): Promise<Served> {
  const images = new Map<string, Uint8Array>();
  const upscalerDir = (name: string, scale: string) => path.dirname(upscalerModelInfo(name as UpscalerModelName, Number(scale)).modelJson);
  const resolveFile = (p: string): string | null => {
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^\/ort\/(.+)$/))) return inside(path.join(NM, 'onnxruntime-web/dist'), m[1]);
    if ((m = p.match(/^\/tfjs\/wasm\/([\w.-]+\.wasm)$/))) return inside(path.join(NM, '@tensorflow/tfjs-backend-wasm/dist'), m[1]);
    if ((m = p.match(/^\/tfjs\/([\w.-]+\.js)$/))) return TFJS_FILES[m[1]] ?? null;
    if ((m = p.match(/^\/models\/(.+)$/))) return inside(path.join(repoRoot, 'public/models'), m[1]);
    if ((m = p.match(/^\/upscaler\/(slim|medium|thick)\/x(\d)\/(.+)$/))) return inside(upscalerDir(m[1], m[2]), m[3]);
    return null;
  };
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8') => {
      if (status >= 400) log(`bench server: ${status} for ${req.url}${status >= 500 ? `: ${String(body)}` : ''}`);
      res.writeHead(status, {
        'Content-Type': type,
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    };
    void (async () => {
      const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (process.env.GANVAS_BENCH_DEBUG) {
        log(`bench server: ${req.method} ${req.url}`);
        res.on('finish', () => log(`bench server: sent ${req.url}`));
      }
      if (p === '/') return send(200, PAGE, MIME['.html']);
      if (p === '/favicon.ico') return send(204, '');
      if (p === '/stub/empty.js') return send(200, 'export default {};\n', MIME['.js']);
      if (p.startsWith('/img/')) {
        const img = images.get(p.slice('/img/'.length));
        return img ? send(200, img, 'application/octet-stream') : send(404, 'no such image');
      }
      if (p.startsWith('/src/')) {
        const js = await transpile(p);
        return js == null ? send(404, `not found: ${p}`) : send(200, js, MIME['.ts']);
      }
      const file = resolveFile(p);
      if (!file || !(await readable(file))) return send(404, `not found: ${p}`);
      send(200, await fs.readFile(file), MIME[path.extname(file)] ?? 'application/octet-stream');
    })().catch((e: unknown) => send(500, String(e)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  if (process.env.GANVAS_BENCH_DEBUG) log(`bench server: http://127.0.0.1:${port}`);
  return {
    url: `http://127.0.0.1:${port}`,
    images,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Times every model in `opts.models` in Chromium and compares its check output with Node's. */
export async function runBrowserBench(opts: BrowserBenchOptions): Promise<BrowserResult> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const server = await serve(log);
  const put = (key: string, img: RgbImage) => {
    server.images.set(key, img.data);
    return { url: `/img/${key}`, width: img.width, height: img.height };
  };
  const imgs: PageImages = { input: put('input', opts.input), warm: put('warm', opts.warm), check: put('check', opts.check) };
  let browser: Browser | undefined;
  try {
    // Launched inside the try: a failed launch (no Chromium) still closes the server below.
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`chromium page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || process.env.GANVAS_BENCH_DEBUG) log(`chromium console (${m.type()}): ${m.text()}`);
    });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.srBench != null || window.srBenchError != null, null, { timeout: 120_000 });
    const loadError = await page.evaluate(() => window.srBenchError ?? null);
    if (loadError) throw new Error(`the bench page did not load: ${loadError}`);
    const ortInfo = await page.evaluate(() => window.srBench!.initOrt());
    if (!ortInfo.crossOriginIsolated) log('chromium: the page is not cross-origin isolated (COOP/COEP headers ignored?)');
    const needTfjs = opts.models.some((m) => m.kind === 'upscaler');
    const tfjs = needTfjs ? await page.evaluate((n) => window.srBench!.initTfjs(n), 1) : null;
    if (tfjs) log(`chromium tfjs: backend ${tfjs.backend}, ${tfjs.binary}, ${tfjs.threads} thread(s)`);

    const rows: BrowserRow[] = [];
    const errors: string[] = [];
    for (const m of opts.models) {
      const label = modelLabel(m);
      const job: PageJob =
        m.kind === 'onnx'
          ? { kind: 'ort', name: m.id, url: `/models/${m.file}`, scale: m.scale, inputName: m.inputName, outputName: m.outputName, inputRange: m.inputRange, outputRange: m.outputRange, threads: 1 }
          : { kind: 'tfjs', name: label, url: `/upscaler/${m.name}/x${m.scale}/model.json`, scale: m.scale, range: upscalerModelInfo(m.name, m.scale).range, tile: opts.tile, overlap: opts.overlap };
      const runtime = m.kind === 'onnx' ? ORT_RUNTIME : tfjsRuntime(opts.tile);
      let r: PageResult;
      try {
        r = await page.evaluate(([j, i]) => window.srBench!.run(j, i), [job, imgs] as const);
      } catch (e) {
        const msg = `${label} x${m.scale}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
        log(`chromium ${msg}`);
        errors.push(msg);
        continue;
      }
      const ref = opts.nodeCheck.get(checkKey(label, m.scale));
      const out = Buffer.from(r.check.base64, 'base64');
      let maxAbsDiffVsNode: number | null = null;
      if (ref && ref.width === r.check.width && ref.height === r.check.height) {
        maxAbsDiffVsNode = maxAbsDiffPlain(new Uint8Array(out), ref.data);
        if (maxAbsDiffVsNode > MAX_CHECK_DIFF) errors.push(`${label} x${m.scale}: the Chromium output differs from the Node output by up to ${maxAbsDiffVsNode} levels (limit ${MAX_CHECK_DIFF})`);
      } else if (ref) errors.push(`${label} x${m.scale}: the check output is ${r.check.width}x${r.check.height} in Chromium, ${ref.width}x${ref.height} in Node`);
      const outputMegapixels = (opts.input.width * m.scale * opts.input.height * m.scale) / 1e6;
      const row: BrowserRow = {
        model: label,
        scale: m.scale,
        runtime,
        seconds: +r.seconds.toFixed(3),
        runs: r.runs,
        outputMegapixels,
        mpixPerSecond: +(outputMegapixels / r.seconds).toPrecision(4),
        maxAbsDiffVsNode,
      };
      rows.push(row);
      log(`${label} x${m.scale} ${runtime}: ${r.seconds.toFixed(2)} s, ${row.mpixPerSecond} MP/s, max |chromium - node| ${maxAbsDiffVsNode ?? '-'} on ${opts.check.width}x${opts.check.height}`);
    }
    return { chromium: browser.version(), crossOriginIsolated: ortInfo.crossOriginIsolated, ortWeb: ortInfo.version, tfjs, rows, errors };
  } finally {
    await browser?.close();
    await server.close();
  }
}
