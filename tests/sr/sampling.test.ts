// How SR training patches pick their image: per image (default, every image equally) or per area
// (`--sample-by area`, every LR pixel equally). Synthetic pairs whose pixels name their image, so
// a sampled patch tells which image it came from.
import { describe, expect, it } from 'vitest';
import { drawPairIndex, Rng, sampleBatch, type SrDataset } from '../../training/data/sr-dataset';
import type { RgbImage } from '../../training/data/images';

function flat(width: number, height: number, value: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

/** Pair i has LR side sides[i] (scale 2) and every pixel equal to 10 * (i + 1). */
function dataset(sides: number[], patch: number): SrDataset {
  return {
    pairs: sides.map((s, i) => ({ lr: flat(s, s, 10 * (i + 1)), hr: flat(2 * s, 2 * s, 10 * (i + 1)) })),
    report: { folder: 'synthetic', label: 'synthetic', loaded: sides.length, grayscaleExpanded: 0, downscaled: 0, skipped: [] },
    sources: [{ folder: 'synthetic', loaded: sides.length }],
    scale: 2,
    patch,
    margin: 0,
  };
}

function shares(ds: SrDataset, n: number): number[] {
  const counts = new Array(ds.pairs.length).fill(0);
  const rng = new Rng(3);
  for (let i = 0; i < n; i++) counts[drawPairIndex(ds, rng)]++;
  return counts.map((c) => c / n);
}

describe('SR patch sampling', () => {
  // Patch positions (side - 8 + 1)^2: 1, 9, 81, 729 (total 820).
  const sides = [8, 10, 16, 34];

  it('per image (the default) draws every image equally, with the same draws as before the option', () => {
    const ds = dataset(sides, 8);
    for (const s of shares(ds, 40_000)) expect(s).toBeCloseTo(0.25, 1);
    const a = new Rng(9);
    const b = new Rng(9);
    for (let i = 0; i < 100; i++) expect(drawPairIndex(ds, a)).toBe(b.int(ds.pairs.length));
  });

  it('per area draws images in proportion to their patch positions, reproducibly', () => {
    const ds = { ...dataset(sides, 8), sampleBy: 'area' as const };
    const got = shares(ds, 40_000);
    [1, 9, 81, 729].forEach((w, i) => expect(Math.abs(got[i] - w / 820)).toBeLessThan(0.01));
    expect(got[0]).toBeGreaterThan(0); // a one-position image is still drawn
    const again = shares({ ...dataset(sides, 8), sampleBy: 'area' }, 40_000);
    expect(again).toEqual(got);
  });

  it('sampleBatch follows the sampling: the big image fills most area-drawn patches', () => {
    const count = (ds: SrDataset) => {
      const { lr } = sampleBatch(ds, new Rng(1), 400);
      let big = 0;
      for (let b = 0; b < 400; b++) if (lr[b * 8 * 8 * 3] === Math.fround(40 / 255)) big++;
      return big / 400;
    };
    expect(count(dataset(sides, 8))).toBeLessThan(0.35);
    expect(count({ ...dataset(sides, 8), sampleBy: 'area' })).toBeGreaterThan(0.8);
  });
});
