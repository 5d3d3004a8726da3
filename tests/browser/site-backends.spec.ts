import { test, expect, chromium } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { decodePng, maxAbsDiff, ortNodeRun, patternPng, useTestModels, waitForBackend } from './site/helpers';

test('WebGPU path (SwiftShader, 64x64): forced by ?backend=webgpu, badge says so, output matches onnxruntime-node', async ({ page, context }) => {
  test.setTimeout(240_000);
  await useTestModels(context);
  await page.goto('/translate?backend=webgpu');
  const reason = await waitForBackend(page, 'webgpu');
  expect(reason).toContain('WebGPU (forced)');
  const png = patternPng(64, 64);
  await page.getByTestId('image-input').setInputFiles({ name: 'tiny.png', mimeType: 'image/png', buffer: png });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('64×64', { timeout: 200_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
  const got = decodePng(readFileSync(await download.path()));
  const diff = maxAbsDiff(got.data, await ortNodeRun('test-translate.onnx', decodePng(png)));
  console.log(`WebGPU vs onnxruntime-node max |diff| = ${diff}/255`);
  expect(diff).toBeLessThanOrEqual(2);
});

test('forced WASM: ?backend=wasm and the settings switch both say why', async ({ page, context }) => {
  await useTestModels(context);
  await page.goto('/translate?backend=wasm');
  expect(await waitForBackend(page, 'wasm')).toContain('forced');
  await expect(page.getByTestId('backend-reason')).toContainText('?backend=');
  await page.goto('/translate');
  await page.getByLabel('Inference backend').selectOption('wasm');
  await expect(page.getByTestId('backend-reason')).toContainText('WASM: forced by your setting');
  await page.reload();
  await expect(page.getByTestId('backend-reason')).toContainText('WASM: forced by your setting'); // persisted
  await page.getByLabel('Inference backend').selectOption('auto');
  await expect(page.getByTestId('backend-reason')).toContainText(/software fallback|WebGPU unavailable/);
});

test('no WebGPU in the browser: falls back to WASM and says why', async ({ baseURL }) => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-webgpu', '--disable-gpu'] });
  try {
    const context = await browser.newContext({ baseURL, serviceWorkers: 'block' });
    await useTestModels(context);
    const page = await context.newPage();
    await page.goto('/translate?backend=webgpu');
    const reason = await waitForBackend(page, 'wasm');
    expect(reason).toMatch(/WebGPU unavailable: (no adapter|this browser has no navigator\.gpu)/);
    await page.getByTestId('image-input').setInputFiles({ name: 'p.png', mimeType: 'image/png', buffer: patternPng(32, 32) });
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toContainText('32×32', { timeout: 60_000 });
  } finally {
    await browser.close();
  }
});
