import { test, expect, chromium, type Browser } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM_ARGS } from '../../playwright.config';
import { decodePng, expectNoImageLeak, HORSE, recordRequests, screenshot, useTestModels, waitForBackend } from './site/helpers';
import { writeY4m } from './site/y4m';

const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let cam: Browser;

test.beforeAll(async () => {
  const y4m = await writeY4m(HORSE, path.resolve('test-results/site-cam/horse.y4m'));
  cam = await chromium.launch({
    executablePath: exe,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
});
test.afterAll(async () => cam?.close());

test('webcam: fake camera frames are translated live, FPS shown, snapshot PNG, mirror toggle', async ({ baseURL }) => {
  const context = await cam.newContext({ baseURL, acceptDownloads: true, serviceWorkers: 'block' });
  const log = recordRequests(context);
  await useTestModels(context);
  const page = await context.newPage();
  await page.goto('/webcam');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('res-select').selectOption('256');
  await page.getByTestId('cam-start').click();
  await expect(page.getByTestId('frames')).toHaveAttribute('data-frames', /^([5-9]|\d\d+)$/, { timeout: 60_000 });
  const fps = Number(await page.getByTestId('fps').getAttribute('data-fps'));
  console.log(`webcam 256x256 test model on WASM: ${fps.toFixed(1)} fps, ${await page.getByTestId('latency').textContent()}`);
  expect(fps).toBeGreaterThan(0);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('cam-snapshot').click()]);
  const snap = decodePng(readFileSync(await download.path()));
  expect([snap.width, snap.height]).toEqual([256, 256]);
  // a translated horse photo, not a blank canvas
  let min = 255, max = 0;
  for (let i = 0; i < snap.data.length; i += 4) {
    min = Math.min(min, snap.data[i + 1]);
    max = Math.max(max, snap.data[i + 1]);
  }
  expect(max - min).toBeGreaterThan(60);
  await page.getByTestId('mirror').uncheck();
  await screenshot(page, 'webcam');
  await page.getByTestId('cam-stop').click();
  await expect(page.getByTestId('cam-start')).toBeVisible();
  expectNoImageLeak(log, baseURL!);
  await context.close();
});

test('webcam on WebGPU (SwiftShader, 128x128): frames uploaded and translated on the GPU match the WASM path', async ({ baseURL }) => {
  test.setTimeout(240_000);
  const snaps: Record<string, Uint8Array> = {};
  for (const backend of ['wasm', 'webgpu'] as const) {
    const context = await cam.newContext({ baseURL, acceptDownloads: true, serviceWorkers: 'block' });
    await useTestModels(context);
    const page = await context.newPage();
    await page.goto(`/webcam?backend=${backend}`);
    await waitForBackend(page, backend);
    await page.getByTestId('res-select').selectOption('128');
    await page.getByTestId('cam-start').click();
    await expect(page.getByTestId('frames')).toHaveAttribute('data-frames', /^([2-9]|\d\d+)$/, { timeout: 180_000 });
    const pathText = (await page.getByTestId('cam-path').textContent()) ?? '';
    console.log(`webcam ${backend} path: ${pathText}`);
    if (backend === 'webgpu') {
      expect(pathText).toContain('frames uploaded on the GPU');
      // Headless Chromium on SwiftShader loses its WebGPU instance when a worker presents a WebGPU canvas; the page says so and reads the output back.
      expect(pathText).toMatch(/output stays on the GPU|software adapter: frames are read back/);
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('cam-snapshot').click()]);
    snaps[backend] = decodePng(readFileSync(await download.path())).data;
    await page.getByTestId('cam-stop').click();
    await context.close();
  }
  // the fake camera loops identical frames, so both paths translate the same pixels
  let max = 0;
  for (let i = 0; i < snaps.wasm.length; i++) max = Math.max(max, Math.abs(snaps.wasm[i] - snaps.webgpu[i]));
  console.log(`webcam WebGPU (GPU upload + WebGPU EP) vs WASM snapshot max |diff| = ${max}/255`);
  expect(max).toBeLessThanOrEqual(2);
});
