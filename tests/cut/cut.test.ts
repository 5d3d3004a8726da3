/**
 * CUT and FastCUT end to end on a handful of tiny images (32x32 crops, ngf 4, 1 residual block,
 * PatchGAN ndf 4 / 2 layers, 16 patches, MLP heads of width 8), real tfjs training steps on the
 * wasm backend: every GAN loss on every generator, the identity-collapse detector provoked,
 * resume refused on changed architecture flags, SIGKILL + --resume in child processes against
 * an uninterrupted run, and ONNX export of the generator with parity.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { runCut, type CutRunOptions } from '../../training/tasks/cut/train';
import { modeDefaults } from '../../training/tasks/cut/trainer';
import { findLatestCheckpoint, loadLayersModel, modelFolder, readCheckpointState, saveCheckpoint } from '../../training/checkpoint';
import { IdentityCollapseDetector } from '../../training/health/detectors';
import { buildGenerator } from '../../training/models/gan';
import { exportOnnx } from '../../training/export';
import { expectSameCheckpoint, killAtFirstCheckpoint, ROOT, toyTrainArgs, trainCli } from '../helpers/kill-resume';
import { toyRunOptions, writeToyDataset } from '../helpers/toy-data';

let tmp: string;
let data: string;

const base = (over: Partial<CutRunOptions> = {}): CutRunOptions => ({
  ...toyRunOptions(data, tmp),
  mode: 'cut',
  ...modeDefaults(over.mode ?? 'cut'),
  lambdaGan: 1,
  numPatches: 16,
  nceT: 0.07,
  netFNc: 8,
  steps: 3,
  decayFrom: 1,
  sampleEvery: 3,
  collapseWindow: 3,
  collapseThreshold: 0.02,
  ...over,
});

const readRows = async (out: string) => (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-cut-'));
  data = path.join(tmp, 'toy');
  await writeToyDataset(data, { train: 4, test: 2 });
});

describe('CUT / FastCUT training', () => {
  const cases = [
    { mode: 'cut', loss: 'lsgan', generator: 'light' },
    { mode: 'cut', loss: 'vanilla', generator: 'resnet' },
    { mode: 'cut', loss: 'wgan-gp', generator: 'tiny' },
    { mode: 'fastcut', loss: 'lsgan', generator: 'tiny' },
  ] as const;
  for (const c of cases) {
    it(`${c.mode} with the ${c.loss} loss on the ${c.generator} generator: finite losses, metrics, plot, samples, checkpoint`, async () => {
      const o = base({ mode: c.mode, ...modeDefaults(c.mode), loss: c.loss, generator: c.generator });
      const r = await runCut(o);
      expect(r.stoppedBy).toBe('steps');
      expect(r.trainer.step).toBe(3);
      const rows = await readRows(o.out);
      const steps = rows.filter((x) => x.event === undefined);
      expect(steps.map((x) => x.step)).toEqual([1, 2, 3]);
      for (const s of steps) {
        for (const k of ['gAdv', 'nce', 'nceIdt', 'dReal', 'dFake', 'dAccReal', 'dAccFake', 'gradNormG', 'gradNormD', 'identityDistance', 'lr']) {
          expect(Number.isFinite(s[k]), `${k} at step ${s.step}`).toBe(true);
        }
        // NCE with 16 patches starts near log(16) = 2.8 (times lambda); identity NCE only in CUT mode.
        expect(s.nce).toBeGreaterThan(0.5 * o.lambdaNce);
        if (c.mode === 'cut') expect(s.nceIdt).toBeGreaterThan(0.5);
        else expect(s.nceIdt).toBe(0);
        if (c.loss === 'wgan-gp') expect(s.gp).toBeGreaterThan(0);
        expect(s.identityDistance).toBeGreaterThan(0.05);
      }
      expect(steps.map((x) => x.lr)).toEqual([2e-4, 2e-4, 1e-4]);
      const ck = await findLatestCheckpoint(path.join(o.out, 'checkpoints'));
      expect(ck).toMatch(/step-00000003$/);
      const st = await readCheckpointState(ck!);
      expect(st.state.nceLayers).toEqual(r.trainer.nceLayers);
      expect(r.trainer.nceLayers.length).toBe(4); // 1 residual block: pad, 2 downsamplings, block 0
      expect((await fs.readdir(path.join(ck!, 'models'))).sort()).toEqual(['D', 'G', 'H0', 'H1', 'H2', 'H3']);
      expect((await sharp(path.join(o.out, 'loss.png')).metadata()).format).toBe('png');
      expect((await sharp(path.join(o.out, 'samples', 'step-0000003.png')).metadata()).width).toBeGreaterThan(4 * 32);
      r.trainer.dispose();
    });
  }

  it('one step updates G, every MLP head and D (against an untrained trainer with the same seed)', async () => {
    const r = await runCut(base({ steps: 1 }));
    const fresh = await runCut(base({ steps: 0 }));
    expect(fresh.trainer.step).toBe(0);
    const pairs: [tfl.LayersModel, tfl.LayersModel][] = [[r.trainer.G, fresh.trainer.G], [r.trainer.D, fresh.trainer.D], ...r.trainer.heads.map((h, i) => [h, fresh.trainer.heads[i]] as [tfl.LayersModel, tfl.LayersModel])];
    for (const [a, b] of pairs) {
      const wb = b.getWeights();
      const d = a.getWeights().reduce((m, w, i) => Math.max(m, tf.max(tf.abs(tf.sub(w, wb[i]))).dataSync()[0]), 0);
      expect(d, a.name).toBeGreaterThan(0);
    }
    r.trainer.dispose();
    fresh.trainer.dispose();
  });
});

describe('identity collapse (FastCUT)', () => {
  it('fires in real FastCUT training when the output stays within the threshold of the input, and names the remedy', async () => {
    // Threshold above any real |G(x) - x| of this run: every step counts as "unchanged".
    const o = base({ mode: 'fastcut', ...modeDefaults('fastcut'), steps: 4, collapseWindow: 3, collapseThreshold: 5 });
    const r = await runCut(o);
    const w = r.warnings.find((x) => x.detector === 'identity-collapse');
    expect(w, 'no identity-collapse warning').toBeDefined();
    expect(w!.step).toBe(3);
    expect(w!.evidence.max).toBeLessThan(5);
    expect(await fs.readFile(path.join(o.out, 'health.log'), 'utf8')).toMatch(/WARN identity-collapse @ step 3.*lower --lambda-nce/);
    expect((await readRows(o.out)).some((x) => x.event === 'health' && x.detector === 'identity-collapse')).toBe(true);
    r.trainer.dispose();
    // The same run at the real threshold: an untrained generator is far from the identity.
    const q = await runCut(base({ mode: 'fastcut', ...modeDefaults('fastcut'), steps: 4, collapseWindow: 3 }));
    expect(q.warnings.some((x) => x.detector === 'identity-collapse')).toBe(false);
    q.trainer.dispose();
  });

  it('catches a generator that copies its input, not a real one, measured as the trainer does', async () => {
    // A real network that collapsed to the identity: a 1x1 conv whose kernel is I (+ tiny noise).
    const copy = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [null, null, 3], filters: 3, kernelSize: 1, useBias: true })] });
    copy.setWeights([tf.add(tf.reshape(tf.eye(3), [1, 1, 3, 3]), tf.randomUniform([1, 1, 3, 3], -0.003, 0.003, 'float32', 1)), tf.zeros([3])]);
    const real = await buildGenerator({ generator: 'tiny', ngf: 4, nBlocks: 1, ndf: 4, dLayers: 2 }, 'G', 5);
    const verdict = (g: tfl.LayersModel) => {
      const det = new IdentityCollapseDetector({ window: 5 });
      let fired = false;
      for (let step = 1; step <= 6; step++) {
        const d = tf.tidy(() => {
          const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', step);
          return tf.mean(tf.abs(tf.sub(g.apply(x) as tf.Tensor, x))).dataSync()[0];
        });
        if (det.update(step, d)) fired = true;
      }
      return fired;
    };
    expect(verdict(copy)).toBe(true);
    expect(verdict(real)).toBe(false);
    copy.dispose();
    real.dispose();
  });
});

describe('CUT resume', () => {
  it('refuses a resume whose architecture flags differ from the checkpoint, naming them', async () => {
    const o = base({ steps: 2 });
    (await runCut(o)).trainer.dispose();
    await expect(runCut({ ...o, resume: true, steps: 3, ngf: 8, generator: 'tiny', explicit: ['ngf', 'generator'] })).rejects.toThrow(
      /--generator tiny \(the checkpoint has light\), --ngf 8 \(the checkpoint has 4\).*drop these flags/,
    );
    // Flags not given explicitly (CLI defaults) do not block a resume.
    const r = await runCut({ ...o, resume: true, steps: 3, ngf: 64, explicit: [] });
    expect(r.trainer.step).toBe(3);
    expect(r.trainer.opts.ngf).toBe(4);
    r.trainer.dispose();
  });
});

describe('weight average of the generator (--ema)', () => {
  const latest = async (out: string) => (await findLatestCheckpoint(path.join(out, 'checkpoints')))!;

  it('is checkpointed as G-ema, resumed exactly without the flag, started on a resume with it, and what the curve and export read', async () => {
    const full = base({ steps: 4, ema: 0.5 });
    (await runCut(full)).trainer.dispose();
    const split = base({ steps: 2, ema: 0.5 });
    (await runCut(split)).trainer.dispose();
    const lines: string[] = [];
    const resumed = await runCut({ ...base({ steps: 4 }), out: split.out, resume: true, explicit: [], log: (l) => lines.push(l) });
    expect(resumed.trainer.opts.ema).toBe(0.5); // kept from the checkpoint
    expect(lines).toContain('weight average (EMA) of G, decay 0.5, 2 updates so far (checkpointed as G-ema)');
    resumed.trainer.dispose();
    const [a, b] = [await latest(full.out), await latest(split.out)];
    const st = await readCheckpointState(a);
    expect(st.models).toContain('G-ema');
    expect(st.state.ema).toEqual({ decay: 0.5, updates: 4 });
    expect((await readCheckpointState(b)).state.ema).toEqual({ decay: 0.5, updates: 4 });
    // resumed = uninterrupted, compared through the outputs as the kill-and-resume test does (the
    // biases in front of an instance norm get no gradient worth the name and wander at float noise)
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 4);
    const out = async (ckpt: string, name: string) => (await loadLayersModel(path.join(ckpt, 'models', name))).predict(x) as tf.Tensor;
    const gap = async (p: tf.Tensor, q: tf.Tensor) => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0];
    expect(await gap(await out(b, 'G-ema'), await out(a, 'G-ema'))).toBeLessThan(1e-5);
    // the average is not the last weights
    expect(await gap(await out(a, 'G-ema'), await out(a, 'G'))).toBeGreaterThan(1e-4);
    expect(await modelFolder(a, 'G')).toBe(path.join(a, 'models', 'G-ema'));
    expect(await modelFolder(a, 'G', 'trained')).toBe(path.join(a, 'models', 'G'));
    // a run without averages gains them on a resume with --ema, starting at the resumed weights
    const plain = base({ steps: 2 });
    (await runCut(plain)).trainer.dispose();
    expect(await modelFolder(await latest(plain.out), 'G')).toBe(path.join(await latest(plain.out), 'models', 'G'));
    const later = await runCut({ ...base({ steps: 3, ema: 0.9 }), out: plain.out, resume: true, explicit: [] });
    expect(later.trainer.averages.G.average.updates).toBe(1);
    later.trainer.dispose();
    expect((await readCheckpointState(await latest(plain.out))).state.ema).toEqual({ decay: 0.9, updates: 1 });
  }, 120_000);
});

describe('distillation from a teacher generator (--teacher)', () => {
  /** A checkpoint whose G maps x to -x (a colour negative): a target no untrained generator is near. */
  const negativeTeacher = async (dir: string) => {
    const input = tfl.input({ shape: [null, null, 3] });
    const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false, kernelInitializer: 'zeros', name: 'negate' });
    const G = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor, name: 'G' });
    G.getLayer('negate').setWeights([tf.reshape(tf.mul(tf.eye(3), -1), [1, 1, 3, 3])]);
    await saveCheckpoint(path.join(dir, 'checkpoints'), { step: 1, models: { G }, state: {} });
    G.dispose();
  };

  it('pulls G towards T(x) (GAN and NCE off: the gap to the teacher shrinks), logs the term, survives a moved teacher on --resume', async () => {
    const teacher = path.join(tmp, 'teacher-negative');
    await negativeTeacher(teacher);
    const lines: string[] = [];
    const o = base({ steps: 40, decayFrom: 40, lr: 5e-3, lambdaGan: 0, lambdaNce: 0, nceIdt: false, teacher, lambdaTeacher: 10, checkpointEvery: 40, log: (l) => lines.push(l) });
    const r = await runCut(o);
    expect(lines.some((l) => l.startsWith(`distilling from ${teacher} (0.000M parameters): lambda 10 x mean |G(x) - T(x)|`))).toBe(true);
    const rows = (await readRows(o.out)).filter((x) => x.event === undefined);
    for (const row of rows) expect(row.distill).toBeGreaterThan(0);
    const d = rows.map((row) => row.distill as number);
    expect(d.slice(-5).reduce((a, b) => a + b, 0) / 5).toBeLessThan(0.4 * d[0]);
    // on a held-out test image: the trained G against its untrained start (same seed), measured to -x
    const { data: px, info } = await sharp(path.join(data, 'testA', 'a0.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const x = tf.tensor4d(Float32Array.from(px, (v) => v / 127.5 - 1), [1, info.height, info.width, 3]);
    const gap = (G: tfl.LayersModel) => tf.tidy(() => tf.mean(tf.abs(tf.add(G.predict(x) as tf.Tensor, x))).dataSync()[0]);
    const start = await buildGenerator(o, 'G', o.seed * 1000 + 1);
    const [before, after] = [gap(start), gap(r.trainer.G)];
    expect(before).toBeGreaterThan(0.3);
    expect(after).toBeLessThan(0.5 * before);
    start.dispose();
    r.trainer.dispose();
    // the teacher moves: a resume names the fix, and --teacher with its new place continues
    const moved = path.join(tmp, 'teacher-moved');
    await fs.rename(teacher, moved);
    const again = { ...o, resume: true, steps: 42, explicit: [], teacher: undefined };
    await expect(runCut(again)).rejects.toThrow(/--teacher: .*teacher-negative does not exist \(a resumed run reads its saved teacher: pass --teacher/);
    const r2 = await runCut({ ...again, teacher: moved, lambdaTeacher: 10 });
    expect(r2.trainer.step).toBe(42);
    expect(r2.trainer.opts.teacher).toBe(moved);
    r2.trainer.dispose();
    await expect(runCut(base({ steps: 1, teacher: path.join(tmp, 'no-such-run'), lambdaTeacher: 10 }))).rejects.toThrow(/--teacher: .*no-such-run does not exist/);
  }, 120_000);

  it('--degrade-inputs: G sees the degraded photo and the teacher the clean one; the loop degrades, a resume keeps the saved share', async () => {
    const teacher = path.join(tmp, 'teacher-negative-2');
    await negativeTeacher(teacher);
    const lines: string[] = [];
    const o = base({ steps: 2, lambdaGan: 0, lambdaNce: 0, nceIdt: false, teacher, lambdaTeacher: 10, degradeInputs: 1, checkpointEvery: 2, log: (l) => lines.push(l) });
    const r = await runCut(o);
    expect(lines).toContain('source photos degraded (blur, noise, JPEG) before G: 100% of them, the teacher translates the clean ones');
    const t = r.trainer;
    const c = t.opts.crop;
    const a = tf.randomUniform([1, c, c, 3], -1, 1, 'float32', 7);
    const b = tf.randomUniform([1, c, c, 3], -1, 1, 'float32', 8);
    const aData = a.dataSync() as Float32Array;
    const bData = b.dataSync() as Float32Array;
    // the teacher (x -> -x) of an all-zero clean photo is 0: distill = 10 mean |G(a)|, not 10 mean |G(a) + a|
    const gOf = () => tf.tidy(() => [tf.mean(tf.abs(t.G.predict(a) as tf.Tensor)).dataSync()[0], tf.mean(tf.abs(tf.add(t.G.predict(a) as tf.Tensor, a))).dataSync()[0]]);
    const [toZero, toNeg] = gOf();
    expect(Math.abs(toZero - toNeg)).toBeGreaterThan(0.05);
    expect(t.trainStep(aData, bData, new Float32Array(aData.length)).distill).toBeCloseTo(10 * toZero, 3);
    const [, toNeg2] = gOf();
    expect(t.trainStep(aData, bData).distill).toBeCloseTo(10 * toNeg2, 3); // no clean copy: the teacher sees what G saw
    tf.dispose([a, b]);
    t.dispose();
    // the loop drew the degradations from the run's Rng: the same run without them ends elsewhere
    const clean = base({ ...o, out: path.join(tmp, 'no-degrade'), degradeInputs: undefined, log: () => {} });
    (await runCut(clean)).trainer.dispose();
    const rngOf = async (out: string) => (await readCheckpointState((await findLatestCheckpoint(path.join(out, 'checkpoints')))!)).state.rng;
    expect(await rngOf(o.out)).not.toEqual(await rngOf(clean.out));
    // a resume keeps the saved share unless the command line gives one
    const kept = await runCut({ ...o, resume: true, steps: 3, explicit: [], degradeInputs: undefined, log: () => {} });
    expect(kept.trainer.opts.degradeInputs).toBe(1);
    kept.trainer.dispose();
    const off = await runCut({ ...o, resume: true, steps: 4, explicit: [], degradeInputs: 0, log: () => {} });
    expect(off.trainer.opts.degradeInputs).toBe(0);
    off.trainer.dispose();
  }, 120_000);
});

const cli = (args: string[]) => trainCli('cut', args);

const childArgs = (out: string, steps: number) => [...toyTrainArgs(data, out, steps), '--mode', 'cut', '--num-patches', '16', '--netf-nc', '8'];

describe('CUT kill and resume', () => {
  it('SIGKILL after the first checkpoint, --resume continues from the saved step and ends where an uninterrupted run ends', async () => {
    const killed = path.join(tmp, 'killed');
    const ref = path.join(tmp, 'ref');
    const steps = 6;
    const { cmd, args } = cli(childArgs(killed, steps));
    const pid = await killAtFirstCheckpoint(cmd, args, killed);
    const saved = await findLatestCheckpoint(path.join(killed, 'checkpoints'));
    const state = await readCheckpointState(saved!);
    expect(state.step).toBeGreaterThanOrEqual(2);
    expect(state.step).toBeLessThan(steps);
    // The killed process left its run lock behind; the resumed run takes it over.
    expect(JSON.parse(await fs.readFile(path.join(killed, 'run.lock'), 'utf8')).pid).toBe(pid);

    const resumed = spawnSync(cmd, [...args, '--resume'], { cwd: ROOT, encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`was locked by process ${pid}, which is gone`);
    expect(resumed.stdout).toContain(`at step ${state.step} (rng ${(state.state as { rng: number }).rng},`);
    await expect(fs.access(path.join(killed, 'run.lock'))).rejects.toThrow();

    const full = spawnSync(cmd, cli(childArgs(ref, steps)).args, { cwd: ROOT, encoding: 'utf8' });
    expect(full.status, full.stderr).toBe(0);

    // The MLP heads feed no instance norm: their biases are compared too; G and D also through their outputs.
    const models = [
      { name: 'G', biases: false, output: true },
      { name: 'D', biases: false, output: true },
      { name: 'H0', biases: true, output: false },
      { name: 'H3', biases: true, output: false },
    ];
    for (const step of [state.step, steps]) await expectSameCheckpoint(killed, ref, step, state.step, models);
    const rowsA = await readRows(killed);
    expect(rowsA.filter((r) => r.event === undefined).map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 240_000);
});

describe('CUT export', () => {
  it('exports the generator to ONNX with parity (the shared exporter)', async () => {
    const o = base({ steps: 1, generator: 'tiny' });
    const r = await runCut(o);
    const file = path.join(tmp, 'cut.onnx');
    const rep = await exportOnnx(r.trainer.G, { outFile: file, inputRange: [-1, 1], outputRange: [-1, 1], multipleOf: 4 });
    expect(rep.maxAbsDiff).toBeLessThan(rep.tolerance);
    expect((await fs.stat(file)).size).toBeGreaterThan(1000);
    // The checkpoint's G (what `npm run export` reads) is the same model.
    const g = await loadLayersModel(path.join((await findLatestCheckpoint(path.join(o.out, 'checkpoints')))!, 'models', 'G'));
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 2);
    expect(tf.max(tf.abs(tf.sub(g.predict(x) as tf.Tensor, r.trainer.G.predict(x) as tf.Tensor))).dataSync()[0]).toBe(0);
    r.trainer.dispose();
  });
});
