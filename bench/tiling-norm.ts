/**
 * Which instance-norm statistics make a tiled translation agree with the whole-image run?
 * onnxruntime-node, 2048x1536 photos, 512 px tiles with 32 px overlap: for each model and photo, the
 * model run on the whole image in one piece is the reference, and every way of getting the statistics
 * is compared with it (lib/imaging/tile-metrics.ts): each tile's mean colour, and the steps of the error
 * image across tile boundaries vs inside tiles.
 *
 *   npm run bench:tiling            # prints JSON, writes docs/bench-tiling-norm.md (+ .json)
 *
 * Methods: per-tile (each tile its own statistics, the old behaviour); whole-image statistics from a
 * copy downscaled to 512, 1024 or 2048 px (2048 = the photo itself: the default for photos up to that
 * size); 1024 plus one probe pass that re-measures every layer at full resolution over the tiles.
 */
import { readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import sharp from 'sharp';
import { createNodeTiler } from '../lib/runtime/node';
import type { NormOptions, TiledSpec } from '../lib/runtime/whole-image';
import { nchwToRGBA, rgbaToNCHW } from '../lib/imaging/tensor';
import { seamReport } from '../lib/imaging/tile-metrics';
import { landscape } from '../tests/runtime/fixtures/landscape';
import { thirdPartyGenerator } from '../tests/runtime/fixtures/third-party-generator';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const W = 2048, H = 1536;
const SPEC: TiledSpec = { inRange: [-1, 1], outRange: [-1, 1], scale: 1, multipleOf: 4, tile: { size: 512, overlap: 32 }, feather: 'linear' };
const SUMMER = path.join(ROOT, '../shared/datasets/cyclegan/summer2winter_landscapes/testA/d48a2d6bfd.jpg');
const METHODS: [string, NormOptions][] = [
  ['per-tile', { mode: 'per-tile' }],
  ['whole-image, stats 512', { statsSize: 512 }],
  ['whole-image, stats 1024', { statsSize: 1024 }],
  ['whole-image, stats 2048 (default)', { statsSize: 2048 }],
  ['whole-image, stats 1024 + 1 probe pass', { statsSize: 1024, refine: 1 }],
];

async function photos(): Promise<{ name: string; rgba: Uint8ClampedArray }[]> {
  const out = [{ name: 'generated landscape', rgba: landscape(W, H, 1) }];
  if (existsSync(SUMMER)) {
    const { data } = await sharp(SUMMER).resize(W, H, { fit: 'cover', kernel: 'cubic' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    out.push({ name: `summer testA ${path.basename(SUMMER)} (256 px, upscaled)`, rgba: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) });
  }
  return out;
}

async function main() {
  const models: [string, Uint8Array][] = [
    ['cyclegan-summer2winter', readFileSync(path.join(ROOT, 'public/models/cyclegan-summer2winter.onnx'))],
    ['third-party ResnetGenerator (ngf 8, random)', thirdPartyGenerator()],
  ];
  const imgs = await photos();
  const rows: Record<string, unknown>[] = [];
  for (const [model, bytes] of models) {
    const t = await createNodeTiler(bytes);
    for (const img of model.startsWith('third') ? imgs.slice(0, 1) : imgs) {
      let t0 = performance.now();
      const y = await t.run('plain', { [t.info.inputName]: { data: rgbaToNCHW(img.rgba, W, H, SPEC.inRange), dims: [1, 3, H, W] } });
      const ref = nchwToRGBA(y[t.info.outputName].data, W, H, SPEC.outRange);
      const wholeMs = performance.now() - t0;
      for (const [method, norm] of METHODS) {
        t0 = performance.now();
        const r = await t.runImage(img.rgba, W, H, SPEC, norm);
        const ms = performance.now() - t0;
        const rep = seamReport(r.out, ref, r.plan);
        const row = {
          model, photo: img.name, method, tiles: r.plan.tiles.length,
          max_tile_diff: +rep.maxTileDiff.toFixed(2), boundary_step: +rep.maxBoundaryStep.toFixed(2), inside_step: +rep.maxInsideStep.toFixed(2),
          one_image: rep.maxTileDiff <= 3 && rep.maxBoundaryStep <= Math.max(rep.maxInsideStep, 0.5),
          seconds: +(ms / 1000).toFixed(1), stats_seconds: +(r.statsMs / 1000).toFixed(1), whole_image_seconds: +(wholeMs / 1000).toFixed(1),
        };
        rows.push(row);
        console.error(JSON.stringify(row));
      }
    }
    await t.release();
  }
  const result = { date: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load_avg_1m: +os.loadavg()[0].toFixed(1), size: `${W}x${H}`, tile: SPEC.tile, rows };
  console.log(JSON.stringify(result, null, 2));
  const cols = ['model', 'photo', 'method', 'tiles', 'max_tile_diff', 'boundary_step', 'inside_step', 'one_image', 'seconds', 'stats_seconds', 'whole_image_seconds'];
  const md = `# Tiled translation vs the whole-image run: where the instance-norm statistics come from

Measured by \`npm run bench:tiling\` (\`bench/tiling-norm.ts\`) with onnxruntime-node on this machine
(${result.cpus} CPU cores, ${result.cpu}; load ${result.load_avg_1m}, shared with training runs, so seconds are pessimistic
and only comparable within a row group). Date: ${result.date}.

Each ${W}x${H} photo is translated in ${SPEC.tile.size} px tiles (${SPEC.tile.overlap} px overlap) and compared with the same model run on
the whole photo in one piece. \`max_tile_diff\`: the largest difference of a tile's mean colour from the whole-image
run at the same place (levels of 255, worst channel). \`boundary_step\` / \`inside_step\`: the largest step in mean
colour of the error image (tiled minus whole) across a tile boundary / across lines every 32 px inside the tiles.
\`one_image\`: the issue's test (every tile within 3/255 and no boundary step above the steps inside the tiles).

| ${cols.join(' | ')} |
|${cols.map(() => '---').join('|')}|
${rows.map((r) => `| ${cols.map((c) => String(r[c])).join(' | ')} |`).join('\n')}

Raw JSON: [bench-tiling-norm.json](bench-tiling-norm.json).
`;
  const json = path.join(ROOT, 'docs/bench-tiling-norm.json');
  writeFileSync(`${json}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${json}.tmp`, json);
  const out = path.join(ROOT, 'docs/bench-tiling-norm.md');
  writeFileSync(`${out}.tmp`, md);
  renameSync(`${out}.tmp`, out);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
