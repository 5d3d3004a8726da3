import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { decodePng, expectNoImageLeak, maxAbsDiff, ortNodeRun, patternPng, recordRequests, screenshot, useTestModels, waitForBackend } from './site/helpers';

test('translate: upload, run in the worker (WASM), download PNG equal to onnxruntime-node within 1/255', async ({ page, context, baseURL }) => {
  const log = recordRequests(context);
  await useTestModels(context);
  await page.goto('/translate');
  const reason = await waitForBackend(page, 'wasm');
  expect(reason).toMatch(/WebGPU|WASM/);

  const W = 200, H = 152; // multiples of the model's multipleOf (4): no padding, so the whole-image reference is exact
  const png = patternPng(W, H);
  await page.getByTestId('image-input').setInputFiles({ name: 'pattern.png', mimeType: 'image/png', buffer: png });
  await expect(page.getByTestId('picked')).toContainText(`${W}×${H}`);
  await expect(page.getByTestId('model-select')).toHaveValue('test-photo2winter');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText(`${W}×${H}`, { timeout: 60_000 });

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
  expect(download.suggestedFilename()).toBe('pattern-test-photo2winter.png');
  const got = decodePng(readFileSync(await download.path()));
  expect([got.width, got.height]).toEqual([W, H]);
  const want = await ortNodeRun('test-translate.onnx', decodePng(png));
  // same float32 graph in ORT-web WASM vs ORT-node CPU; 8-bit rounding of tiny float differences can flip by one level
  expect(maxAbsDiff(got.data, want)).toBeLessThanOrEqual(1);

  expectNoImageLeak(log, baseURL!);
});

test('translate: a 12 MP photo is processed in tiles at full size', async ({ page, context }) => {
  test.setTimeout(300_000);
  await useTestModels(context);
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  const sharp = (await import('sharp')).default;
  const big = await sharp(readFileSync('/work/shared/datasets/cyclegan/horse2zebra/testA/001.jpeg')).resize(4000, 3000).jpeg({ quality: 85 }).toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'phone.jpg', mimeType: 'image/jpeg', buffer: big });
  await expect(page.getByTestId('picked')).toContainText('4000×3000');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('progress-text')).toContainText(/Tile \d+ of \d+/, { timeout: 60_000 });
  await expect(page.getByTestId('result-info')).toContainText('4000×3000', { timeout: 240_000 });
  await expect(page.getByTestId('result-info')).toContainText(/\d+ tiles/);
  await screenshot(page, 'translate');
  // responsive + dark mode
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(page.getByRole('navigation', { name: 'Tools' })).toBeVisible();
  await screenshot(page, 'translate-phone-dark');
});
