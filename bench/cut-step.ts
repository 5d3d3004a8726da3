/**
 * CUT / FastCUT vs CycleGAN step cost (`npm run bench:cut`): one training step of each on the same
 * generator and the same 70x70 PatchGAN (ndf 64) at 128x128, batch 1, on the wasm backend (one
 * thread). CycleGAN: two generators, two discriminators, cycle + identity, pool 50. CUT: one
 * generator (run on x and y for identity NCE), one discriminator, PatchNCE on 5 encoder layers
 * (256 patches, MLP heads 256). FastCUT: the same without identity NCE.
 *
 * Reported per row: median process CPU time per step (the engine is single-threaded, so this is
 * what a step costs on an idle core even when the machine is shared) and wall time, and the ratio
 * to CycleGAN. Prints JSON and writes docs/bench-cut.md.
 *
 * Options: --steps N (timed steps per row, default 3), --generators light,tiny, --crop 128.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../training/backends';
import { Rng } from '../training/data/unpaired';
import type { GeneratorKind } from '../training/models/gan';
import { countParams } from '../training/models/stats';
import { CycleGanTrainer } from '../training/tasks/cyclegan/trainer';
import { CutTrainer, modeDefaults, type CutMode } from '../training/tasks/cut/trainer';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};

const GEN: Record<string, { generator: GeneratorKind; ngf: number; nBlocks: number }> = {
  light: { generator: 'light', ngf: 32, nBlocks: 6 },
  tiny: { generator: 'tiny', ngf: 16, nBlocks: 6 },
  resnet: { generator: 'resnet', ngf: 32, nBlocks: 6 },
};

interface Row {
  generator: string;
  method: 'CycleGAN' | 'CUT' | 'FastCUT';
  cpuMs: number;
  wallMs: number;
  params: number;
  ratioToCycleGan?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const steps = Number(arg('steps', '3'));
  const crop = Number(arg('crop', '128'));
  const gens = arg('generators', 'light,tiny').split(',');
  const backend = await initBackend({ backend: 'wasm', log: () => {} });
  const load = os.loadavg()[0];
  const rng = new Rng(1);
  const img = () => Float32Array.from({ length: crop * crop * 3 }, () => rng.next() * 2 - 1);
  const common = { ndf: 64, dLayers: 3, loss: 'lsgan' as const, gpWeight: 10, lr: 2e-4, lrD: 2e-4, beta1: 0.5, batchSize: 1, crop, steps: 1000, decayFrom: 500, seed: 1 };
  const rows: Row[] = [];
  const time = (step: () => void) => {
    step(); // warm-up: kernels, Adam slots
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      step();
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    return { cpuMs: median(cpu), wallMs: median(wall) };
  };
  for (const g of gens) {
    const net = GEN[g];
    if (!net) throw new Error(`unknown generator ${g} (${Object.keys(GEN).join(', ')})`);
    const cg = await CycleGanTrainer.create({ ...common, ...net, lambdaCycle: 10, lambdaIdt: 0.5, poolSize: 50 });
    const r = time(() => cg.trainStep(img(), img()));
    rows.push({ generator: `${g} (ngf ${net.ngf}, ${net.nBlocks} blocks)`, method: 'CycleGAN', ...r, params: countParams(cg.G) * 2 + countParams(cg.DA) * 2 });
    cg.dispose();
    for (const mode of ['cut', 'fastcut'] as CutMode[]) {
      const t = await CutTrainer.create({ ...common, ...net, mode, ...modeDefaults(mode), lambdaGan: 1, numPatches: 256, nceT: 0.07, netFNc: 256 });
      const rr = time(() => t.trainStep(img(), img()));
      rows.push({
        generator: `${g} (ngf ${net.ngf}, ${net.nBlocks} blocks)`,
        method: mode === 'cut' ? 'CUT' : 'FastCUT',
        ...rr,
        params: countParams(t.G) + countParams(t.D) + t.heads.reduce((a, h) => a + countParams(h), 0),
      });
      t.dispose();
    }
  }
  for (const r of rows) {
    const ref = rows.find((x) => x.generator === r.generator && x.method === 'CycleGAN')!;
    r.ratioToCycleGan = r.cpuMs / ref.cpuMs;
  }
  const when = new Date().toISOString();
  console.log(JSON.stringify({ when, backend: backend.name, crop, steps, loadAverage1m: load, tensorsLeft: tf.memory().numTensors, rows }, null, 1));
  const md = [
    '# CUT / FastCUT vs CycleGAN: cost of one training step',
    '',
    `Measured ${when} by \`npm run bench:cut\` on ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores, shared; 1-minute load average at start ${load.toFixed(1)}), ` +
      `tfjs wasm backend (one thread), ${crop}x${crop} crops, batch 1, 70x70 PatchGAN ndf 64, LSGAN; median of ${steps} steps after one warm-up step.`,
    'CPU time is what a step costs on an idle core (the engine is single-threaded); wall time includes waiting for the shared cores.',
    '',
    '| generator | method | CPU ms / step | wall ms / step | trained parameters | CPU time vs CycleGAN |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.generator} | ${r.method} | ${r.cpuMs.toFixed(0)} | ${r.wallMs.toFixed(0)} | ${(r.params / 1e6).toFixed(2)}M | ${r.ratioToCycleGan!.toFixed(2)}x |`),
    '',
    'CycleGAN trains two generators and two discriminators (cycle: 4 generator passes per step); CUT one generator on x and y',
    '(identity NCE) plus the encoder passes for PatchNCE; FastCUT one generator on x only. The paper reports FastCUT at about',
    'half the cost of CycleGAN per step.',
    '',
  ].join('\n');
  writeFileSync(path.join(ROOT, 'docs', 'bench-cut.md'), md);
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
