import path from 'node:path';
import { Command, Option } from 'commander';
import { addGanTrainOptions, ganRunOptionsFromCli, int, num } from '../shared/gan-command';
import type { RunOptions } from './train';

export function registerCycleGanCommands(train: Command, evaluate: Command): void {
  addGanTrainOptions(
    train
      .command('cyclegan')
      .description('train a CycleGAN (Zhu et al. 2017) on a folder with trainA/ and trainB/ (resumable, live GAN-health monitoring)'),
    {
      data: 'dataset folder holding trainA/ and trainB/ (optionally testA/, testB/ for samples)',
      resume: 'continue from the newest checkpoint in --out (weights, Adam state, pools, RNG, LR schedule, step)',
      generator: 'resnet (published), light (real-time, depthwise-separable), tiny (webcam: light with 3x3 stem/head, separable downsampling and U-Net skips) or halfres (webcam: works at 1/2 and 1/4 resolution, adds a learned full-resolution residual to the input; ~3x faster than tiny at equal size)',
      decayFrom: 'step where the LR starts its linear decay to 0 (default: steps / 2)',
      seed: 'seed for init, crops, flips and pool',
    },
    {
      losses: (c) =>
        c
          .option('--lambda-cycle <x>', 'cycle-consistency weight', num('--lambda-cycle'), 10)
          .option('--lambda-idt <x>', 'identity loss weight, as a fraction of --lambda-cycle (0 disables)', num('--lambda-idt'), 0.5)
          .option('--gp-weight <x>', 'WGAN-GP gradient penalty weight', num('--gp-weight'), 10)
          .option('--pool <n>', 'image history pool size', int('--pool'), 50),
    },
  )
    .option('--no-domain-worker', "compute both domains' halves of a step on one thread (default: domain B's in a worker thread, on the native and wasm backends)")
    .action(async (opts, cmd: Command) => {
      const { runCycleGan } = await import('./train');
      await runCycleGan(cycleganRunOptionsFromCli(opts, (name) => cmd.getOptionValueSource(name) === 'cli'));
    });

  registerEvalCommand(evaluate);
}

/** The run options a `train cyclegan` command line asks for (`fromCli(name)`: was the option set on the command line?). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function cycleganRunOptionsFromCli(opts: Record<string, any>, fromCli: (option: string) => boolean): RunOptions {
  const run: RunOptions = ganRunOptionsFromCli(opts, fromCli, {
    head: {
      data: opts.data,
      out: opts.out || path.join('runs', `cyclegan-${path.basename(path.resolve(opts.data))}`),
      resume: opts.resume,
      // On --resume, architecture flags given on the command line must match the checkpoint.
      explicit: [['generator', 'generator'], ['ngf', 'ngf'], ['blocks', 'nBlocks'], ['ndf', 'ndf'], ['dLayers', 'dLayers']]
        .filter(([flag]) => fromCli(flag))
        .map(([, key]) => key),
    },
    losses: { lambdaCycle: opts.lambdaCycle, lambdaIdt: opts.lambdaIdt, gpWeight: opts.gpWeight, poolSize: opts.pool },
    decayFrom: (steps) => Math.floor(steps / 2),
  });
  return { ...run, domainWorker: opts.domainWorker !== false };
}

function registerEvalCommand(evaluate: Command): void {
  evaluate
    .command('cyclegan')
    .description(
      'evaluate translation models that follow the manifest contract (ONNX, incl. third-party, or a tfjs checkpoint): ' +
        'domain-classifier target share, cycle L1 (needs both directions), ms per 256x256 image, grid of test translations',
    )
    .requiredOption('--data <folder>', 'dataset folder with testA/ testB/ (and trainA/ trainB/ to train the domain classifier once)')
    .option('--model <file|id>', 'the A->B model: ONNX file, manifest id, or run folder / checkpoint (uses its G)')
    .option('--inverse <file|id>', 'the model of the opposite direction (for cycle L1; same forms; a checkpoint brings its own)')
    .addOption(new Option('--direction <d>', 'which way --model maps (default: its manifest entry, else AtoB)').choices(['AtoB', 'BtoA']))
    .option('--manifest <file>', 'manifest to read ids and tensor specs from', 'public/models/manifest.json')
    .option('--range <lo,hi>', 'input/output range of an ONNX model without manifest entry: -1,1 or 0,1', '-1,1')
    .option('--size <n>', 'evaluation size (images resized to size x size)', int('--size', 4), 256)
    .option('--limit <n>', 'at most this many test images per domain', int('--limit', 1))
    .option('--out <folder>', 'where the grid PNG and report JSON go', 'runs/eval')
    .option('--classifier-dir <folder>', 'domain classifier cache (default checkpoints/classifiers/<dataset>)')
    .option('--classifier-epochs <n>', 'epochs when the classifier has to be trained', int('--classifier-epochs', 1), 6)
    .option('--backend <name>', 'tfjs backend for the classifier and tfjs models', 'auto')
    .action(async (opts) => {
      const { runEvalCommand } = await import('../../eval/cyclegan/evaluate');
      await runEvalCommand(opts);
    });
}
