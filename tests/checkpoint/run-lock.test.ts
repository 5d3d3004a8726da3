/**
 * One process per run folder, for every trainer (training/checkpoint/lock): a second run on a
 * folder a live process holds is refused with that process's id (CycleGAN, CUT and SR), a lock
 * left by a SIGKILLed process is taken over, a reused pid is told apart by its start time. Also:
 * a resumed CycleGAN run with changed architecture flags is refused, naming what differs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { acquireRunLock, LOCK_FILE, RunFolderLockedError } from '../../training/checkpoint/lock';
import { runCycleGan, type RunOptions } from '../../training/tasks/cyclegan/train';
import { runCut } from '../../training/tasks/cut/train';
import { trainSr, type SrTrainOptions } from '../../training/tasks/sr/train';

const ROOT = path.resolve(__dirname, '../..');
let tmp: string;
let holderScript: string;
const children: ChildProcess[] = [];

/** Starts a real process that takes the lock of `dir` and keeps it until killed. */
async function holder(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', holderScript, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code})`)));
  });
  return child;
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-lock-'));
  holderScript = path.join(tmp, 'hold.ts');
  await fs.writeFile(
    holderScript,
    `import { acquireRunLock } from ${JSON.stringify(path.join(ROOT, 'training/checkpoint/lock.ts'))};\n` +
      `acquireRunLock(process.argv[2]);\nconsole.log('locked');\nsetInterval(() => {}, 1000);\n`,
  );
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('run-folder lock', () => {
  it('refuses a folder a live process holds, naming its pid; takes over once that process is SIGKILLed', async () => {
    const dir = path.join(tmp, 'run-a');
    const child = await holder(dir);
    let err: unknown;
    try {
      acquireRunLock(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunFolderLockedError);
    expect((err as RunFolderLockedError).ownerPid).toBe(child.pid);
    expect((err as Error).message).toMatch(new RegExp(`in use by process ${child.pid} .*kill ${child.pid}`));

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The killed process could not clean up: its lock is still there, naming it.
    expect(JSON.parse(await fs.readFile(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(child.pid);
    const logs: string[] = [];
    const lock = acquireRunLock(dir, { log: (l) => logs.push(l) });
    expect(logs.join('\n')).toMatch(new RegExp(`locked by process ${child.pid}, which is gone`));
    expect(JSON.parse(await fs.readFile(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    // Held by this process now: a second take in the same process is refused too.
    expect(() => acquireRunLock(dir)).toThrow(/already in use by this process/);
    lock.release();
    await expect(fs.access(path.join(dir, LOCK_FILE))).rejects.toThrow();
    lock.release(); // idempotent
  });

  it('a reused pid (same pid, other start time) and an old unreadable lock count as stale', async () => {
    const dir = path.join(tmp, 'run-b');
    await fs.mkdir(dir, { recursive: true });
    // The pid is alive (it is ours), but the process that wrote the lock started at another time.
    await fs.writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), procStart: '1', startedAt: 'then', command: 'old' }));
    const a = acquireRunLock(dir);
    a.release();
    // A lock file cut short by a kill, older than a few seconds.
    await fs.writeFile(path.join(dir, LOCK_FILE), '{"pid": 12');
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(path.join(dir, LOCK_FILE), old, old);
    const b = acquireRunLock(dir);
    expect(JSON.parse(await fs.readFile(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    b.release();
  });

  it('every trainer (CycleGAN, CUT, SR) refuses a run folder a live run holds, before touching it', async () => {
    const dir = path.join(tmp, 'run-c');
    const child = await holder(dir);
    const pidRe = new RegExp(`in use by process ${child.pid}`);
    const common = { data: path.join(tmp, 'nope'), out: dir, resume: true, backend: 'wasm', log: () => {} };
    await expect(runCycleGan(common as unknown as RunOptions)).rejects.toThrow(pidRe);
    await expect(runCut(common as unknown as Parameters<typeof runCut>[0])).rejects.toThrow(pidRe);
    await expect(trainSr(common as unknown as SrTrainOptions)).rejects.toThrow(pidRe);
    // Nothing was written next to the lock.
    expect(await fs.readdir(dir)).toEqual([LOCK_FILE]);
    child.kill('SIGKILL');
  });
});

describe('CycleGAN resume with changed architecture flags', () => {
  it('is refused, naming each flag and the checkpoint value; unchanged flags resume', async () => {
    const data = path.join(tmp, 'toy');
    for (const d of ['trainA', 'trainB']) await fs.mkdir(path.join(data, d), { recursive: true });
    for (let i = 0; i < 2; i++) {
      for (const [d, v] of [['trainA', 200], ['trainB', 40]] as const) {
        const px = Buffer.alloc(40 * 40 * 3, v + i * 7);
        await sharp(px, { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(path.join(data, d, `${i}.png`));
      }
    }
    const o: RunOptions = {
      data, out: path.join(tmp, 'cg'), resume: false, generator: 'light', ngf: 4, nBlocks: 1, ndf: 4, dLayers: 2, loss: 'lsgan',
      lambdaCycle: 10, lambdaIdt: 0.5, gpWeight: 10, poolSize: 2, lr: 2e-4, lrD: 2e-4, beta1: 0.5, batchSize: 1, crop: 32, loadSize: 36,
      steps: 1, decayFrom: 1, seed: 1, checkpointEvery: 1, sampleEvery: 100, logEvery: 1, keep: 2, backend: 'wasm', healthWindow: 4,
      maxRollbacks: 1, log: () => {},
    };
    (await runCycleGan(o)).trainer.dispose();
    await expect(runCycleGan({ ...o, resume: true, steps: 2, nBlocks: 3, dLayers: 3 })).rejects.toThrow(
      /--resume: .*step-00000001 was trained with other networks .*--blocks 3 \(the checkpoint has 1\), --d-layers 3 \(the checkpoint has 2\)/,
    );
    // From the CLI only explicitly given flags count: defaults do not block a resume.
    const r = await runCycleGan({ ...o, resume: true, steps: 2, ngf: 64, explicit: [] });
    expect(r.trainer.step).toBe(2);
    expect(r.trainer.opts.ngf).toBe(4);
    r.trainer.dispose();
  });
});
