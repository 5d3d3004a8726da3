/**
 * Issue 15, point 1: transparency survives Translate and Upscale (real site, shipped models, WASM).
 * The downloaded PNG is transparent exactly where the input was, opaque where it was opaque, and
 * half-transparent pixels stay half-transparent (alpha resized with the picture for Upscale).
 */
import { test, expect, type Page } from '@playwright/test';
import { downloadResult, rgbaPng, waitForBackend } from './site/helpers';

// a "logo": transparent background, an opaque disc, a half-transparent band at the bottom
const W = 96, H = 72;
function logoAlpha(x: number, y: number): number {
  if ((x - 40) ** 2 + (y - 30) ** 2 < 22 ** 2) return 255;
  if (y >= 60 && y < 66) return 128;
  return 0;
}
const LOGO = rgbaPng(W, H, (x, y) => [200 - x, 60 + y, (x * y) % 255, logoAlpha(x, y)]);

async function pickLogo(page: Page) {
  await page.getByTestId('image-input').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: LOGO });
  await expect(page.getByTestId('picked')).toContainText('transparent areas are kept');
}

/** Every output pixel whose source pixel (and its neighbours) is fully transparent / opaque / half keeps that alpha. */
function checkAlpha(out: { width: number; height: number; data: Uint8Array }, s: number) {
  expect([out.width, out.height]).toEqual([W * s, H * s]);
  let transparent = 0, opaque = 0, half = 0;
  const bad: string[] = [];
  for (let Y = 0; Y < out.height; Y++)
    for (let X = 0; X < out.width; X++) {
      const x = Math.floor(X / s), y = Math.floor(Y / s);
      const around = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => logoAlpha(Math.min(W - 1, Math.max(0, x + dx)), Math.min(H - 1, Math.max(0, y + dy)))));
      const a = out.data[(Y * out.width + X) * 4 + 3];
      if (around.every((v) => v === 0)) {
        if (a !== 0) bad.push(`${X},${Y}: alpha ${a}, want 0`);
        transparent++;
      } else if (around.every((v) => v === 255)) {
        if (a !== 255) bad.push(`${X},${Y}: alpha ${a}, want 255`);
        opaque++;
      } else if (around.every((v) => v === 128)) {
        if (Math.abs(a - 128) > 1) bad.push(`${X},${Y}: alpha ${a}, want 128`);
        half++;
      }
    }
  expect(bad.slice(0, 5), `${bad.length} pixels with the wrong alpha`).toEqual([]);
  expect(transparent).toBeGreaterThan(1000);
  expect(opaque).toBeGreaterThan(1000);
  expect(half).toBeGreaterThan(100);
}

test('translate keeps the transparency of a PNG logo (same size)', async ({ page }) => {
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await pickLogo(page);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('transparency kept', { timeout: 120_000 });
  const out = await downloadResult(page);
  checkAlpha(out, 1);
  // the visible pixels were really translated (not a copy of the input)
  const inPx = (40 + 30 * W) * 4;
  expect(Array.from(out.data.subarray(inPx, inPx + 3))).not.toEqual([200 - 40, 60 + 30, (40 * 30) % 255]);
});

test('upscale x2 keeps the transparency of a PNG logo (alpha upscaled with the picture)', async ({ page }) => {
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('scale-select').selectOption('2');
  await pickLogo(page);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('transparency kept', { timeout: 120_000 });
  // shown on a checkerboard
  await expect(page.getByTestId('compare-stage')).toHaveClass(/checkerboard/);
  const out = await downloadResult(page);
  checkAlpha(out, 2);
});

test('a huge PNG (42 MP) is checked for transparency at pick time too (on a smoothed copy)', async ({ page }) => {
  const sharp = (await import('sharp')).default;
  const W = 7000, H = 6000;
  // dest-out cuts where the overlay is opaque: a 64x64 fully transparent hole in an opaque picture
  const hole = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
  const base = () => sharp({ create: { width: W, height: H, channels: 4, background: { r: 30, g: 120, b: 200, alpha: 1 } } });
  const withHole = await base().composite([{ input: hole, left: 3000, top: 2500, blend: 'dest-out' }]).png({ compressionLevel: 1 }).toBuffer();
  const opaque = await base().png({ compressionLevel: 1 }).toBuffer();
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'huge-logo.png', mimeType: 'image/png', buffer: withHole });
  await expect(page.getByTestId('picked')).toContainText('7000', { timeout: 60_000 });
  await expect(page.getByTestId('picked')).toContainText('transparent areas are kept');
  await page.getByTestId('image-input').setInputFiles({ name: 'huge-opaque.png', mimeType: 'image/png', buffer: opaque });
  await expect(page.getByTestId('picked')).toContainText('huge-opaque', { timeout: 60_000 });
  await expect(page.getByTestId('picked')).not.toContainText('transparent');
});
