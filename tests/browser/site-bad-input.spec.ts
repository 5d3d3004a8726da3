import { test, expect, chromium } from '@playwright/test';
import sharp from 'sharp';
import { CHROMIUM_ARGS } from '../../playwright.config';
import { patternPng, useTestModels, waitForBackend } from './site/helpers';

test('bad images: non-image, corrupt file and a 100-megapixel image get clear messages; upload and result are kept', async ({ page, context }) => {
  test.setTimeout(240_000);
  await useTestModels(context);
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'ok.png', mimeType: 'image/png', buffer: patternPng(40, 30) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('160×120', { timeout: 60_000 });

  await page.getByTestId('image-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, not an image') });
  await expect(page.getByTestId('pick-error')).toContainText('"notes.txt" is not an image (text/plain)');
  await expect(page.getByTestId('picked')).toContainText('ok.png');
  await expect(page.getByTestId('result-info')).toContainText('160×120');

  const corrupt = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(2000, 7)]);
  await page.getByTestId('image-input').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: corrupt });
  await expect(page.getByTestId('pick-error')).toContainText('could not decode "broken.png"');
  await expect(page.getByTestId('picked')).toContainText('ok.png');

  // 100 MP: decodes, but x4 (40000x40000) and x2 (20000x20000) exceed the canvas limit: said at pick time, before any work is done
  const huge = await sharp({ create: { width: 10000, height: 10000, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png({ compressionLevel: 1 }).toBuffer();
  await page.getByTestId('image-input').setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: huge });
  await expect(page.getByTestId('picked')).toContainText('10000×10000', { timeout: 120_000 });
  await expect(page.getByTestId('size-error')).toContainText("over the browser's canvas limit");
  await expect(page.getByTestId('run')).toBeDisabled();
  await expect(page.getByTestId('result-info')).toContainText('160×120'); // finished result kept
  // and the page keeps working
  await page.getByTestId('image-input').setInputFiles({ name: 'ok2.png', mimeType: 'image/png', buffer: patternPng(32, 32) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('128×128', { timeout: 60_000 });
  await expect(page.getByTestId('error')).toHaveCount(0);
});

test('broken model manifest: a clear message and the rest of the site still works', async ({ page, context }) => {
  await context.route('**/models/manifest.json', (r) => r.fulfill({ body: '{"version": 1, "models": [{"id": "Bad Id"}]}', contentType: 'application/json' }));
  await page.goto('/models');
  await expect(page.getByTestId('error')).toContainText('Could not read the model list');
  await expect(page.getByTestId('byo-submit')).toBeVisible();
  await page.goto('/translate');
  await expect(page.getByTestId('error')).toContainText('invalid model manifest');
});

test('camera permission denied and no camera: clear messages, page keeps working', async ({ baseURL }) => {
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  // fake camera present, permission denied
  let browser = await chromium.launch({ executablePath: exe, args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
  try {
    const context = await browser.newContext({ baseURL, serviceWorkers: 'block' });
    await useTestModels(context);
    const page = await context.newPage();
    await page.goto('/webcam');
    await page.getByTestId('cam-start').click();
    await expect(page.getByTestId('error')).toContainText('Camera permission was denied');
    await expect(page.getByTestId('cam-start')).toBeEnabled();
  } finally {
    await browser.close();
  }
  // permission granted, but no camera at all
  browser = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ baseURL, permissions: ['camera'], serviceWorkers: 'block' });
    await useTestModels(context);
    const page = await context.newPage();
    await page.goto('/webcam');
    await page.getByTestId('cam-start').click();
    await expect(page.getByTestId('error')).toContainText(/No camera was found|camera could not be started/);
    await expect(page.getByTestId('cam-start')).toBeEnabled();
  } finally {
    await browser.close();
  }
});
