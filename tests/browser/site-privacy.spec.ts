import { test, expect, chromium } from '@playwright/test';
import path from 'node:path';
import { CHROMIUM_ARGS } from '../../playwright.config';
import { expectNoImageLeak, HORSE, patternPng, recordRequests, useTestModels, waitForBackend } from './site/helpers';
import { writeY4m } from './site/y4m';

test('privacy: during upload, translate, upscale and webcam no request carries image data', async ({ baseURL }) => {
  test.setTimeout(240_000);
  const y4m = await writeY4m(HORSE, path.resolve('test-results/site-privacy/horse.y4m'), 320, 240, 4);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
  try {
    const context = await browser.newContext({ baseURL, serviceWorkers: 'block' });
    const log = recordRequests(context);
    await useTestModels(context);
    const page = await context.newPage();
    // a body on any request would show up here too (Next.js server actions, beacons, analytics)
    const bodies: string[] = [];
    page.on('request', (r) => r.postData() && bodies.push(r.url()));

    await page.goto('/translate');
    await waitForBackend(page, 'wasm');
    await page.getByTestId('image-input').setInputFiles({ name: 'secret.png', mimeType: 'image/png', buffer: patternPng(96, 64) });
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 60_000 });

    // client-side navigation: wait for the new page, or the locator below can still find the
    // previous page's file input and the file lands there
    await page.getByRole('link', { name: 'Upscale' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Upscale' })).toBeVisible();
    await page.getByTestId('image-input').setInputFiles({ name: 'secret2.png', mimeType: 'image/png', buffer: patternPng(80, 60) });
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toBeVisible({ timeout: 60_000 });

    await page.getByRole('link', { name: 'Webcam' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Webcam' })).toBeVisible();
    await page.getByTestId('cam-start').click();
    await expect(page.getByTestId('frames')).toHaveAttribute('data-frames', /^([3-9]|\d\d+)$/, { timeout: 60_000 });
    await page.getByTestId('cam-stop').click();

    expect(bodies).toEqual([]);
    expectNoImageLeak(log, baseURL!);
    const paths = new Set(log.map((r) => new URL(r.url).pathname.split('/').slice(0, 2).join('/')));
    console.log(`privacy: ${log.length} requests, all GET to ${[...paths].sort().join(', ')}`);
  } finally {
    await browser.close();
  }
});
