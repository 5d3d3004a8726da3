/** The CLI end to end: `ganvas export` on a saved model folder, `ganvas export check`, exit codes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { imageInput, modelOf, tempDir, tfl, useCpu, type ST } from './helpers';
import { fileSystem } from '../../training/export';
import { InstanceNorm, ReflectionPad2D } from '../../training/models/layers';

const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

function ganvas(...args: string[]) {
  const r = spawnSync(process.execPath, [tsx, path.join(root, 'training/cli.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  await useCpu();
  ({ dir, cleanup } = await tempDir());
  const x = imageInput();
  let h = new ReflectionPad2D({ padding: 1 }).apply(x) as ST;
  h = tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'tanh' }).apply(new InstanceNorm().apply(h) as ST) as ST;
  await modelOf(x, h).save(fileSystem(path.join(dir, 'model')));
});
afterAll(() => cleanup());

describe('ganvas export CLI', () => {
  it('exports with parity, writes both variants, and checks them', () => {
    const out = path.join(dir, 'm.onnx');
    const out16 = path.join(dir, 'm.fp16.onnx');
    const e = ganvas('export', path.join(dir, 'model'), '--out', out, '--fp16-out', out16, '--input-range', '-1,1', '--backend', 'cpu', '--json');
    expect(e.code, e.err).toBe(0);
    const reports = JSON.parse(e.out);
    expect(reports).toHaveLength(2);
    expect(reports[0].maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(reports[1].fp16).toBe(true);
    expect(existsSync(out) && existsSync(out16)).toBe(true);

    const c = ganvas('export', 'check', out16);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toMatch(/OK .*m\.fp16\.onnx.*\n\s+input\s+input \[N, 3, H, W\]/);
    expect(c.out).toMatch(/float16 weights/);
  });

  it('fails with a message and non-zero exit on a truncated file, a missing model and a missing --out', () => {
    const out = path.join(dir, 'm.onnx');
    const bad = path.join(dir, 'bad.onnx');
    writeFileSync(bad, readFileSync(out).subarray(0, 200));
    const c = ganvas('export', 'check', bad);
    expect(c.code).not.toBe(0);
    expect(c.err).toMatch(/error: .*bad\.onnx.*(truncated or corrupt|cannot load)/);
    const m = ganvas('export', path.join(dir, 'nothing'), '--out', path.join(dir, 'x.onnx'), '--backend', 'cpu');
    expect(m.code).not.toBe(0);
    expect(m.err).toMatch(/cannot load the tfjs model .*nothing/);
    expect(existsSync(path.join(dir, 'x.onnx'))).toBe(false);
    const o = ganvas('export', path.join(dir, 'model'));
    expect(o.code).not.toBe(0);
    expect(o.err).toMatch(/needs --out/);
  });
});
