/**
 * Issue 15, point 2: a result always stays paired with the picture it came from. Picking another
 * image (after a run, or while one is going) never shows the new picture as "Before" of an old
 * result, and Download only ever offers the result of the picture it names.
 */
import { test, expect, type Page } from '@playwright/test';
import { downloadResult, makePng, patternPng, waitForBackend } from './site/helpers';

async function beforeSize(page: Page): Promise<[number, number]> {
  return page.getByTestId('before-image').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight] as [number, number]);
}

async function expectPairedWith(page: Page, name: string, w: number, h: number, s: number) {
  await expect(page.getByTestId('result-info')).toHaveAttribute('data-source', name);
  await expect(page.getByTestId('before-image')).toHaveAttribute('data-source', name);
  await expect(page.getByTestId('download')).toHaveAttribute('data-source', name);
  await expect.poll(() => beforeSize(page)).toEqual([w, h]);
  const out = await downloadResult(page);
  expect(out.name).toContain(name.replace(/\.png$/, ''));
  expect([out.width, out.height]).toEqual([w * s, h * s]);
}

test('pick after a run: the old result stays with its own picture; the new one is shown apart until it is run', async ({ page }) => {
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('scale-select').selectOption('2');
  await page.getByTestId('image-input').setInputFiles({ name: 'first.png', mimeType: 'image/png', buffer: patternPng(80, 60) });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('160×120', { timeout: 120_000 });
  await expectPairedWith(page, 'first.png', 80, 60, 2);

  // a different picture, different shape: never the "Before" of first.png's result
  await page.getByTestId('image-input').setInputFiles({ name: 'second.png', mimeType: 'image/png', buffer: makePng(50, 90, (x, y) => [x * 5, y * 2, 90]) });
  await expect(page.getByTestId('picked')).toContainText('second.png: 50×90');
  await expectPairedWith(page, 'first.png', 80, 60, 2);
  await expect(page.getByTestId('result-info')).toContainText('Previous result');
  await expect(page.getByTestId('download')).toContainText('of first.png');
  await expect(page.getByTestId('picked-preview')).toBeVisible();

  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('100×180', { timeout: 120_000 });
  await expectPairedWith(page, 'second.png', 50, 90, 2);
  await expect(page.getByTestId('picked-preview')).toHaveCount(0);
});

test('pick during a run: the run finishes paired with the picture it started on, then the new one runs paired with itself', async ({ page }) => {
  await page.goto('/upscale');
  await waitForBackend(page, 'wasm');
  await page.getByTestId('scale-select').selectOption('4');
  // ~20 tiles at x4: long enough to pick another picture while it runs
  await page.getByTestId('image-input').setInputFiles({ name: 'long.png', mimeType: 'image/png', buffer: patternPng(640, 480) });
  await expect(page.getByTestId('picked')).toContainText('640×480');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('progress-text')).toContainText(/Tile \d+ of \d+/, { timeout: 120_000 });
  await page.getByTestId('image-input').setInputFiles({ name: 'during.png', mimeType: 'image/png', buffer: makePng(40, 70, (x, y) => [200, x * 6, y * 3]) });
  await expect(page.getByTestId('picked')).toContainText('during.png: 40×70');
  await expect(page.getByTestId('result-info')).toContainText('2560×1920', { timeout: 240_000 });
  await expectPairedWith(page, 'long.png', 640, 480, 4);

  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText('160×280', { timeout: 120_000 });
  await expectPairedWith(page, 'during.png', 40, 70, 4);
});
