import { PNG } from 'pngjs';

export const HORSE = '/work/shared/datasets/cyclegan/horse2zebra/testA/001.jpeg';

export function decodePng(buf: Buffer): { width: number; height: number; data: Uint8Array } {
  const p = PNG.sync.read(buf);
  return { width: p.width, height: p.height, data: p.data };
}

export function maxAbsDiffPlain(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
