/**
 * Issue 15, point 7: /favicon.ico is served, and a normal translate and upscale with the shipped
 * models log no console error, throw nothing and get no failed request.
 */
import { test, expect } from '@playwright/test';
import { patternPng, waitForBackend, watchErrors } from './site/helpers';

test('/favicon.ico is an icon', async ({ request }) => {
  const r = await request.get('/favicon.ico');
  expect(r.status()).toBe(200);
  const b = await r.body();
  expect([...b.subarray(0, 4)]).toEqual([0, 0, 1, 0]); // ICO header
});

test('a normal translate and upscale: no console errors, no failed requests', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/translate');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('image-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: patternPng(160, 120) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('160×120', { timeout: 120_000 });
  await page.getByRole('link', { name: 'Upscale' }).click();
  await expect(page).toHaveURL(/\/upscale$/);
  await page.getByTestId('image-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: patternPng(60, 40) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('240×160', { timeout: 120_000 });
  await page.getByRole('link', { name: 'Models' }).click();
  await expect(page.getByTestId('model-card').first()).toBeVisible();
  expect(errors).toEqual([]);
});
