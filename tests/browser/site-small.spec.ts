/**
 * Issue 15, point 3: pictures smaller than a model can take (a 1x4000 strip, a 3x3 icon) work
 * (padded, then cropped back), no message ever shows onnxruntime internals, and an error belongs
 * to the action that caused it (the next pick clears it).
 */
import { test, expect, type Page } from '@playwright/test';
import { downloadResult, makePng, patternPng, waitForBackend } from './site/helpers';

// onnxruntime internals seen in the issue (the footer's "onnxruntime-web" credit is fine)
const ORT_TEXT = /OrtRun|failed to call|Pad reflect|axis length|1x3x\d/;

async function runAndCheck(page: Page, name: string, png: Buffer, w: number, h: number, s: number) {
  await page.getByTestId('image-input').setInputFiles({ name, mimeType: 'image/png', buffer: png });
  await expect(page.getByTestId('picked')).toContainText(`${w}×${h}`);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info').or(page.getByTestId('error'))).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('error')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toHaveAttribute('data-source', name);
  const out = await downloadResult(page);
  expect([out.width, out.height]).toEqual([w * s, h * s]);
  // a real picture came back (not an empty canvas)
  expect(out.data.some((v, i) => i % 4 !== 3 && v > 0)).toBe(true);
}

test('translate (CycleGAN, reflection padding, multiple of 4): a 1x4000 strip and a 3x3 image give results', async ({ page }) => {
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await runAndCheck(page, 'strip.png', makePng(1, 4000, (_x, y) => [y % 256, 120, 255 - (y % 256)]), 1, 4000, 1);
  await runAndCheck(page, 'tiny.png', makePng(3, 3, (x, y) => [x * 80, y * 80, 128]), 3, 3, 1);
  await expect(page.locator('body')).not.toContainText(ORT_TEXT);
});

test('upscale x4: a 1x4000 strip and a 3x3 image give results', async ({ page }) => {
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('scale-select').selectOption('4');
  await runAndCheck(page, 'strip.png', makePng(4000, 1, (x) => [x % 256, 60, 200]), 4000, 1, 4);
  await runAndCheck(page, 'tiny.png', makePng(3, 3, (x, y) => [x * 80, y * 80, 128]), 3, 3, 4);
  await expect(page.locator('body')).not.toContainText(ORT_TEXT);
});

test('a failed run says what happened in plain words, and the next pick clears it (one error at a time)', async ({ page, context }) => {
  // the model file cannot be downloaded: the message names the model, not the runtime
  await context.route(/\/models\/cyclegan-[a-z0-9-]+\.onnx/, (r) => r.fulfill({ status: 503, body: 'down' }));
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'a.png', mimeType: 'image/png', buffer: patternPng(64, 64) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('error')).toContainText('could not be downloaded', { timeout: 60_000 });
  await expect(page.getByTestId('error')).not.toContainText(ORT_TEXT);
  // a bad pick: its own message replaces the run's; never two red boxes
  await page.getByTestId('image-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
  await expect(page.getByTestId('pick-error')).toContainText('is not an image');
  await expect(page.getByTestId('error')).toHaveCount(0);
  await expect(page.locator('[role=alert][data-testid]')).toHaveCount(1);
  // a good pick clears the pick error too
  await page.getByTestId('image-input').setInputFiles({ name: 'b.png', mimeType: 'image/png', buffer: patternPng(32, 32) });
  await expect(page.getByTestId('picked')).toContainText('b.png');
  await expect(page.locator('[role=alert][data-testid]')).toHaveCount(0);
});
