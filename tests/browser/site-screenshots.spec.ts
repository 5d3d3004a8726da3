/**
 * Regenerates docs/screenshots/ with the SHIPPED models (what the README shows):
 *   GANVAS_SCREENSHOTS=1 npx playwright test tests/browser/site-screenshots.spec.ts
 * Skipped in ordinary runs so the working tree stays clean; each step still asserts the tool worked.
 */
import { test, expect, chromium, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { CHROMIUM_ARGS } from '../../playwright.config';
import { parseManifest } from '../../lib/contract/manifest';
import { waitForBackend } from './site/helpers';
import { writeY4m } from './site/y4m';

const ON = process.env.GANVAS_SCREENSHOTS === '1';
const OUT = path.resolve('docs/screenshots');
const models = parseManifest(JSON.parse(readFileSync(path.resolve('public/models/manifest.json'), 'utf8'))).models;
const translator = models.find((m) => m.id.includes('summer2winter')) ?? models.find((m) => m.task === 'translation');
// The webcam's own use: a painting style live (the real-time photo -> Monet model).
const webcamModel = models.find((m) => m.id === 'cut-photo2monet') ?? translator;
const upscaler = models.find((m) => m.task === 'super-resolution' && m.scale === 4) ?? models.find((m) => m.task === 'super-resolution');
const SUMMER = '/work/shared/datasets/cyclegan/summer2winter_landscapes/testA';

async function shot(page: Page, name: string) {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

test.describe('README screenshots (shipped models)', () => {
  test.skip(!ON, 'set GANVAS_SCREENSHOTS=1 to regenerate docs/screenshots/');
  test.setTimeout(300_000);

  test('translate', async ({ page }) => {
    test.skip(!translator, 'no translation model shipped');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/translate');
    await waitForBackend(page, 'wasm');
    await page.getByTestId('model-select').selectOption(translator!.id);
    const photo = await sharp(path.join(SUMMER, readdirSync(SUMMER).sort()[3])).jpeg().toBuffer();
    await page.getByTestId('image-input').setInputFiles({ name: 'summer.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 120_000 });
    await shot(page, 'translate');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'translate-phone-dark');
  });

  test('upscale', async ({ page }) => {
    test.skip(!upscaler, 'no super-resolution model shipped');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/upscale');
    await waitForBackend(page, 'wasm');
    await page.getByTestId('scale-select').selectOption(String(upscaler!.scale));
    await page.getByTestId(`kind-${upscaler!.tier === 'photo' ? 'photo' : 'clean'}`).check();
    await page.getByTestId('model-select').selectOption(upscaler!.id);
    await page.getByTestId('image-input').setInputFiles(`/work/shared/datasets/sr/Set14/LR_bicubic/X${upscaler!.scale}/baboon.png`);
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 120_000 });
    await shot(page, 'upscale');
  });

  test('upscale-transparent', async ({ page }) => {
    test.skip(!upscaler, 'no super-resolution model shipped');
    // a small logo on a transparent background: the result keeps the transparency (checkerboard)
    const logo = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="96"><circle cx="48" cy="48" r="38" fill="#0284c7"/>' +
          '<path d="M66 36a22 22 0 1 0 3 24h-19" fill="none" stroke="#fff" stroke-width="9" stroke-linecap="round"/>' +
          '<rect x="96" y="20" width="52" height="56" rx="10" fill="#f59e0b" fill-opacity="0.6"/></svg>',
      ),
    )
      .png()
      .toBuffer();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/upscale');
    await waitForBackend(page, 'wasm');
    await page.getByTestId('scale-select').selectOption(String(upscaler!.scale));
    await page.getByTestId('image-input').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: logo });
    await expect(page.getByTestId('picked')).toContainText('transparent areas are kept');
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toContainText('transparency kept', { timeout: 120_000 });
    await page.getByTestId('split').fill('35');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'upscale-transparent');
  });

  test('models-phone', async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/models');
    await expect(page.getByTestId('model-card')).toHaveCount(models.length);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, 'models-phone.png') }); // the first screen, as a phone shows it
  });

  test('models', async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/models');
    await waitForBackend(page, 'wasm');
    await expect(page.getByTestId('model-card')).toHaveCount(models.length);
    await shot(page, 'models');
  });

  test('webcam', async ({ baseURL }) => {
    test.skip(!webcamModel, 'no translation model shipped');
    const y4m = await writeY4m(path.join(SUMMER, readdirSync(SUMMER).sort()[3]), path.resolve('test-results/shots/cam.y4m'), 640, 480, 10);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
    });
    try {
      const page = await browser.newPage({ baseURL, serviceWorkers: 'block', viewport: { width: 1280, height: 900 } });
      await page.goto('/webcam');
      await waitForBackend(page, 'wasm');
      await page.getByTestId('model-select').selectOption(webcamModel!.id);
      await page.getByTestId('cam-start').click();
      await expect(page.getByTestId('frames')).toHaveAttribute('data-frames', /^([5-9]|\d\d+)$/, { timeout: 120_000 });
      await shot(page, 'webcam');
    } finally {
      await browser.close();
    }
  });
});
