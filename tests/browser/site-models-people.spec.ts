/**
 * Issue 15, point 6: the Models page for people, on a phone (390x844) with the shipped catalog:
 * the bring-your-own form is reachable from the top, cards lead with what a model does, a
 * before/after thumbnail and plain-language numbers, jargon is folded away; re-adding a model
 * under a taken name asks before replacing; a user's upscaler is filed under the kind they choose;
 * model names read once in dropdowns.
 */
import { test, expect } from '@playwright/test';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseManifest } from '../../lib/contract/manifest';
import { waitForBackend } from './site/helpers';
import { srModel, translateModel } from './site/onnx-fixtures';

const shipped = parseManifest(JSON.parse(readFileSync(path.resolve('public/models/manifest.json'), 'utf8'))).models;

function tmpFile(name: string, bytes: Uint8Array): string {
  const dir = path.resolve('test-results/site-models-people');
  mkdirSync(dir, { recursive: true });
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

test('phone: bring-your-own reachable from the top, cards in plain words with thumbnails, details folded', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/models');
  await expect(page.getByTestId('model-card')).toHaveCount(shipped.length);
  // the way to the form is on the first screen, above every card
  const jump = (await page.getByTestId('byo-jump').boundingBox())!;
  expect(jump.y + jump.height).toBeLessThanOrEqual(844);
  const firstCard = (await page.getByTestId('model-card').first().boundingBox())!;
  expect(jump.y).toBeLessThan(firstCard.y);
  await page.getByTestId('byo-jump').click();
  await expect.poll(async () => (await page.locator('#byo').boundingBox())!.y).toBeLessThan(844 / 2);
  await expect(page.getByTestId('byo-file')).toBeInViewport();

  // every shipped model: what it does, a loaded before/after thumbnail, numbers in words, jargon folded
  for (const m of shipped) {
    const card = page.locator(`[data-model-id="${m.id}"]`);
    await expect(card.getByTestId('model-what')).toContainText(m.task === 'translation' ? /^Turns .+ into .+/ : `Makes pictures ${m.scale}× larger`);
    const thumb = card.getByTestId('model-thumb');
    await thumb.scrollIntoViewIfNeeded();
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(258);
    await expect(card.getByTestId('model-details')).not.toHaveAttribute('open');
    const visible = await card.evaluate((el) => (el as HTMLElement).innerText);
    for (const jargon of ['psnrY', 'GMACs', 'secondsPerImage', 'msPer256']) expect(visible, m.id).not.toContain(jargon);
  }
  const x2 = shipped.find((m) => m.id === 'sr-realtime-x2');
  if (x2) {
    const bicubic = 30.23; // Set14 x2, plain bicubic (docs/sr-results.md)
    const gain = x2.quality.find((q) => q.dataset === 'Set14')!.metrics.psnrY! - bicubic;
    await expect(page.locator('[data-model-id="sr-realtime-x2"]').getByTestId('model-numbers')).toContainText(`Sharper than plain resizing by ${gain.toFixed(1)} dB on standard test photos`);
  }
  // photo tier: its number on JPEG input (what it is for), from the manifest
  for (const m of shipped.filter((e) => e.tier === 'photo')) {
    const jpeg = m.quality.find((q) => q.dataset === 'Set14')?.metrics.psnrYJpeg60;
    if (jpeg === undefined) continue;
    const gain = jpeg - ({ 2: 28.53, 4: 25.02 } as Record<number, number>)[m.scale]!;
    const card = page.locator(`[data-model-id="${m.id}"]`);
    await expect(card.getByTestId('model-what')).toContainText('Removes JPEG blocks and noise');
    await expect(card.getByTestId('model-numbers')).toContainText(`On JPEG photos (quality 60): ${gain.toFixed(1)} dB closer to the original than plain resizing.`);
  }
  // numbers are still there for whoever unfolds them
  const card = page.getByTestId('model-card').first();
  await card.getByText('Technical details').click();
  await expect(card.getByTestId('model-details')).toHaveAttribute('open');
  // far shorter than the ~6,300 px the issue measured
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  console.log(`models page at 390x844: ${height} px tall with ${shipped.length} models`);
  // The issue measured ~6,300 px for 11 models (~570 px a model); cards in plain words with details folded keep it under 420.
  expect(height / shipped.length).toBeLessThan(420);
});

test('dropdowns name each model once (no "real-time ... · real-time")', async ({ page }) => {
  for (const route of ['/translate', '/upscale', '/webcam']) {
    await page.goto(route);
    await expect(page.getByTestId('model-select').locator('option').first()).toBeAttached();
    for (const text of await page.getByTestId('model-select').locator('option').allTextContents()) {
      for (const word of ['real-time', 'quality', 'photo']) expect(text.toLowerCase().split(word).length - 1, `${route}: "${text}"`).toBeLessThanOrEqual(1);
    }
  }
});

test('your own models: a taken name asks before replacing; an upscaler is filed under the kind you choose', async ({ page }) => {
  const slow = { timeout: 60_000 }; // validating loads the model into the runtime: seconds on a busy 2-core machine
  await page.goto('/models');
  await waitForBackend(page, 'wasm');
  const mine = tmpFile('mine.onnx', translateModel());
  const addTranslation = async () => {
    await page.getByTestId('byo-task').selectOption('translation');
    await page.getByTestId('byo-file').setInputFiles(mine);
    await page.getByTestId('byo-name').fill('Mine');
    await page.getByTestId('byo-submit').click();
  };
  await addTranslation();
  await expect(page.getByTestId('byo-ok')).toContainText('Added "Mine"', slow);
  await expect(page.locator('[data-model-id="byo-mine"]')).toHaveCount(1);

  // same name again: asked, and "keep" changes nothing
  await addTranslation();
  await expect(page.getByTestId('byo-replace-confirm')).toContainText('You already have a model named "Mine". Replace it', slow);
  await expect(page.getByTestId('byo-ok')).toHaveCount(0);
  await page.getByTestId('byo-replace-no').click();
  await expect(page.getByTestId('byo-ok')).toContainText('Not added');
  await expect(page.locator('[data-model-id="byo-mine"]')).toHaveCount(1);
  // asked again, and replaced when confirmed
  await addTranslation();
  await page.getByTestId('byo-replace-yes').click(slow);
  await expect(page.getByTestId('byo-ok')).toContainText('Replaced "Mine"', slow);
  await expect(page.locator('[data-model-id="byo-mine"]')).toHaveCount(1);

  // an x2 upscaler: not filed anywhere until the person says which kind it is
  await page.getByTestId('byo-task').selectOption('super-resolution');
  await page.getByTestId('byo-scale').selectOption('2');
  await page.getByTestId('byo-file').setInputFiles(tmpFile('sr2.onnx', srModel(2)));
  await page.getByTestId('byo-name').fill('My phone x2');
  await page.getByTestId('byo-submit').click();
  await expect(page.getByTestId('byo-error')).toContainText('Choose which kind of pictures this upscaler is for', slow);
  await expect(page.locator('[data-model-id="byo-my-phone-x2"]')).toHaveCount(0);
  await page.getByTestId('byo-kind').selectOption('photo');
  await page.getByTestId('byo-submit').click();
  await expect(page.getByTestId('byo-ok')).toContainText('Upscale (x2, Photo (JPEG, noise))', slow);

  await page.goto('/upscale');
  await page.getByTestId('scale-select').selectOption('2');
  await page.getByTestId('kind-photo').check();
  const options = page.getByTestId('model-select').locator('option');
  const shippedPhotoX2 = shipped.filter((m) => m.task === 'super-resolution' && m.scale === 2 && m.tier === 'photo').length;
  await expect(options).toHaveCount(shippedPhotoX2 + 1);
  await expect(options.filter({ hasText: 'My phone x2 (yours)' })).toHaveCount(1);
  await page.getByTestId('kind-clean').check();
  await expect(page.getByTestId('model-select').locator('option', { hasText: 'My phone x2' })).toHaveCount(0);
});
