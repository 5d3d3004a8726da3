/**
 * Image grids as PNG: rows of equally sized tiles (NHWC floats in [-1, 1] or [0, 1]) with a
 * small gap, e.g. CycleGAN's A | G(A) | F(G(A)) | B | F(B) | G(F(B)) sample rows.
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic';

export interface Tile {
  /** HWC floats. */
  data: Float32Array;
  width: number;
  height: number;
  range?: [number, number];
}

export async function writeGridPng(file: string, rows: Tile[][], opts: { gap?: number; labels?: string[] } = {}): Promise<void> {
  const gap = opts.gap ?? 2;
  const tw = Math.max(...rows.flat().map((t) => t.width));
  const th = Math.max(...rows.flat().map((t) => t.height));
  const cols = Math.max(...rows.map((r) => r.length));
  const labelH = opts.labels ? 16 : 0;
  const W = cols * tw + (cols + 1) * gap;
  const H = labelH + rows.length * th + (rows.length + 1) * gap;
  const out = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((row, r) => {
    row.forEach((t, c) => {
      const [lo, hi] = t.range ?? [-1, 1];
      const ox = gap + c * (tw + gap);
      const oy = labelH + gap + r * (th + gap);
      for (let y = 0; y < t.height; y++) {
        for (let x = 0; x < t.width; x++) {
          for (let ch = 0; ch < 3; ch++) {
            const v = (t.data[(y * t.width + x) * 3 + ch] - lo) / (hi - lo);
            out[((oy + y) * W + ox + x) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
          }
        }
      }
    });
  });
  let img = sharp(Buffer.from(out.buffer), { raw: { width: W, height: H, channels: 3 } });
  if (opts.labels) {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const texts = opts.labels
      .map((l, i) => `<text x="${gap + i * (tw + gap) + tw / 2}" y="12" text-anchor="middle" font-family="sans-serif" font-size="11">${esc(l)}</text>`)
      .join('');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${labelH}">${texts}</svg>`;
    img = sharp(await img.png().toBuffer()).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  }
  await writeFileAtomic(file, await img.png().toBuffer());
}
