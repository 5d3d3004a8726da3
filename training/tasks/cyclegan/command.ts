import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GAN_LOSSES, type GanLoss } from './losses';
import type { RunOptions } from './train';

const int = (name: string, min = 0) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};
const num = (name: string, min = 0) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
  return n;
};

export function registerCycleGanCommands(train: Command, evaluate: Command): void {
  train
    .command('cyclegan')
    .description('train a CycleGAN (Zhu et al. 2017) on a folder with trainA/ and trainB/ (resumable, live GAN-health monitoring)')
    .requiredOption('--data <folder>', 'dataset folder holding trainA/ and trainB/ (optionally testA/, testB/ for samples)')
    .option('--out <folder>', 'run folder (checkpoints, metrics.jsonl, loss.png, samples/)', '')
    .option('--resume', 'continue from the newest checkpoint in --out (weights, Adam state, pools, RNG, LR schedule, step)', false)
    .addOption(new Option('--generator <kind>', 'resnet (published), light (real-time, depthwise-separable) or tiny (webcam: light with 3x3 stem/head, separable downsampling and U-Net skips)').choices(['resnet', 'light', 'tiny']).default('resnet'))
    .option('--ngf <n>', 'generator base channels', int('--ngf', 1), 64)
    .option('--blocks <n>', 'residual blocks (default: 9 when crop >= 256, else 6)', int('--blocks', 0))
    .option('--ndf <n>', 'PatchGAN base channels', int('--ndf', 1), 64)
    .option('--d-layers <n>', 'PatchGAN stride-2 layers (3 = 70x70 receptive field)', int('--d-layers', 1), 3)
    .addOption(new Option('--loss <kind>', 'adversarial loss').choices([...GAN_LOSSES]).default('lsgan'))
    .option('--lambda-cycle <x>', 'cycle-consistency weight', num('--lambda-cycle'), 10)
    .option('--lambda-idt <x>', 'identity loss weight, as a fraction of --lambda-cycle (0 disables)', num('--lambda-idt'), 0.5)
    .option('--gp-weight <x>', 'WGAN-GP gradient penalty weight', num('--gp-weight'), 10)
    .option('--pool <n>', 'image history pool size', int('--pool'), 50)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), 2e-4)
    .option('--lr-d <x>', 'discriminator learning rate (default: --lr)', num('--lr-d'))
    .option('--beta1 <x>', 'Adam beta1', num('--beta1'), 0.5)
    .option('--batch <n>', 'batch size', int('--batch', 1), 1)
    .option('--load-size <n>', 'images are resized to this square size, then randomly cropped (default: crop * 286/256)', int('--load-size', 4))
    .option('--crop <n>', 'training crop size (multiple of 4)', int('--crop', 4), 256)
    .option('--steps <n>', 'total steps', int('--steps', 1), 200_000)
    .option('--decay-from <n>', 'step where the LR starts its linear decay to 0 (default: steps / 2)', int('--decay-from'))
    .option('--seed <n>', 'seed for init, crops, flips and pool', int('--seed'), 1)
    .option('--checkpoint-every <n>', 'steps between checkpoints', int('--checkpoint-every', 1), 500)
    .option('--sample-every <n>', 'steps between sample grids, loss plot and mode-collapse checks', int('--sample-every', 1), 250)
    .option('--log-every <n>', 'steps between progress lines when not on a terminal', int('--log-every', 1), 10)
    .option('--keep <n>', 'checkpoints kept', int('--keep', 1), 3)
    .option('--health-window <n>', 'steps the D-overpowering detector looks at', int('--health-window', 4), 100)
    .option('--max-minutes <x>', 'stop (with a checkpoint) after this many minutes', num('--max-minutes'))
    .option('--limit <n>', 'use at most this many images per folder', int('--limit', 1))
    .option('--backend <name>', 'tfjs backend (auto, wasm, cpu, webgpu, tensorflow, tensorflow-gpu)', 'auto')
    .action(async (opts, cmd: Command) => {
      const { runCycleGan } = await import('./train');
      const crop = opts.crop as number;
      const steps = opts.steps as number;
      const runOpts: RunOptions = {
        data: opts.data,
        out: opts.out || path.join('runs', `cyclegan-${path.basename(path.resolve(opts.data))}`),
        resume: opts.resume,
        // On --resume, architecture flags given on the command line must match the checkpoint.
        explicit: [['generator', 'generator'], ['ngf', 'ngf'], ['blocks', 'nBlocks'], ['ndf', 'ndf'], ['dLayers', 'dLayers']]
          .filter(([flag]) => cmd.getOptionValueSource(flag) === 'cli')
          .map(([, key]) => key),
        generator: opts.generator,
        ngf: opts.ngf,
        nBlocks: opts.blocks ?? (crop >= 256 ? 9 : 6),
        ndf: opts.ndf,
        dLayers: opts.dLayers,
        loss: opts.loss as GanLoss,
        lambdaCycle: opts.lambdaCycle,
        lambdaIdt: opts.lambdaIdt,
        gpWeight: opts.gpWeight,
        poolSize: opts.pool,
        lr: opts.lr,
        lrD: opts.lrD ?? opts.lr,
        beta1: opts.beta1,
        batchSize: opts.batch,
        crop,
        loadSize: opts.loadSize ?? Math.round((crop * 286) / 256),
        steps,
        decayFrom: opts.decayFrom ?? Math.floor(steps / 2),
        seed: opts.seed,
        checkpointEvery: opts.checkpointEvery,
        sampleEvery: opts.sampleEvery,
        logEvery: opts.logEvery,
        keep: opts.keep,
        healthWindow: opts.healthWindow,
        maxRollbacks: 5,
        maxMinutes: opts.maxMinutes,
        limit: opts.limit,
        backend: opts.backend,
        // On --resume the schedule comes from the checkpoint unless --steps/--decay-from are given.
        keepSavedSchedule: cmd.getOptionValueSource('steps') !== 'cli' && cmd.getOptionValueSource('decayFrom') !== 'cli',
      };
      await runCycleGan(runOpts);
    });

  registerEvalCommand(evaluate);
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
