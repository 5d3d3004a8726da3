/** Writes a YUV4MPEG2 (4:2:0, BT.601 limited range) clip from an image, for Chromium's fake camera. */
import sharp from 'sharp';
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';

export async function writeY4m(image: string, out: string, w = 320, h = 240, frames = 10): Promise<string> {
  const { data } = await sharp(image).resize(w, h, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const Y = Buffer.alloc(w * h), U = Buffer.alloc((w / 2) * (h / 2)), V = Buffer.alloc((w / 2) * (h / 2));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const r = data[i], g = data[i + 1], b = data[i + 2];
      Y[y * w + x] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
      if (y % 2 === 0 && x % 2 === 0) {
        const j = (y / 2) * (w / 2) + x / 2;
        U[j] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
        V[j] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
      }
    }
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < frames; f++) parts.push(Buffer.from('FRAME\n'), Y, U, V);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, Buffer.concat(parts));
  renameSync(`${out}.tmp`, out);
  return out;
}
