/**
 * The command-line options every GAN training command (`train cyclegan`, `train cut`) takes, their
 * number parsers, and the run options they become. The task's own options go in at fixed places,
 * so --help lists the options, and the run options (saved with every checkpoint and in
 * metrics.jsonl) hold their keys, in the order they always had.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { GAN_LOSSES, type GanLoss } from '../cyclegan/losses';
import { formatDiffAugPolicy, parseDiffAugPolicy } from '../../models/diffaugment';
import { GENERATOR_KINDS } from '../../models/gan';
import { checkDecay, emaFromCli } from '../../models/weight-average';

export const int = (name: string, min = 0) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

export const num = (name: string, min = 0) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
  return n;
};

/** --diffaug: the policy as the run options store it ('none' or the ops joined by commas). */
export const diffAugPolicy = (v: string) => {
  try {
    return formatDiffAugPolicy(parseDiffAugPolicy(v));
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** The help texts that differ between the tasks. */
export interface GanTrainHelp {
  data: string;
  resume: string;
  generator: string;
  decayFrom: string;
  seed: string;
}

/** Adds the task's own options to a command (a chain of .option calls). */
type AddOptions = (cmd: Command) => Command;

/**
 * Adds the shared GAN training options to `cmd`; the task's own options go after --resume
 * (`afterResume`), between --loss and --lr (`losses`), and after --health-window (`health`).
 */
export function addGanTrainOptions(cmd: Command, help: GanTrainHelp, own: { afterResume?: AddOptions; losses: AddOptions; health?: AddOptions }): Command {
  cmd
    .requiredOption('--data <folder>', help.data)
    .option('--out <folder>', 'run folder (checkpoints, metrics.jsonl, loss.png, samples/)', '')
    .option('--resume', help.resume, false);
  own.afterResume?.(cmd);
  cmd
    .addOption(new Option('--generator <kind>', help.generator).choices([...GENERATOR_KINDS]).default('resnet'))
    .option('--ngf <n>', 'generator base channels', int('--ngf', 1), 64)
    .option('--blocks <n>', 'residual blocks (default: 9 when crop >= 256, else 6)', int('--blocks', 0))
    .option('--ndf <n>', 'PatchGAN base channels (default: 64 for resnet; --ngf for light, tiny and halfres, so the discriminator costs about what the generator does)', int('--ndf', 1))
    .option('--d-layers <n>', 'PatchGAN stride-2 layers (3 = 70x70 receptive field)', int('--d-layers', 1), 3)
    .addOption(new Option('--loss <kind>', 'adversarial loss').choices([...GAN_LOSSES]).default('lsgan'));
  own.losses(cmd);
  cmd.option(
    '--diffaug <policy>',
    'DiffAugment (Zhao et al. 2020): the discriminator sees randomly augmented real and fake images, the same ops for both ' +
      '(comma-separated: color, translation, cutout; none = off), so it cannot memorise a small target domain; ' +
      'try color,translation,cutout for a few hundred images such as Monet\'s 255 paintings. A --resume may change it',
    diffAugPolicy,
    'none',
  );
  cmd
    .option('--lr <x>', 'Adam learning rate', num('--lr'), 2e-4)
    .option('--lr-d <x>', 'discriminator learning rate (default: --lr)', num('--lr-d'))
    .option('--beta1 <x>', 'Adam beta1', num('--beta1'), 0.5)
    .option('--batch <n>', 'batch size', int('--batch', 1), 1)
    .option('--load-size <n>', 'images are resized to this square size, then randomly cropped (default: crop * 286/256)', int('--load-size', 4))
    .option('--crop <n>', 'training crop size (multiple of 4)', int('--crop', 4), 256)
    .option('--steps <n>', 'total steps', int('--steps', 1), 200_000)
    .option('--decay-from <n>', help.decayFrom, int('--decay-from'))
    .option('--seed <n>', help.seed, int('--seed'), 1)
    .option(
      '--ema <decay>',
      'decay of the exponential moving average of the generator weights kept beside them (G-ema, F-ema in every checkpoint; the learning curve, export and shipping use it); default 0.999 for a new run, while a --resume keeps what the checkpoint has',
      (v: string) => {
        try {
          return checkDecay(Number(v));
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      },
    )
    .option('--no-ema', 'keep no weight average')
    .option('--checkpoint-every <n>', 'steps between checkpoints', int('--checkpoint-every', 1), 500)
    .option('--sample-every <n>', 'steps between sample grids, loss plot and mode-collapse checks', int('--sample-every', 1), 250)
    .option('--log-every <n>', 'steps between progress lines when not on a terminal', int('--log-every', 1), 10)
    .option('--keep <n>', 'checkpoints kept', int('--keep', 1), 3)
    .option('--health-window <n>', 'steps the D-overpowering detector looks at', int('--health-window', 4), 100);
  own.health?.(cmd);
  return cmd
    .option('--max-minutes <x>', 'stop (with a checkpoint) after this many minutes', num('--max-minutes'))
    .option('--limit <n>', 'use at most this many images per folder', int('--limit', 1))
    .option('--backend <name>', 'tfjs backend (auto, wasm, cpu, webgpu, tensorflow, tensorflow-gpu)', 'auto');
}

/**
 * The PatchGAN width when --ndf is not given: the published 64 next to the ResNet generator; the
 * generator's own width next to the real-time ones (at 128 px a 70x70 PatchGAN with ndf 64 costs
 * several times a tiny ngf-16 generator's step, and a discriminator that much stronger than its
 * generator wins the game early).
 */
export function defaultNdf(generator: string, ngf: number): number {
  return generator === 'resnet' ? 64 : ngf;
}

/**
 * The run options a GAN training command line asks for: the task's `head` (data, out, resume,
 * explicit, ...), the networks, the task's `losses`, optimiser and schedule (`decayFrom(steps)`
 * when --decay-from is not given), the run-folder settings, the task's `health` options, the
 * limits. `fromCli(name)`: was the option set on the command line?
 */
export function ganRunOptionsFromCli<H extends object, L extends object, X extends object>(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  opts: Record<string, any>,
  fromCli: (option: string) => boolean,
  own: { head: H; losses: L; decayFrom: (steps: number) => number; health?: X },
) {
  const crop = opts.crop as number;
  const steps = opts.steps as number;
  const ema = emaFromCli(opts.ema, Boolean(opts.resume));
  return {
    ...own.head,
    generator: opts.generator,
    ngf: opts.ngf,
    nBlocks: opts.blocks ?? (crop >= 256 ? 9 : 6),
    ndf: opts.ndf ?? defaultNdf(opts.generator, opts.ngf),
    dLayers: opts.dLayers,
    loss: opts.loss as GanLoss,
    ...own.losses,
    diffAug: opts.diffaug as string,
    ...(ema !== undefined ? { ema } : {}),
    lr: opts.lr,
    lrD: opts.lrD ?? opts.lr,
    beta1: opts.beta1,
    batchSize: opts.batch,
    crop,
    loadSize: opts.loadSize ?? Math.round((crop * 286) / 256),
    keepSavedLoadSize: !fromCli('loadSize'),
    steps,
    decayFrom: opts.decayFrom ?? own.decayFrom(steps),
    seed: opts.seed,
    checkpointEvery: opts.checkpointEvery,
    sampleEvery: opts.sampleEvery,
    logEvery: opts.logEvery,
    keep: opts.keep,
    healthWindow: opts.healthWindow,
    ...(own.health ?? ({} as X)),
    maxRollbacks: 5,
    maxMinutes: opts.maxMinutes,
    limit: opts.limit,
    backend: opts.backend,
    // On --resume the schedule comes from the checkpoint unless --steps/--decay-from are given.
    keepSavedSchedule: !fromCli('steps') && !fromCli('decayFrom'),
    // On --resume the DiffAugment policy comes from the checkpoint unless --diffaug is given.
    keepSavedDiffAug: !fromCli('diffaug'),
  };
}
