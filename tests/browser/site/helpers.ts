/**
 * Shared helpers for the site's browser tests: serve the test models through a routed test-only
 * manifest, generate and decode PNGs, run the same model in onnxruntime-node for reference, and
 * record every network request so privacy can be asserted.
 */
import { expect, type BrowserContext, type Page, type Request } from '@playwright/test';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import * as ort from 'onnxruntime-node';
import { writeFixtures } from './onnx-fixtures';
import { nchwToRGBA, rgbaToNCHW } from '../../../lib/imaging';

export const FIXTURE_DIR = path.join(os.tmpdir(), `ganvas-site-fixtures-${process.pid}`);
let manifest: ReturnType<typeof writeFixtures> | null = null;

export function fixtures() {
  manifest ??= writeFixtures(FIXTURE_DIR);
  return { manifest, dir: FIXTURE_DIR, file: (f: string) => path.join(FIXTURE_DIR, f) };
}

/** Serves the test-only manifest and ONNX fixtures in place of public/models (for pages and the worker). */
export async function useTestModels(context: BrowserContext): Promise<void> {
  const fx = fixtures();
  await context.route('**/models/manifest.json', (r) => r.fulfill({ json: fx.manifest }));
  await context.route(/\/models\/test-[a-z0-9-]+\.onnx(\?.*)?$/, (r) => {
    const name = new URL(r.request().url()).pathname.split('/').pop()!;
    const f = fx.file(name);
    return existsSync(f) ? r.fulfill({ path: f, contentType: 'application/octet-stream' }) : r.fulfill({ status: 404 });
  });
}

export function makePng(w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      const i = (y * w + x) * 4;
      png.data[i] = r;
      png.data[i + 1] = g;
      png.data[i + 2] = b;
      png.data[i + 3] = 255;
    }
  return PNG.sync.write(png);
}

/** A PNG with an alpha channel: `pixel` gives [r, g, b, a]. */
export function rgbaPng(w: number, h: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) png.data.set(pixel(x, y), (y * w + x) * 4);
  return PNG.sync.write(png);
}

/** Collects console errors, uncaught page errors and failed (>= 400) responses of a page. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
  return errors;
}

/** Downloads the current result through the page's Download button and decodes it. */
export async function downloadResult(page: Page): Promise<{ name: string; width: number; height: number; data: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
  return { name: download.suggestedFilename(), ...decodePng(readFileSync(await download.path())) };
}

/** A deterministic, photo-like test pattern (smooth gradients plus texture). */
export function patternPng(w: number, h: number): Buffer {
  return makePng(w, h, (x, y) => [
    Math.round(128 + 100 * Math.sin(x / 13) * Math.cos(y / 17)),
    Math.round(((x + y) * 255) / (w + h)),
    Math.round(128 + 60 * Math.sin((x * y) / 300) + 40 * Math.sin(x / 3)),
  ]);
}

export function decodePng(buf: Buffer): { width: number; height: number; data: Uint8Array } {
  const p = PNG.sync.read(buf);
  return { width: p.width, height: p.height, data: p.data };
}

/** Runs a fixture model on an RGBA image in onnxruntime-node (whole image, no tiling). */
export async function ortNodeRun(model: string, img: { width: number; height: number; data: Uint8Array }): Promise<Uint8ClampedArray> {
  const fx = fixtures();
  const entry = fx.manifest.models.find((m) => m.file === model)!;
  const s = await ort.InferenceSession.create(readFileSync(fx.file(model)));
  const { width: w, height: h } = img;
  const x = new ort.Tensor('float32', rgbaToNCHW(img.data, w, h, entry.input.range as [number, number]), [1, 3, h, w]);
  const y = (await s.run({ [s.inputNames[0]]: x }))[s.outputNames[0]];
  const [, , oh, ow] = y.dims as number[];
  await s.release();
  return nchwToRGBA(y.data as Float32Array, ow, oh, entry.output.range as [number, number]);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface Recorded {
  url: string;
  method: string;
  bytes: number;
  type: string;
}

/** Records every request the pages and workers of this context make. */
export function recordRequests(context: BrowserContext): Recorded[] {
  const log: Recorded[] = [];
  context.on('request', (r: Request) => log.push({ url: r.url(), method: r.method(), bytes: r.postDataBuffer()?.length ?? 0, type: r.resourceType() }));
  return log;
}

const ALLOWED = [/^\/_next\//, /^\/ort\//, /^\/models\//, /^\/thumbs\//, /^\/favicon\.ico$/, /^\/sw\.js$/, /^\/(translate|upscale|webcam|models)?$/];

/** No request may leave the origin, carry a body, or go anywhere but the site's pages, static assets and models. */
export function expectNoImageLeak(log: Recorded[], origin: string): void {
  expect(log.length).toBeGreaterThan(0);
  for (const r of log) {
    if (r.url.startsWith('blob:') || r.url.startsWith('data:')) continue;
    const u = new URL(r.url);
    expect(u.origin, `request to another origin: ${r.url}`).toBe(origin);
    expect(r.method, `non-GET request: ${r.method} ${r.url}`).toBe('GET');
    expect(r.bytes, `request with a body: ${r.url}`).toBe(0);
    expect(ALLOWED.some((re) => re.test(u.pathname)), `unexpected request: ${r.url}`).toBe(true);
    expect(u.search.length, `query string could carry data: ${r.url}`).toBeLessThan(64);
  }
}

export async function waitForBackend(page: Page, backend: 'wasm' | 'webgpu'): Promise<string> {
  await expect(page.getByTestId('backend-badge')).toHaveAttribute('data-backend', backend, { timeout: 60_000 });
  return (await page.getByTestId('backend-reason').textContent()) ?? '';
}

/** Debug screenshots of test states (test-results/screenshots/). The README's pictures come from site-screenshots.spec.ts. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.resolve('test-results/screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

export const HORSE = '/work/shared/datasets/cyclegan/horse2zebra/testA/001.jpeg';
