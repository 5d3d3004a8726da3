import { test, expect, chromium } from '@playwright/test';
import { CHROMIUM_ARGS } from '../../playwright.config';

test('offline after the first visit: the service worker serves the pages and onnxruntime-web', async ({ baseURL }) => {
  test.setTimeout(180_000);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ baseURL, serviceWorkers: 'allow' });
    const page = await context.newPage();
    await page.goto('/translate');
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    // second visit runs under the service worker and fills its cache (pages, chunks, /ort/)
    await page.reload();
    await expect(page.getByTestId('backend-badge')).toHaveAttribute('data-backend', 'wasm', { timeout: 60_000 });
    expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await page.goto('/models');
    await expect(page.getByRole('heading', { name: 'Models' })).toBeVisible();

    await context.setOffline(true);
    await page.goto('/translate');
    await expect(page.getByRole('heading', { name: 'Translate' })).toBeVisible();
    await expect(page.getByTestId('backend-badge')).toHaveAttribute('data-backend', 'wasm', { timeout: 60_000 });
    await page.goto('/upscale');
    await expect(page.getByRole('heading', { name: 'Upscale' })).toBeVisible();
  } finally {
    await browser.close();
  }
});
