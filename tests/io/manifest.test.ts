import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { upsertManifestEntries } from '../../training/io/manifest';

const entry = (id: string, name = id) => ({
  id, name, task: 'super-resolution' as const, file: `${id}.onnx`, scale: 2,
  input: { name: 'input', range: [0, 1] as [number, number] }, output: { name: 'output', range: [0, 1] as [number, number] },
});

describe('upsertManifestEntries', () => {
  it('replaces by id in place, appends new ids, keeps the others, and refuses invalid entries', async () => {
    const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-manifest-')), 'manifest.json');
    await fs.writeFile(file, JSON.stringify({ version: 1, models: [entry('a'), entry('b')] }));
    await upsertManifestEntries([entry('a', 'A2'), entry('c')], file);
    const m = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(m.models.map((x: { id: string; name: string }) => `${x.id}:${x.name}`)).toEqual(['a:A2', 'b:b', 'c:c']);
    const before = await fs.readFile(file, 'utf8');
    await expect(upsertManifestEntries([{ ...entry('d'), scale: 0 }], file)).rejects.toThrow(/scale/);
    expect(await fs.readFile(file, 'utf8')).toBe(before);
  });
});
