/**
 * CycleGAN end to end on a handful of tiny images (32x32 crops, ngf 4, 1 block, PatchGAN ndf 4 /
 * 2 layers), with real tfjs training steps on the wasm backend: every GAN loss, bad input,
 * health detectors provoked in real training, SIGKILL + resume in child processes, ONNX export
 * with parity, and evaluation through onnxruntime-node.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { runCycleGan, type RunOptions } from '../../training/tasks/cyclegan/train';
import { loadUnpairedDataset } from '../../training/data/unpaired';
import { findLatestCheckpoint, readCheckpointState } from '../../training/checkpoint';
import { modeCollapseCheck } from '../../training/health/detectors';
import { exportOnnx } from '../../training/export';
import { evaluateTranslation } from '../../training/eval/cyclegan/evaluate';
import { trainDomainClassifier } from '../../training/eval/cyclegan/classifier';
import { onnxTranslator, resolveTranslator } from '../../training/eval/cyclegan/translators';
import { lightGenerator } from '../../training/models/light-generator';
import { halfResGenerator } from '../../training/models/halfres-generator';
import { countParams, macs } from '../../training/models/stats';
import { expectSameCheckpoint, killAtFirstCheckpoint, ROOT, toyTrainArgs, trainCli } from '../helpers/kill-resume';
import { toyImage, toyRunOptions, writeToyDataset } from '../helpers/toy-data';

let tmp: string;
let data: string;

const base = (over: Partial<RunOptions> = {}): RunOptions => ({
  ...toyRunOptions(data, tmp),
  lambdaCycle: 10,
  lambdaIdt: 0.5,
  poolSize: 3,
  steps: 4,
  decayFrom: 2,
  sampleEvery: 2,
  ...over,
});

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cyclegan-'));
  data = path.join(tmp, 'toy');
  await writeToyDataset(data, { train: 5, test: 3 });
  // Bad input a real folder has: a grayscale image, another size, a corrupt file, a non-image.
  await toyImage(path.join(data, 'trainA', 'gray.png'), 40, 40, 'red', 7, 1);
  await toyImage(path.join(data, 'trainB', 'big.png'), 64, 50, 'blue', 8);
  await fs.writeFile(path.join(data, 'trainA', 'broken.jpg'), 'not a jpeg at all');
  await fs.writeFile(path.join(data, 'trainB', 'notes.txt'), 'hello');
});

describe('CycleGAN data', () => {
  it('skips and counts bad files, expands grayscale, resizes mixed sizes', async () => {
    const ds = await loadUnpairedDataset(data, { loadSize: 36 });
    expect(ds.trainA.images.length).toBe(6);
    const gray = ds.trainA.images[ds.trainA.files.findIndex((f) => f.endsWith('gray.png'))];
    expect(gray.data.length).toBe(36 * 36 * 3);
    expect(gray.data[30]).toBe(gray.data[31]);
    expect(gray.data[31]).toBe(gray.data[32]);
    expect(ds.trainA.report.skipped.map((s) => s.file)).toEqual(['broken.jpg']);
    expect(ds.trainB.report.skipped.map((s) => s.file)).toEqual(['notes.txt']);
    expect(ds.trainB.images.every((im) => im.width === 36 && im.height === 36 && im.data.length === 36 * 36 * 3)).toBe(true);
  });

  it('refuses folders without trainA/trainB or with too few images, saying what is needed', async () => {
    const bad = path.join(tmp, 'bad');
    await fs.mkdir(path.join(bad, 'trainA'), { recursive: true });
    await expect(loadUnpairedDataset(bad, { loadSize: 36 })).rejects.toThrow(/lacks trainB.*needs trainA\/.*trainB\//);
    await fs.mkdir(path.join(bad, 'trainB'));
    await toyImage(path.join(bad, 'trainA', 'x.png'), 40, 40, 'red', 1);
    await toyImage(path.join(bad, 'trainB', 'y.png'), 40, 40, 'blue', 2);
    await expect(loadUnpairedDataset(bad, { loadSize: 36 })).rejects.toThrow(/has 1 usable image\(s\); at least 2 are needed/);
    await expect(loadUnpairedDataset(path.join(tmp, 'nope'), { loadSize: 36 })).rejects.toThrow(/does not exist/);
  });
});

describe('CycleGAN training', () => {
  for (const loss of ['lsgan', 'vanilla', 'wgan-gp'] as const) {
    it(`trains with the ${loss} loss: finite losses, metrics, plot, samples, checkpoints`, async () => {
      const o = base({ loss });
      const r = await runCycleGan(o);
      expect(r.trainer.step).toBe(4);
      expect(r.stoppedBy).toBe('steps');
      const rows = (await fs.readFile(path.join(o.out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      const steps = rows.filter((x) => x.event === undefined);
      expect(steps.map((x) => x.step)).toEqual([1, 2, 3, 4]);
      for (const s of steps) {
        for (const k of ['gAdv', 'cycle', 'idt', 'dReal', 'dFake', 'dAccReal', 'dAccFake', 'gradNormG', 'gradNormD', 'lr']) {
          expect(Number.isFinite(s[k]), `${k} at step ${s.step}`).toBe(true);
        }
        if (loss === 'wgan-gp') expect(s.gp).toBeGreaterThan(0);
      }
      // The LR is constant until decayFrom (2), then decays linearly to 0 at step 4.
      expect(steps.map((x) => x.lr)).toEqual([2e-4, 2e-4, 2e-4, 1e-4]);
      expect(rows.some((x) => x.event === 'diversity')).toBe(true);
      const png = await sharp(path.join(o.out, 'loss.png')).metadata();
      expect(png.format).toBe('png');
      const grid = await sharp(path.join(o.out, 'samples', 'step-0000004.png')).metadata();
      expect(grid.width).toBeGreaterThan(6 * 32);
      expect(await findLatestCheckpoint(path.join(o.out, 'checkpoints'))).toMatch(/step-00000004$/);
      r.trainer.dispose();
    });
  }

  it('divergence: a NaN weight makes the loop roll back to the last checkpoint with half the LR (weight averages too)', async () => {
    const o = base({
      steps: 5,
      ema: 0.9,
      onStep: (m, t) => {
        // onStep runs before that step's checkpoint, so poisoning at 3 leaves checkpoint 2 clean.
        if (m.step === 3 && t.lrScale === 1) {
          const w = t.G.getWeights();
          const bad = w.map((x, i) => (i === 0 ? tf.fill(x.shape, NaN) : x));
          t.G.setWeights(bad);
        }
      },
    });
    const r = await runCycleGan(o);
    expect(r.warnings.some((w) => w.detector === 'divergence')).toBe(true);
    expect(r.trainer.lrScale).toBe(0.5);
    expect(r.trainer.step).toBe(5);
    const rows = (await fs.readFile(path.join(o.out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const rb = rows.find((x) => x.event === 'rollback');
    expect(rb.step).toBe(2);
    expect(rb.checkpoint).toMatch(/step-00000002$/);
    expect(Number.isFinite(r.trainer.G.getWeights()[0].dataSync()[0])).toBe(true);
    // both generators' averages are checkpointed, restored by the rollback (their count with them) and finite
    const last = await readCheckpointState((await findLatestCheckpoint(path.join(o.out, 'checkpoints')))!);
    expect(last.models).toEqual(expect.arrayContaining(['G-ema', 'F-ema']));
    expect(last.state.ema).toEqual({ decay: 0.9, updates: 5 });
    for (const a of Object.values(r.trainer.averages)) expect(a.average.model.getWeights().every((w) => w.dataSync().every(Number.isFinite))).toBe(true);
    r.trainer.dispose();
  });

  it('D overpowering: a frozen G (lr 0) against a fast D makes the detector fire in real training', async () => {
    const o = base({ steps: 20, decayFrom: 20, lr: 0, lrD: 2e-3, ndf: 8, poolSize: 0, healthWindow: 10, checkpointEvery: 100, sampleEvery: 100 });
    const r = await runCycleGan(o);
    const w = r.warnings.find((x) => x.detector === 'd-overpowering');
    expect(w, 'no d-overpowering warning').toBeDefined();
    expect(w!.evidence.dAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(w!.evidence.gAdvSecondHalf).toBeGreaterThan(w!.evidence.gAdvFirstHalf);
    expect(await fs.readFile(path.join(o.out, 'health.log'), 'utf8')).toMatch(/WARN d-overpowering/);
    r.trainer.dispose();
  });

  it('mode collapse: the detector fires on a collapsed generator, not on the trained one', async () => {
    const o = base({ steps: 2 });
    const r = await runCycleGan(o);
    const ds = await loadUnpairedDataset(data, { loadSize: 32, withTest: true });
    const toF = (im: { data: Uint8Array }) => Float32Array.from(im.data, (v) => v / 127.5 - 1);
    const srcA = ds.trainA.images.map(toF);
    const realB = ds.trainB.images.map(toF);
    const translate = () => srcA.map((a) => tf.tidy(() => r.trainer.translate(tf.tensor4d(a, [1, 32, 32, 3]), 'AtoB').dataSync() as Float32Array).slice());
    expect(modeCollapseCheck(2, translate(), realB).warning).toBeNull();
    // Collapse G for real: zero the last conv's kernel, so every input maps to tanh(bias).
    const w = r.trainer.G.getWeights();
    const kernels = w.map((x, i) => i).filter((i) => w[i].rank === 4);
    const last = kernels[kernels.length - 1];
    r.trainer.G.setWeights(w.map((x, i) => (i === last ? tf.zerosLike(x) : x)));
    const mc = modeCollapseCheck(2, translate(), realB);
    expect(mc.warning?.detector).toBe('mode-collapse');
    r.trainer.dispose();
  });
});

const cli = (args: string[]) => trainCli('cyclegan', args);

const childArgs = (out: string, steps: number) => [...toyTrainArgs(data, out, steps), '--pool', '3'];

describe('CycleGAN kill and resume', () => {
  it('SIGKILL after the first checkpoint, --resume continues from the saved step with identical state', async () => {
    const killed = path.join(tmp, 'killed');
    const ref = path.join(tmp, 'ref');
    const steps = 8;
    // 1. Start a real training process and kill -9 it as soon as a checkpoint exists.
    const { cmd, args } = cli(childArgs(killed, steps));
    await killAtFirstCheckpoint(cmd, args, killed);
    const saved = await findLatestCheckpoint(path.join(killed, 'checkpoints'));
    expect(saved).not.toBeNull();
    const state = await readCheckpointState(saved!);
    expect(state.step).toBeGreaterThanOrEqual(2);
    expect(state.step).toBeLessThan(steps);

    // 2. Resume it to the end.
    const resumed = spawnSync(cmd, [...args, '--resume'], { cwd: ROOT, encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`at step ${state.step} (rng ${(state.state as { rng: number }).rng},`);
    expect(resumed.stdout).toMatch(new RegExp(`step ${state.step + 1}/${steps} `));

    // 3. The same run without interruption.
    const full = spawnSync(cmd, cli(childArgs(ref, steps)).args, { cwd: ROOT, encoding: 'utf8' });
    expect(full.status, full.stderr).toBe(0);

    // Same state at the saved step and at the end: weights (Adam restore rounds ~1e-7), RNG, pools.
    for (const step of [state.step, steps]) {
      await expectSameCheckpoint(killed, ref, step, state.step, ['G', 'F', 'DA', 'DB'].map((name) => ({ name, biases: false, output: true })));
    }
    const rowsA = (await fs.readFile(path.join(killed, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rowsA.filter((r) => r.event === undefined).map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 240_000);

  it('Ctrl-C twice (terminal + npm/tsx relay) still stops after the step with a checkpoint', async () => {
    const out = path.join(tmp, 'sigint');
    const { cmd, args } = cli(childArgs(out, 500));
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    // after the first training step an interrupt; once the trainer has said it received that one,
    // a second (a one-shot listener let this one kill the run without a checkpoint)
    await new Promise<void>((resolve, reject) => {
      let sent = false;
      const timer = setInterval(() => {
        if (!sent && /step 1\/500 /.test(stdout)) {
          sent = true;
          child.kill('SIGINT');
        }
        if (sent && /SIGINT: stopping after this step/.test(stdout)) {
          clearInterval(timer);
          child.kill('SIGINT');
          resolve();
        }
      }, 5);
      child.on('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`child exited (${code}) before the first step`));
      });
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/stopped \(signal\) at step \d+\/500/);
    const saved = await findLatestCheckpoint(path.join(out, 'checkpoints'));
    expect(saved).not.toBeNull();
    expect((await readCheckpointState(saved!)).step).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('Ctrl-C in a terminal on `npm run train` (SIGINT to the whole process group, mid-step) stops with a checkpoint', async () => {
    // The tsx CLI as the script's runner relayed the signal to its child and SIGKILLed it when the child,
    // busy in a step, had not answered within 60 ms: no checkpoint. package.json runs `node --import tsx`.
    const out = path.join(tmp, 'ctrl-c');
    const args = [...childArgs(out, 500), '--ngf', '16', '--batch', '6', '--no-domain-worker'];
    const child = spawn('npm', ['run', '--silent', 'train', '--', 'cyclegan', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/step 2\/500 /.test(stdout)) {
          clearInterval(timer);
          // inside step 3 (~0.5-1 s here): what the terminal does, npm, sh and node all get it
          setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 200);
          resolve();
        }
      }, 5);
      void exited.then((code) => {
        clearInterval(timer);
        reject(new Error(`npm run train exited (${code}) before its second step:\n${stdout}`));
      });
    });
    await exited; // npm itself then exits by the signal it got, as it does for any script
    const stopped = /stopped \(signal\) at step (\d+)\/500/.exec(stdout);
    expect(stopped, stdout).not.toBeNull();
    const saved = await findLatestCheckpoint(path.join(out, 'checkpoints'));
    expect((await readCheckpointState(saved!)).step).toBe(Number(stopped![1]));
  }, 120_000);

  it('a bare --resume keeps the crop and the load size of the checkpoint (not the CLI defaults)', async () => {
    const out = path.join(tmp, 'bare-resume');
    const first = cli(childArgs(out, 2));
    const r1 = spawnSync(first.cmd, first.args, { cwd: ROOT, encoding: 'utf8' });
    expect(r1.status, r1.stderr).toBe(0);
    // no --crop, no --load-size: the defaults (256 and 286) must not replace the run's 32 / 36
    const bare = cli(['--data', data, '--out', out, '--resume', '--steps', '3', '--backend', 'wasm', '--log-every', '1']);
    const r2 = spawnSync(bare.cmd, bare.args, { cwd: ROOT, encoding: 'utf8' });
    expect(r2.status, r2.stderr).toBe(0);
    const latest = await findLatestCheckpoint(path.join(out, 'checkpoints'));
    const st = await readCheckpointState(latest!);
    expect(st.step).toBe(3);
    expect(st.state.loadSize).toBe(36);
    expect((st.state.options as { crop: number }).crop).toBe(32);
  }, 120_000);
});

describe('CycleGAN export and evaluation', () => {
  it('exports G and F to ONNX with parity, evaluates them through onnxruntime with the domain classifier', async () => {
    const o = base({ steps: 2 });
    const r = await runCycleGan(o);
    const gFile = path.join(tmp, 'a2b.onnx');
    const fFile = path.join(tmp, 'b2a.onnx');
    for (const [m, f] of [[r.trainer.G, gFile], [r.trainer.F, fFile]] as const) {
      const rep = await exportOnnx(m, { outFile: f, inputRange: [-1, 1], outputRange: [-1, 1], multipleOf: 4 });
      expect(rep.maxAbsDiff).toBeLessThan(rep.tolerance);
    }
    const ds = await loadUnpairedDataset(data, { loadSize: 40, withTest: true });
    const classifier = await trainDomainClassifier(ds, { epochs: 2 });
    expect(classifier.meta.testAccuracy.balanced).toBeGreaterThanOrEqual(0.5);
    const entry = { input: { name: 'input', range: [-1, 1] as [number, number] }, output: { name: 'output', range: [-1, 1] as [number, number] }, multipleOf: 4 };
    const g = await onnxTranslator(gFile, entry, [-1, 1]);
    const f = await onnxTranslator(fFile, null, [-1, 1]);
    const res = await evaluateTranslation({ ds, direction: 'AtoB', model: g, inverse: f, classifier, size: 32, gridFile: path.join(tmp, 'eval.png') });
    expect(res.images).toBe(3);
    expect(res.metrics.classifierTargetShare).toBeGreaterThanOrEqual(0);
    expect(res.metrics.classifierTargetShare).toBeLessThanOrEqual(1);
    expect(res.metrics.cycleL1).toBeGreaterThan(0);
    expect(res.metrics.cycleL1).toBeLessThan(1);
    expect(res.metrics.msPer256).toBeGreaterThan(0);
    // The checkpoint (converted in memory, as eval and the learning curve run it) and the exported ONNX files give the same cycle L1.
    const ck = await resolveTranslator(path.join(o.out, 'checkpoints'), { generator: 'G' });
    const ckInv = await resolveTranslator(path.join(o.out, 'checkpoints'), { generator: 'F' });
    const res2 = await evaluateTranslation({ ds, direction: 'AtoB', model: ck.translator, inverse: ckInv.translator, classifier, size: 32 });
    expect(Math.abs(res2.metrics.cycleL1! - res.metrics.cycleL1!)).toBeLessThan(2e-3);
    expect((await sharp(path.join(tmp, 'eval.png')).metadata()).format).toBe('png');
    r.trainer.dispose();
  });

  it('the half-resolution webcam generator: same size out as in, the identity until trained, ngf 24 x 6 blocks within 140K parameters and 0.7 GMACs', async () => {
    const g = halfResGenerator({ ngf: 24, nBlocks: 6 });
    expect(countParams(g)).toBeLessThanOrEqual(140e3);
    expect(macs(g, 256, 256) / 1e9).toBeLessThanOrEqual(0.7);
    for (const [h, w] of [[36, 28], [64, 64]]) {
      const x = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', h);
      const y = g.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([1, h, w, 3]);
      expect(tf.max(tf.abs(tf.sub(y, x))).dataSync()[0]).toBe(0);
      tf.dispose([x, y]);
    }
    // one CycleGAN-style training step on it moves the output off the identity (the zero-initialised conv gets a gradient)
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 5);
    const opt = tf.train.adam(1e-2);
    opt.minimize(() => tf.mean(tf.abs(tf.sub(g.apply(x) as tf.Tensor, tf.zerosLike(x)))) as tf.Scalar);
    expect(tf.mean(tf.abs(tf.sub(g.predict(x) as tf.Tensor, x))).dataSync()[0]).toBeGreaterThan(1e-3);
    g.dispose();
  });

  it('the light generator meets the real-time budget: <= 1M parameters, <= 4 GMACs at 256x256', () => {
    const g = lightGenerator({ ngf: 32, nBlocks: 6 });
    expect(countParams(g)).toBeLessThanOrEqual(1e6);
    expect(macs(g, 256, 256) / 1e9).toBeLessThanOrEqual(4);
    g.dispose();
  });
});
