/**
 * Before/after thumbnails for every model in the manifest (the Models page), made with the shipped
 * ONNX models in onnxruntime-node (training/viz/thumbnail.ts; each ship step writes its own):
 *   npx tsx scripts/site-thumbs.ts
 * Rewrites public/thumbs/index.json to exactly the manifest's models. Needs ../shared/datasets.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseManifest } from '../lib/contract/manifest';
import { sitePlaces, updateThumbIndex, writeThumbnail } from '../training/viz/thumbnail';

const ROOT = path.resolve(import.meta.dirname, '..');
const places = sitePlaces(ROOT);

async function main(): Promise<void> {
  const { models } = parseManifest(JSON.parse(readFileSync(path.join(places.modelsDir, 'manifest.json'), 'utf8')));
  for (const m of models) console.log(await writeThumbnail(m, places));
  await updateThumbIndex(places.thumbsDir, models.map((m) => m.id), true);
}

main().catch((err) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
