// Copies onnxruntime-web's runtime files (.mjs loaders and .wasm binaries) into public/ort/ so the
// site serves them itself (no CDN; works offline once cached). public/ort/ is gitignored.
import { copyFileSync, mkdirSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'node_modules', 'onnxruntime-web', 'dist');
const dst = path.join(root, 'public', 'ort');
if (!existsSync(src)) {
  console.error(`copy-ort: ${src} not found; run npm install first`);
  process.exit(1);
}
mkdirSync(dst, { recursive: true });
const wanted = (f) => /^ort\.(wasm|webgpu)\.min\.mjs$/.test(f) || /^ort-wasm-simd-threaded(\.asyncify)?\.(mjs|wasm)$/.test(f);
let n = 0;
for (const f of readdirSync(src).filter(wanted)) {
  const a = path.join(src, f), b = path.join(dst, f);
  if (existsSync(b) && statSync(b).size === statSync(a).size && statSync(b).mtimeMs >= statSync(a).mtimeMs) continue;
  copyFileSync(a, b);
  n++;
}
console.log(`copy-ort: ${n} file(s) updated in public/ort/`);
