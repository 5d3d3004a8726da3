/**
 * Issue 14, point 4 (site): Upscale offers "Photo (JPEG, noise)" and "Clean", each with a one-line
 * explanation, mapped from the manifest's tier (photo = Photo, every other tier = Clean). A JPEG
 * preselects Photo; where no photo model exists at a scale the page says so and uses Clean.
 * Works with whatever the shipped manifest lists.
 */
import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { parseManifest } from '../../lib/contract/manifest';
import { patternPng } from './site/helpers';

const sr = parseManifest(JSON.parse(readFileSync(path.resolve('public/models/manifest.json'), 'utf8'))).models.filter((m) => m.task === 'super-resolution');
const scales = [...new Set(sr.map((m) => m.scale))].sort();
const photoAt = (s: number) => sr.filter((m) => m.scale === s && m.tier === 'photo');
const cleanAt = (s: number) => sr.filter((m) => m.scale === s && m.tier !== 'photo');
const names = (ms: { name: string }[]) => ms.map((m) => m.name).sort();
const options = async (page: Page) => (await page.getByTestId('model-select').locator('option').allTextContents()).sort();

test('two kinds with explanations; a JPEG preselects Photo; a scale without a photo model says so and uses Clean', async ({ page }) => {
  await page.goto('/upscale');
  await expect(page.getByTestId('kind')).toContainText('Photo (JPEG, noise)');
  await expect(page.getByTestId('kind')).toContainText('Clean');
  await expect(page.getByTestId('kind')).toContainText('For phone photos, JPEGs and scans');
  await expect(page.getByTestId('kind')).toContainText('For clean pictures');

  // a PNG: Clean, listing exactly the non-photo models of the scale
  const s0 = scales.includes(4) ? 4 : scales[0];
  await page.getByTestId('scale-select').selectOption(String(s0));
  await page.getByTestId('image-input').setInputFiles({ name: 'render.png', mimeType: 'image/png', buffer: patternPng(48, 32) });
  await expect(page.getByTestId('picked')).toContainText('render.png');
  await expect(page.getByTestId('kind-clean')).toBeChecked();
  await expect.poll(() => options(page)).toEqual(names(cleanAt(s0)));

  // a JPEG: Photo preselected at every scale that has a photo model; elsewhere said, and Clean used
  const jpeg = await sharp(patternPng(48, 32)).jpeg({ quality: 70 }).toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'phone.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await expect(page.getByTestId('picked')).toContainText('phone.jpg');
  for (const s of scales) {
    await page.getByTestId('scale-select').selectOption(String(s));
    if (photoAt(s).length) {
      await expect(page.getByTestId('kind-photo')).toBeChecked();
      await expect.poll(() => options(page)).toEqual(names(photoAt(s)));
      await expect(page.getByTestId('kind-note')).toHaveCount(0);
    } else {
      await expect(page.getByTestId('kind-note')).toHaveText(`No "Photo (JPEG, noise)" model at x${s} yet: using Clean.`);
      await expect(page.getByTestId('kind-clean')).toBeChecked();
      await expect.poll(() => options(page)).toEqual(names(cleanAt(s)));
    }
  }
  // the person's choice wins over the preselection for this picture
  await page.getByTestId('scale-select').selectOption(String(s0));
  await page.getByTestId('kind-clean').check();
  await expect.poll(() => options(page)).toEqual(names(cleanAt(s0)));
  // and a JPEG run with the preselected kind works end to end
  await page.getByTestId('kind-photo').check();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText(`${48 * s0}×${32 * s0}`, { timeout: 120_000 });
});
