import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { decodePng, expectNoImageLeak, maxAbsDiff, ortNodeRun, patternPng, recordRequests, screenshot, useTestModels, waitForBackend } from './site/helpers';

test('upscale x4: tiled result matches a whole-image onnxruntime-node run (max diff <= 2/255); cancel and model switch keep the result', async ({ page, context, baseURL }) => {
  test.setTimeout(300_000);
  const log = recordRequests(context);
  await useTestModels(context);
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await expect(page.getByTestId('scale-select')).toHaveValue('4');

  // 480x360 with 128px tiles and 16px overlap: a 5x4 grid of tiles, 1920x1440 output
  const W = 480, H = 360;
  const png = patternPng(W, H);
  await page.getByTestId('image-input').setInputFiles({ name: 'large.png', mimeType: 'image/png', buffer: png });
  await expect(page.getByTestId('picked')).toContainText(`${W}×${H} `);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('progress-text')).toContainText(/Tile \d+ of 20/, { timeout: 60_000 });
  await expect(page.getByTestId('result-info')).toContainText('1920×1440', { timeout: 120_000 });
  await expect(page.getByTestId('result-info')).toContainText('20 tiles');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
  const got = decodePng(readFileSync(await download.path()));
  expect([got.width, got.height]).toEqual([W * 4, H * 4]);
  const whole = await ortNodeRun('test-sr-x4.onnx', decodePng(png));
  const diff = maxAbsDiff(got.data, whole);
  console.log(`upscale x4 tiled vs whole-image max |diff| = ${diff}/255`);
  expect(diff).toBeLessThanOrEqual(2);
  await page.getByRole('button', { name: '200%' }).click();
  await expect(page.getByRole('button', { name: '200%' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Fit' }).click();
  await screenshot(page, 'upscale');

  // Cancel mid-run: a 1600x1200 image is ~150 tiles; cancel after a few
  const big = patternPng(1600, 1200);
  await page.getByTestId('image-input').setInputFiles({ name: 'bigger.png', mimeType: 'image/png', buffer: big });
  // Wait until the new picture is decoded and picked: a click before that would re-run the previous one.
  await expect(page.getByTestId('picked')).toContainText('1600×1200');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('progress-text')).toContainText(/Tile [3-9]\d* of \d+/, { timeout: 60_000 });
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('progress')).toHaveCount(0);
  await expect(page.getByTestId('notice')).toContainText('Cancelled');
  await expect(page.getByTestId('result-info')).toContainText('1920×1440'); // previous result kept
  // the worker is free again within one tile: a small job right after completes
  await page.getByTestId('image-input').setInputFiles({ name: 'small.png', mimeType: 'image/png', buffer: patternPng(64, 48) });
  await expect(page.getByTestId('picked')).toContainText('64×48');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('256×192', { timeout: 30_000 });
  console.log(`cancel -> next small job done in ${Date.now() - t0} ms`);

  // Switching the model mid-run stops the run with a message; the result stays
  await page.getByTestId('image-input').setInputFiles({ name: 'bigger.png', mimeType: 'image/png', buffer: big });
  // Wait until the new picture is decoded and picked: a click before that would re-run the previous one.
  await expect(page.getByTestId('picked')).toContainText('1600×1200');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('progress-text')).toContainText(/Tile \d+ of \d+/, { timeout: 60_000 });
  await page.getByTestId('scale-select').selectOption('2');
  await expect(page.getByTestId('notice')).toContainText('Stopped: you switched to "Test SR x2"');
  await expect(page.getByTestId('progress')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText('256×192');
  await expect(page.getByTestId('picked')).toContainText('1600×1200');

  expectNoImageLeak(log, baseURL!);
});

test('upscale x4 of a 2000x1500 image: 8000x6000 assembled from tiles without crashing, downloadable', async ({ page, context }) => {
  test.setTimeout(420_000);
  await useTestModels(context);
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  const sharp = (await import('sharp')).default;
  const src = await sharp('/work/shared/datasets/cyclegan/horse2zebra/testA/001.jpeg').resize(2000, 1500).png({ compressionLevel: 1 }).toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: src });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('8000×6000', { timeout: 360_000 });
  const crashed = await page.evaluate(() => document.visibilityState); // the page still answers
  expect(crashed).toBe('visible');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('download').click()]);
  const head = readFileSync(await download.path()).subarray(0, 24);
  expect([head.readUInt32BE(16), head.readUInt32BE(20)]).toEqual([8000, 6000]); // PNG IHDR width, height
  console.log(`2000x1500 -> 8000x6000: ${await page.getByTestId('result-info').textContent()}`);
});
