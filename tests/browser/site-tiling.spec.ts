import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseManifest } from '../../lib/contract/manifest';
import { nchwToRGBA, rgbaToNCHW } from '../../lib/imaging/tensor';
import { seamReport } from '../../lib/imaging/tile-metrics';
import { inspectInstanceNorm } from '../../lib/onnx/instance-norm';
import { planImage } from '../../lib/runtime/whole-image';
import { decodePng, downloadResult, rgbaPng, waitForBackend } from './site/helpers';
import { landscape } from '../runtime/fixtures/landscape';

// The Translate page runs an instance-norm model on a photo larger than one tile with whole-image
// normalization statistics (lib/runtime/whole-image.ts in the worker): the tiles join into the
// whole-image run; `?norm=per-tile` (the old behaviour) gives the patchwork.
const manifest = parseManifest(JSON.parse(readFileSync(path.resolve('public/models/manifest.json'), 'utf8')));
const model = manifest.models.find((m) => m.id === 'cyclegan-summer2winter') ?? manifest.models.find((m) => m.task === 'translation');

async function translate(page: Page, url: string, png: Buffer, name: string) {
  await page.goto(url);
  await waitForBackend(page, 'wasm');
  await page.getByTestId('model-select').selectOption(model!.id);
  await page.getByTestId('image-input').setInputFiles({ name, mimeType: 'image/png', buffer: png });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('result-info')).toContainText(/\d+ tiles/, { timeout: 240_000 });
  return downloadResult(page);
}

test('translate: a photo larger than one tile comes back as one image (whole-image instance-norm statistics)', async ({ page }) => {
  test.setTimeout(420_000);
  test.skip(!model, 'no translation model shipped');
  const bytes = readFileSync(path.resolve('public/models', model!.file));
  const info = inspectInstanceNorm(bytes);
  test.skip(!info.layers.length, `${model!.id} has no instance norm`);
  const W = 1024, H = 768;
  const rgba = landscape(W, H, 5);
  const png = rgbaPng(W, H, (x, y) => {
    const i = (y * W + x) * 4;
    return [rgba[i], rgba[i + 1], rgba[i + 2], 255];
  });
  const img = decodePng(png);

  // the same model on the whole image in one piece (onnxruntime-node)
  const s = await ort.InferenceSession.create(bytes);
  const y = (await s.run({ [model!.input.name]: new ort.Tensor('float32', rgbaToNCHW(img.data, W, H, model!.input.range as [number, number]), [1, 3, H, W]) }))[model!.output.name];
  const ref = nchwToRGBA(y.data as Float32Array, W, H, model!.output.range as [number, number]);
  await s.release();

  const tile = model!.tile ?? { size: 512, overlap: 32 }; // the Translate page's default
  const spec = { inRange: model!.input.range, outRange: model!.output.range, scale: 1, multipleOf: model!.multipleOf, tile, feather: 'linear' as const };
  const { plan, normalization } = planImage(W, H, spec, info);
  expect(normalization).toBe('whole-image');
  expect(plan.tiles.length).toBeGreaterThan(1);

  const got = await translate(page, '/translate', png, 'landscape.png');
  expect([got.width, got.height]).toEqual([W, H]);
  await expect(page.getByTestId('result-info')).toContainText(`(${plan.tiles.length} tiles)`);
  const rep = seamReport(got.data, ref, plan);
  console.log(`site, whole-image statistics: ${JSON.stringify(rep)}`);
  expect(rep.maxTileDiff).toBeLessThanOrEqual(3);
  expect(rep.maxBoundaryStep).toBeLessThanOrEqual(Math.max(rep.maxInsideStep, 0.5));

  // the old per-tile statistics on the same page: the patchwork the default path no longer has
  const old = await translate(page, '/translate?norm=per-tile', png, 'landscape-per-tile.png');
  const oldPlan = planImage(W, H, spec, info, { mode: 'per-tile' }).plan;
  const oldRep = seamReport(old.data, ref, oldPlan);
  console.log(`site, per-tile statistics: ${JSON.stringify(oldRep)}`);
  expect(oldRep.maxTileDiff).toBeGreaterThan(3);
  expect(oldRep.maxTileDiff).toBeGreaterThan(3 * rep.maxTileDiff);
});
