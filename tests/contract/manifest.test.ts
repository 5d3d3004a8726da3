import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseManifest, parseModelEntry } from '../../lib/contract/manifest';

const MODELS = path.resolve(__dirname, '../../public/models');

describe('model manifest', () => {
  it('the shipped manifest follows the contract and every file exists', () => {
    const manifest = parseManifest(JSON.parse(readFileSync(path.join(MODELS, 'manifest.json'), 'utf8')));
    for (const m of manifest.models) {
      expect(existsSync(path.join(MODELS, m.file)), `${m.id}: ${m.file}`).toBe(true);
      if (m.fileFp16) expect(existsSync(path.join(MODELS, m.fileFp16)), `${m.id}: ${m.fileFp16}`).toBe(true);
    }
  });

  const good = {
    id: 'sr-x2', name: 'x2', task: 'super-resolution', file: 'a.onnx', scale: 2,
    input: { name: 'input', range: [0, 1] }, output: { name: 'output', range: [0, 1] },
  };

  it('accepts a minimal entry and fills defaults', () => {
    const e = parseModelEntry(good);
    expect(e.multipleOf).toBe(1);
    expect(e.quality).toEqual([]);
  });

  it('names the bad field', () => {
    expect(() => parseModelEntry({ ...good, input: { name: 'x', range: [0, 255] } })).toThrow(/input\.range/);
    expect(() => parseModelEntry({ ...good, task: 'translation' })).toThrow(/scale/);
    expect(() => parseModelEntry({ ...good, id: 'Bad Id' })).toThrow(/id/);
    expect(() => parseModelEntry({ ...good, tile: { size: 256, overlap: 38, margin: 19 } })).toThrow(/tile\.margin must be less than half/);
    expect(parseModelEntry({ ...good, tile: { size: 256, overlap: 42, margin: 19 } }).tile).toEqual({ size: 256, overlap: 42, margin: 19 });
  });

  it('rejects duplicate ids', () => {
    expect(() => parseManifest({ version: 1, models: [good, good] })).toThrow(/duplicate id "sr-x2"/);
  });
});
