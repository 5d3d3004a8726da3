import { test, expect } from '@playwright/test';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expectNoImageLeak, fixtures, patternPng, recordRequests, screenshot, useTestModels, waitForBackend } from './site/helpers';
import { grayModel, srModel, translateModel } from './site/onnx-fixtures';

function tmpFile(name: string, bytes: Uint8Array): string {
  const dir = path.resolve('test-results/site-byo');
  mkdirSync(dir, { recursive: true });
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

test('models page: catalog cards, cache size and clear', async ({ page, context }) => {
  await useTestModels(context);
  await page.goto('/models');
  const n = fixtures().manifest.models.length;
  await expect(page.getByTestId('model-card')).toHaveCount(n);
  await expect(page.locator('[data-model-id="test-sr-x4"]')).toContainText('x4');
  await expect(page.getByTestId('cache-size')).toContainText('0 files');
  // using a model caches it
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'p.png', mimeType: 'image/png', buffer: patternPng(64, 64) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 60_000 });
  await page.goto('/models');
  await expect(page.getByTestId('cache-size')).toContainText('1 file');
  await page.getByRole('button', { name: 'Clear cache' }).click();
  await expect(page.getByTestId('cache-size')).toContainText('0 files');
  await screenshot(page, 'models');
});

test('bring your own ONNX: validated, usable in the tools, kept across reloads; bad models rejected with reasons', async ({ page, context, baseURL }) => {
  const log = recordRequests(context);
  await context.route('**/models/manifest.json', (r) => r.fulfill({ json: { version: 1, models: [] } }));
  await page.goto('/models');
  await waitForBackend(page, 'wasm');
  await expect(page.getByText('No models are shipped yet')).toBeVisible();

  // corrupt file
  await page.getByTestId('byo-file').setInputFiles(tmpFile('corrupt.onnx', new Uint8Array(4000).map((_, i) => (i * 7919) % 251)));
  await page.getByTestId('byo-submit').click();
  await expect(page.getByTestId('byo-error')).toContainText('could not be loaded as an ONNX model');
  // contract violation: one channel
  await page.getByTestId('byo-file').setInputFiles(tmpFile('gray.onnx', grayModel()));
  await page.getByTestId('byo-submit').click();
  await expect(page.getByTestId('byo-error')).toContainText('1 channels, expected 3');
  // declared scale does not match what the model does (x4 model declared as x2)
  await page.getByTestId('byo-task').selectOption('super-resolution');
  await page.getByTestId('byo-scale').selectOption('2');
  await page.getByTestId('byo-file').setInputFiles(tmpFile('sr4.onnx', srModel(4)));
  await page.getByTestId('byo-submit').click();
  await expect(page.getByTestId('byo-error')).toContainText('with scale 2 it must give 1x3x64x64');
  await expect(page.getByTestId('model-card')).toHaveCount(0);

  // a good one
  await page.getByTestId('byo-task').selectOption('translation');
  await page.getByTestId('byo-file').setInputFiles(tmpFile('winter.onnx', translateModel()));
  await page.getByTestId('byo-name').fill('My winter');
  await page.getByTestId('byo-submit').click();
  await expect(page.getByTestId('byo-ok')).toContainText('Added "My winter"');
  await expect(page.locator('[data-model-id="byo-my-winter"]')).toBeVisible();
  await page.reload();
  await expect(page.locator('[data-model-id="byo-my-winter"]')).toBeVisible();

  await page.goto('/translate');
  await expect(page.getByTestId('model-select')).toHaveValue('byo-my-winter');
  await page.getByTestId('image-input').setInputFiles({ name: 'p.png', mimeType: 'image/png', buffer: patternPng(96, 64) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('My winter: 96×64', { timeout: 60_000 });
  expectNoImageLeak(log, baseURL!);
});
