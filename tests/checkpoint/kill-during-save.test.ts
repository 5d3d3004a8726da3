/**
 * A process SIGKILLed while it writes checkpoints never leaves one that resume would load
 * half-written: a real child process saves checkpoints (a 2 MB model, optimizer-free, an extra
 * tensor and JSON state, all filled with the step number) in a loop and is killed at random
 * moments, mostly mid-write; after every kill the checkpoint findLatestCheckpoint picks must load
 * completely, with every value equal to its own step, and the next process continues from it.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { findLatestCheckpoint, loadCheckpoint } from '../../training/checkpoint';

const ROOT = path.resolve(__dirname, '../..');

const CHILD = `
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('cpu');
const tfl = await import('@tensorflow/tfjs-layers');
const ck = await import(${JSON.stringify(path.join(ROOT, 'training/checkpoint/index.ts'))});
const dir = process.argv[process.argv.length - 1];
const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [512], units: 1024 })] });
const latest = await ck.findLatestCheckpoint(dir);
let step = latest ? (await ck.readCheckpointState(latest)).step : 0;
process.stdout.write('start ' + step + '\\n');
for (;;) {
  step++;
  m.setWeights(m.weights.map((w) => tf.fill(w.shape, step)));
  const t = tf.fill([1000], step);
  await ck.saveCheckpoint(dir, { step, models: { g: m }, tensors: { t }, state: { step } }, { keep: 2 });
  t.dispose();
  process.stdout.write('saved ' + step + '\\n');
}
`;

describe('checkpoints under SIGKILL', () => {
  it('after kills at random moments, the latest checkpoint always loads whole and resume continues from it', async () => {
    await tf.setBackend('cpu');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-kill-'));
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [512], units: 1024 })] });
    let lastStep = 0;
    let seed = 12345;
    let midWrite = 0;
    let round = 0;
    // At least 3 kills, and at least one that provably landed mid-write (a temp folder left behind).
    for (; round < 3 || (midWrite === 0 && round < 8); round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      // Wait until it has saved one checkpoint (so every round makes progress, however loaded the
      // machine), then kill it after a pseudo-random 50-450 ms of further saving.
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => out.includes('saved ') && (clearInterval(t), resolve()), 10);
        child.once('exit', (code) => (clearInterval(t), reject(new Error(`child exited (${code}): ${out}`))));
      });
      seed = (seed * 1103515245 + 12345) % 2147483648;
      await new Promise((r) => setTimeout(r, 50 + (seed % 400)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // It started from the previous round's checkpoint.
      expect(out).toContain(`start ${lastStep}`);

      if ((await fs.readdir(dir)).some((n) => n.includes('.tmp-'))) midWrite++;
      const latest = await findLatestCheckpoint(dir);
      if (latest === null) continue; // killed before its first checkpoint was complete
      const r = await loadCheckpoint(latest, { models: { g: model } });
      expect(r.state.step).toBe(r.step);
      expect(r.step).toBeGreaterThanOrEqual(lastStep);
      for (const w of model.getWeights()) {
        const v = w.dataSync();
        expect(v.every((x) => x === r.step), `weights of ${latest}`).toBe(true);
      }
      expect(Array.from(r.tensors.t.dataSync()).every((x) => x === r.step)).toBe(true);
      r.tensors.t.dispose();
      lastStep = r.step;
    }
    // Enough rounds saved something (each save takes a few ms, so most kills land mid-write).
    expect(lastStep).toBeGreaterThan(2);
        expect(midWrite).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
