import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { parseManifest } from '../../lib/contract/manifest';
import { nchwToRGBA, rgbaToNCHW } from '../../lib/imaging';
import { decodePng, HORSE, maxAbsDiff, waitForBackend } from './site/helpers';

// Whatever models public/models/manifest.json ships: each must load in the site and give the same
// pixels as onnxruntime-node on the same ONNX file. With no shipped models, the tools say so.
const manifest = parseManifest(JSON.parse(readFileSync(path.resolve('public/models/manifest.json'), 'utf8')));

test('shipped manifest: empty states when a kind of model is missing', async ({ page }) => {
  test.skip(manifest.models.some((m) => m.task === 'translation') && manifest.models.some((m) => m.task === 'super-resolution'), 'both kinds shipped');
  if (!manifest.models.some((m) => m.task === 'translation')) {
    await page.goto('/translate');
    await expect(page.getByText('No translation models yet')).toBeVisible();
  }
  if (!manifest.models.some((m) => m.task === 'super-resolution')) {
    await page.goto('/upscale');
    await expect(page.getByText('No super-resolution models yet')).toBeVisible();
  }
});

test('webcam starts with the cheapest translation model (fewest GMACs per 256x256 frame)', async ({ page }) => {
  const tr = manifest.models.filter((m) => m.task === 'translation' && m.gmacs256 !== undefined);
  test.skip(tr.length < 2, 'needs two translation models with gmacs256');
  const cheapest = [...tr].sort((a, b) => a.gmacs256! - b.gmacs256!)[0];
  test.skip(cheapest.id === manifest.models.find((m) => m.task === 'translation')!.id, 'the cheapest is also the first: nothing to tell apart');
  await page.goto('/webcam');
  await expect(page.getByTestId('model-select')).toHaveValue(cheapest.id);
});

test('upscale shows the measured Y-PSNR of the chosen shipped model, so tiers can be compared by numbers', async ({ page }) => {
  const sr = manifest.models.filter((m) => m.task === 'super-resolution' && m.quality.some((q) => q.dataset === 'BSD100'));
  test.skip(!sr.length, 'no shipped SR model with benchmark numbers');
  await page.goto('/upscale');
  for (const m of sr.slice(0, 3)) {
    await page.getByTestId('scale-select').selectOption(String(m.scale));
    await page.getByTestId(`kind-${m.tier === 'photo' ? 'photo' : 'clean'}`).check();
    await page.getByTestId('model-select').selectOption(m.id);
    const bsd = m.quality.find((q) => q.dataset === 'BSD100')!.metrics.psnrY!;
    await expect(page.getByTestId('model-info')).toContainText(`Y-PSNR Set5 / Set14 / BSD100:`);
    await expect(page.getByTestId('model-info')).toContainText(`/ ${bsd.toFixed(2)} dB`);
  }
});

for (const m of manifest.models) {
  test(`shipped model ${m.id}: site output equals onnxruntime-node within 1/255`, async ({ page }) => {
    test.setTimeout(180_000);
    const size = Math.ceil(64 / m.multipleOf) * m.multipleOf; // one tile, no padding
    const png = await sharp(HORSE).resize(size, size, { fit: 'cover' }).png().toBuffer();
    const img = decodePng(png);
    const s = await ort.InferenceSession.create(readFileSync(path.resolve('public/models', m.file)));
    const y = (await s.run({ [m.input.name]: new ort.Tensor('float32', rgbaToNCHW(img.data, size, size, m.input.range as [number, number]), [1, 3, size, size]) }))[m.output.name];
    const want = nchwToRGBA(y.data as Float32Array, size * m.scale, size * m.scale, m.output.range as [number, number]);
    await s.release();

    await page.goto(m.task === 'translation' ? '/translate' : '/upscale');
    await waitForBackend(page, 'wasm');
    if (m.task === 'super-resolution') {
      await page.getByTestId('scale-select').selectOption(String(m.scale));
      await page.getByTestId(`kind-${m.tier === 'photo' ? 'photo' : 'clean'}`).check();
    }
    await page.getByTestId('model-select').selectOption(m.id);
    await page.getByTestId('image-input').setInputFiles({ name: 'horse.png', mimeType: 'image/png', buffer: png });
    await page.getByTestId('run').click();
    await expect(page.getByTestId('result-info')).toContainText(`${size * m.scale}×${size * m.scale}`, { timeout: 120_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
    const got = decodePng(readFileSync(await download.path()));
    const diff = maxAbsDiff(got.data, want);
    console.log(`${m.id}: site (WASM) vs onnxruntime-node max |diff| = ${diff}/255`);
    expect(diff).toBeLessThanOrEqual(1);
  });
}
