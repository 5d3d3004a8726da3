import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GAN_LOSSES, type GanLoss } from '../cyclegan/losses';
import { CUT_MODES, modeDefaults, type CutMode } from './trainer';
import type { CutRunOptions } from './train';

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
const bool = (name: string) => (v: string) => {
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v)) throw new InvalidArgumentError(`${name} must be true or false`);
  return ['true', '1', 'yes'].includes(v);
};

/** CLI option name -> CutRunOptions key, for the options a resumed run checks against its checkpoint. */
const ARCH_FLAGS: Record<string, string> = { mode: 'mode', generator: 'generator', ngf: 'ngf', blocks: 'nBlocks', ndf: 'ndf', dLayers: 'dLayers', netfNc: 'netFNc' };

export function registerCutCommands(train: Command): void {
  train
    .command('cut')
    .description('train CUT or FastCUT (Park et al. 2020: one generator, PatchNCE instead of a cycle) on a folder with trainA/ and trainB/ (resumable, live GAN-health monitoring)')
    .requiredOption('--data <folder>', 'dataset folder holding trainA/ (x) and trainB/ (y) (optionally testA/, testB/ for samples)')
    .option('--out <folder>', 'run folder (checkpoints, metrics.jsonl, loss.png, samples/)', '')
    .option('--resume', 'continue from the newest checkpoint in --out (weights, MLP heads, Adam state, RNG, LR schedule, step)', false)
    .addOption(new Option('--mode <mode>', 'cut: NCE weight 1 + identity NCE; fastcut: NCE weight 10, no identity NCE, flip equivariance').choices([...CUT_MODES]).default('cut'))
    .addOption(new Option('--generator <kind>', 'resnet (published), light (real-time) or tiny (webcam); NCE layers come from its encoder').choices(['resnet', 'light', 'tiny']).default('resnet'))
    .option('--ngf <n>', 'generator base channels', int('--ngf', 1), 64)
    .option('--blocks <n>', 'residual blocks (default: 9 when crop >= 256, else 6)', int('--blocks', 0))
    .option('--ndf <n>', 'PatchGAN base channels', int('--ndf', 1), 64)
    .option('--d-layers <n>', 'PatchGAN stride-2 layers (3 = 70x70 receptive field)', int('--d-layers', 1), 3)
    .addOption(new Option('--loss <kind>', 'adversarial loss').choices([...GAN_LOSSES]).default('lsgan'))
    .option('--lambda-gan <x>', 'adversarial loss weight', num('--lambda-gan'), 1)
    .option('--lambda-nce <x>', 'PatchNCE weight (default: 1 for cut, 10 for fastcut)', num('--lambda-nce'))
    .option('--nce-idt <bool>', 'identity NCE on y -> G(y) (default: true for cut, false for fastcut)', bool('--nce-idt'))
    .option('--flip-equivariance <bool>', 'flip the input half the time and the query features back (default: false for cut, true for fastcut)', bool('--flip-equivariance'))
    .option('--num-patches <n>', 'patches per NCE layer', int('--num-patches', 1), 256)
    .option('--nce-t <x>', 'NCE temperature', num('--nce-t', 1e-6), 0.07)
    .option('--netf-nc <n>', 'width of the 2-layer MLP heads', int('--netf-nc', 1), 256)
    .option('--gp-weight <x>', 'WGAN-GP gradient penalty weight', num('--gp-weight'), 10)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), 2e-4)
    .option('--lr-d <x>', 'discriminator learning rate (default: --lr)', num('--lr-d'))
    .option('--beta1 <x>', 'Adam beta1', num('--beta1'), 0.5)
    .option('--batch <n>', 'batch size', int('--batch', 1), 1)
    .option('--load-size <n>', 'images are resized to this square size, then randomly cropped (default: crop * 286/256)', int('--load-size', 4))
    .option('--crop <n>', 'training crop size (multiple of 4)', int('--crop', 4), 256)
    .option('--steps <n>', 'total steps', int('--steps', 1), 200_000)
    .option('--decay-from <n>', 'step where the LR starts its linear decay to 0 (default, as the reference: steps / 2 for cut, 3/4 of steps for fastcut)', int('--decay-from'))
    .option('--seed <n>', 'seed for init, crops, flips and patch locations', int('--seed'), 1)
    .option('--checkpoint-every <n>', 'steps between checkpoints', int('--checkpoint-every', 1), 500)
    .option('--sample-every <n>', 'steps between sample grids, loss plot and mode-collapse checks', int('--sample-every', 1), 250)
    .option('--log-every <n>', 'steps between progress lines when not on a terminal', int('--log-every', 1), 10)
    .option('--keep <n>', 'checkpoints kept', int('--keep', 1), 3)
    .option('--health-window <n>', 'steps the D-overpowering detector looks at', int('--health-window', 4), 100)
    .option('--collapse-window <n>', 'steps the identity-collapse detector looks at', int('--collapse-window', 1), 100)
    .option('--collapse-threshold <x>', 'mean |G(x) - x| (in [-1, 1] units) below which the output counts as unchanged', num('--collapse-threshold'), 0.02)
    .option('--max-minutes <x>', 'stop (with a checkpoint) after this many minutes', num('--max-minutes'))
    .option('--limit <n>', 'use at most this many images per folder', int('--limit', 1))
    .option('--backend <name>', 'tfjs backend (auto, wasm, cpu, webgpu, tensorflow, tensorflow-gpu)', 'auto')
    .action(async (opts, cmd: Command) => {
      const { runCut } = await import('./train');
      await runCut(cutRunOptionsFromCli(opts, (name) => cmd.getOptionValueSource(name) === 'cli'));
    });
}

/**
 * The run options a `train cut` command line asks for: --mode fills in the paper's settings for
 * every flag that was not given (`fromCli(name)`: was the option set on the command line?).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function cutRunOptionsFromCli(opts: Record<string, any>, fromCli: (option: string) => boolean): CutRunOptions {
  const crop = opts.crop as number;
  const steps = opts.steps as number;
  const mode = opts.mode as CutMode;
  const d = modeDefaults(mode);
  return {
    data: opts.data,
    out: opts.out || path.join('runs', `${mode}-${path.basename(path.resolve(opts.data))}`),
    resume: opts.resume,
    explicit: Object.entries(ARCH_FLAGS).filter(([flag]) => fromCli(flag)).map(([, key]) => key),
    mode,
    generator: opts.generator,
    ngf: opts.ngf,
    nBlocks: opts.blocks ?? (crop >= 256 ? 9 : 6),
    ndf: opts.ndf,
    dLayers: opts.dLayers,
    loss: opts.loss as GanLoss,
    lambdaGan: opts.lambdaGan,
    lambdaNce: opts.lambdaNce ?? d.lambdaNce,
    nceIdt: opts.nceIdt ?? d.nceIdt,
    flipEquivariance: opts.flipEquivariance ?? d.flipEquivariance,
    numPatches: opts.numPatches,
    nceT: opts.nceT,
    netFNc: opts.netfNc,
    gpWeight: opts.gpWeight,
    lr: opts.lr,
    lrD: opts.lrD ?? opts.lr,
    beta1: opts.beta1,
    batchSize: opts.batch,
    crop,
    loadSize: opts.loadSize ?? Math.round((crop * 286) / 256),
    steps,
    decayFrom: opts.decayFrom ?? Math.floor(steps * (mode === 'fastcut' ? 0.75 : 0.5)),
    seed: opts.seed,
    checkpointEvery: opts.checkpointEvery,
    sampleEvery: opts.sampleEvery,
    logEvery: opts.logEvery,
    keep: opts.keep,
    healthWindow: opts.healthWindow,
    collapseWindow: opts.collapseWindow,
    collapseThreshold: opts.collapseThreshold,
    maxRollbacks: 5,
    maxMinutes: opts.maxMinutes,
    limit: opts.limit,
    backend: opts.backend,
    keepSavedSchedule: !fromCli('steps') && !fromCli('decayFrom'),
  };
}
