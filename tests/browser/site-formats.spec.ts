/**
 * Issue 15, point 4: honest messages at pick time. An SVG is drawn at its own size (or refused in
 * words when it has none), an animated GIF says only its first frame is used, and a picture whose
 * result would not fit the browser is told so when it is picked, with the largest scale that fits.
 */
import { test, expect } from '@playwright/test';
import sharp from 'sharp';
import { waitForBackend } from './site/helpers';

const SVG = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80"><rect width="120" height="80" fill="#0284c7"/><circle cx="60" cy="40" r="25" fill="#fff"/></svg>`;

test('SVG: a drawing with a size is used at that size and runs; one without a size is refused in words', async ({ page }) => {
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(SVG) });
  await expect(page.getByTestId('picked')).toContainText('logo.png: 120×80');
  await expect(page.getByTestId('pick-note')).toContainText('SVG drawing: used as a 120×80 picture');
  await expect(page.getByTestId('pick-error')).toHaveCount(0);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('120×80', { timeout: 120_000 });

  const noSize = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>';
  await page.getByTestId('image-input').setInputFiles({ name: 'nosize.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(noSize) });
  // either drawn at the browser's default SVG size or refused with a reason: never "corrupt"
  await expect(page.getByTestId('pick-error').or(page.getByTestId('pick-note'))).toContainText(/SVG drawing/);
  await expect(page.locator('body')).not.toContainText('corrupt');
});

test('animated GIF: says only the first frame is used', async ({ page }) => {
  const w = 48, h = 32, n = 3;
  const raw = Buffer.alloc(w * h * n * 4);
  for (let i = 0; i < raw.length; i += 4) {
    const f = Math.floor(i / (w * h * 4));
    raw.set([f * 100, 80, 255 - f * 100, 255], i);
  }
  const gif = await sharp(raw, { raw: { width: w, height: h * n, channels: 4, pageHeight: h } }).gif({ loop: 0, delay: [100, 100, 100] }).toBuffer();
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'anim.gif', mimeType: 'image/gif', buffer: gif });
  await expect(page.getByTestId('picked')).toContainText('anim.gif: 48×32');
  await expect(page.getByTestId('pick-note')).toContainText('Animated GIF (3 frames): only the first frame is used.');
  // a still GIF says nothing
  const still = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#808080' } }).gif().toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'still.gif', mimeType: 'image/gif', buffer: still });
  await expect(page.getByTestId('picked')).toContainText('still.gif: 20×20');
  await expect(page.getByTestId('pick-note')).toHaveCount(0);
});

test('too large for the chosen scale: said at pick time with the largest scale that fits, or that none does', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('scale-select').selectOption('4');
  // 54 MP: x4 would be 36000x24000 (over 32767 px per side); x2 (18000x12000, 216 MP) fits
  const big = await sharp({ create: { width: 9000, height: 6000, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png({ compressionLevel: 1 }).toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: big });
  await expect(page.getByTestId('picked')).toContainText('9000×6000', { timeout: 120_000 });
  await expect(page.getByTestId('size-error')).toContainText('At x4 the result would be 36000×24000');
  await expect(page.getByTestId('size-error')).toContainText('x2 fits (18000×12000)');
  await expect(page.getByTestId('run')).toBeDisabled();
  await page.getByTestId('use-fallback-scale').click();
  await expect(page.getByTestId('scale-select')).toHaveValue('2');
  await expect(page.getByTestId('size-error')).toHaveCount(0);
  await expect(page.getByTestId('picked')).toContainText('→ 18000×12000');
  await expect(page.getByTestId('run')).toBeEnabled();

  // 108 MP: no scale offered fits; said before any work, with the size that would
  const huge = await sharp({ create: { width: 12000, height: 9000, channels: 3, background: { r: 20, g: 90, b: 40 } } }).png({ compressionLevel: 1 }).toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: huge });
  await expect(page.getByTestId('picked')).toContainText('12000×9000', { timeout: 120_000 });
  await expect(page.getByTestId('size-error')).toContainText('At x2 the result would be 24000×18000');
  await expect(page.getByTestId('size-error')).toContainText('No scale offered here fits: shrink the picture to at most');
  await expect(page.getByTestId('use-fallback-scale')).toHaveCount(0);
  await expect(page.getByTestId('picked')).not.toContainText('→');
  await expect(page.getByTestId('run')).toBeDisabled();
});
