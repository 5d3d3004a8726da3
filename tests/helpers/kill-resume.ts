/**
 * The kill-and-resume harness of the GAN training tests (tests/cyclegan, tests/cut): a real
 * `ganvas train <task>` child process, killed with SIGKILL as soon as its first checkpoint exists,
 * and the comparison of the resumed run's checkpoints with an uninterrupted run's.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, readCheckpointState } from '../../training/checkpoint';

/** The repository root (the child processes run there). */
export const ROOT = path.resolve(__dirname, '../..');

/** The command line of `ganvas train <task> ...args` (node with tsx). */
export function trainCli(task: string, args: string[]): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: ['--import', 'tsx', path.join(ROOT, 'training/cli.ts'), 'train', task, ...args] };
}

/** The arguments of a tiny `train cyclegan|cut` run (the task adds its own): the networks of toyRunOptions, a checkpoint every 2 steps. */
export const toyTrainArgs = (data: string, out: string, steps: number) => [
  '--data', data, '--out', out, '--generator', 'light', '--ngf', '4', '--blocks', '1', '--ndf', '4', '--d-layers', '2',
  '--crop', '32', '--load-size', '36', '--steps', String(steps), '--decay-from', '3', '--checkpoint-every', '2',
  '--sample-every', '100', '--seed', '5', '--backend', 'wasm', '--keep', '10', '--log-every', '1',
];

/**
 * Starts `cmd args` in ROOT, kill -9s it as soon as `<out>/checkpoints/latest` exists and waits
 * for it to exit; rejects when it exits by itself first. Returns the killed process's pid.
 */
export async function killAtFirstCheckpoint(cmd: string, args: string[], out: string): Promise<number | undefined> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: 'ignore' });
  const latestFile = path.join(out, 'checkpoints', 'latest');
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(async () => {
      try {
        await fs.access(latestFile);
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      } catch {
        /* not yet */
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== null) reject(new Error(`child exited (${code}) before it was killed`));
    });
  });
  await new Promise((r) => child.once('exit', r));
  return child.pid;
}

/**
 * Expects checkpoint `step` of the killed-and-resumed run and of the reference run to hold the
 * same RNG state and the same models: weights below 1e-12 apart at the step the killed run saved
 * (`savedStep`), below 1e-5 later (Adam restore rounds ~1e-7), and outputs on one random 32x32
 * input below 1e-12 / 1e-4 apart. The biases of convs that feed an instance norm have a zero
 * gradient: Adam turns its float noise into lr-sized steps that the norm removes again, so after
 * the saved step a model's rank < 2 weights are compared only when `biases` is set (models without
 * such a norm), and otherwise through the outputs (`output`).
 */
export async function expectSameCheckpoint(
  killed: string,
  ref: string,
  step: number,
  savedStep: number,
  models: { name: string; biases: boolean; output: boolean }[],
): Promise<void> {
  const name = `step-${String(step).padStart(8, '0')}`;
  const a = await readCheckpointState(path.join(killed, 'checkpoints', name));
  const b = await readCheckpointState(path.join(ref, 'checkpoints', name));
  expect(a.state.rng).toBe(b.state.rng);
  for (const m of models) {
    const ma = await loadLayersModel(path.join(killed, 'checkpoints', name, 'models', m.name));
    const mb = await loadLayersModel(path.join(ref, 'checkpoints', name, 'models', m.name));
    const wb = mb.getWeights();
    ma.getWeights().forEach((w, i) => {
      if (w.rank < 2 && step !== savedStep && !m.biases) return;
      const diff = tf.max(tf.abs(tf.sub(w, wb[i]))).dataSync()[0];
      expect(diff, `${m.name} ${ma.weights[i].name} at step ${step}`).toBeLessThan(step === savedStep ? 1e-12 : 1e-5);
    });
    if (m.output) {
      const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 9);
      const out = tf.max(tf.abs(tf.sub(ma.predict(x) as tf.Tensor, mb.predict(x) as tf.Tensor))).dataSync()[0];
      expect(out, `${m.name} output at step ${step}`).toBeLessThan(step === savedStep ? 1e-12 : 1e-4);
    }
  }
}
