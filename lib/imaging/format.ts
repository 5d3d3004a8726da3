/**
 * What kind of picture a file holds, from its first bytes: enough to give people an honest message
 * (SVG drawings, animations of which only the first frame is used). Pure: bytes in, facts out.
 */

export type Sniffed = { kind: 'svg' } | { kind: 'gif'; frames: number } | { kind: 'apng'; frames: number } | { kind: 'other' };

/** Number of image frames in a GIF (0 when the data is not a GIF or is cut short before the first frame). */
export function gifFrameCount(b: Uint8Array): number {
  if (b.length < 13 || String.fromCharCode(b[0], b[1], b[2]) !== 'GIF') return 0;
  let p = 13;
  if (b[10] & 0x80) p += 3 * (1 << ((b[10] & 7) + 1)); // global colour table
  let frames = 0;
  const skipSubBlocks = () => {
    while (p < b.length) {
      const n = b[p++];
      if (n === 0) return;
      p += n;
    }
  };
  while (p < b.length) {
    const t = b[p++];
    if (t === 0x3b) break; // trailer
    if (t === 0x21) {
      p++; // label
      skipSubBlocks();
    } else if (t === 0x2c) {
      if (p + 9 > b.length) break;
      const packed = b[p + 8];
      p += 9;
      if (packed & 0x80) p += 3 * (1 << ((packed & 7) + 1)); // local colour table
      p++; // LZW minimum code size
      skipSubBlocks();
      frames++;
    } else break; // garbage: stop counting
  }
  return frames;
}

/** Frames announced by an animated PNG's acTL chunk (0 for a still PNG). */
export function apngFrameCount(b: Uint8Array): number {
  if (b.length < 8 || b[0] !== 0x89 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return 0;
  let p = 8;
  while (p + 8 <= b.length) {
    const len = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    if (type === 'acTL' && p + 12 <= b.length) return ((b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11]) >>> 0;
    if (type === 'IDAT' || type === 'IEND') return 0;
    p += 12 + len;
  }
  return 0;
}

/** Looks at a file's bytes (and its declared type) and says what it is. */
export function sniffImage(bytes: Uint8Array, mimeType = ''): Sniffed {
  if (mimeType === 'image/svg+xml') return { kind: 'svg' };
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return { kind: 'gif', frames: gifFrameCount(bytes) };
  if (bytes[0] === 0x89 && bytes[1] === 0x50) {
    const frames = apngFrameCount(bytes);
    return frames > 1 ? { kind: 'apng', frames } : { kind: 'other' };
  }
  // text that starts like an SVG document (possibly after an XML prolog, comments or a BOM)
  const head = new TextDecoder().decode(bytes.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(head)) return { kind: 'svg' };
  return { kind: 'other' };
}
