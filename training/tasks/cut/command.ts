import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { addGanTrainOptions, ganRunOptionsFromCli, int, num } from '../shared/gan-command';
import { CUT_MODES, modeDefaults, type CutMode } from './trainer';
import type { CutRunOptions } from './train';
const bool = (name: string) => (v: string) => {
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v)) throw new InvalidArgumentError(`${name} must be true or false`);
  return ['true', '1', 'yes'].includes(v);
};

const prob = (name: string) => (v: string) => {
  const x = Number(v);
  if (!(x >= 0 && x <= 1)) throw new InvalidArgumentError(`${name} must be a number in [0, 1]`);
  return x;
};

/** CLI option name -> CutRunOptions key, for the options a resumed run checks against its checkpoint. */
const ARCH_FLAGS: Record<string, string> = { mode: 'mode', generator: 'generator', ngf: 'ngf', blocks: 'nBlocks', ndf: 'ndf', dLayers: 'dLayers', netfNc: 'netFNc' };

export function registerCutCommands(train: Command): void {
  addGanTrainOptions(
    train
      .command('cut')
      .description('train CUT or FastCUT (Park et al. 2020: one generator, PatchNCE instead of a cycle) on a folder with trainA/ and trainB/ (resumable, live GAN-health monitoring)'),
    {
      data: 'dataset folder holding trainA/ (x) and trainB/ (y) (optionally testA/, testB/ for samples)',
      resume: 'continue from the newest checkpoint in --out (weights, MLP heads, Adam state, RNG, LR schedule, step)',
      generator: 'resnet (published), light (real-time), tiny or halfres (webcam; see train cyclegan --help); NCE layers come from its encoder',
      decayFrom: 'step where the LR starts its linear decay to 0 (default, as the reference: steps / 2 for cut, 3/4 of steps for fastcut)',
      seed: 'seed for init, crops, flips and patch locations',
    },
    {
      afterResume: (c) =>
        c.addOption(new Option('--mode <mode>', 'cut: NCE weight 1 + identity NCE; fastcut: NCE weight 10, no identity NCE, flip equivariance').choices([...CUT_MODES]).default('cut')),
      losses: (c) =>
        c
          .option('--lambda-gan <x>', 'adversarial loss weight', num('--lambda-gan'), 1)
          .option('--lambda-nce <x>', 'PatchNCE weight (default: 1 for cut, 10 for fastcut)', num('--lambda-nce'))
          .option('--nce-idt <bool>', 'identity NCE on y -> G(y) (default: true for cut, false for fastcut)', bool('--nce-idt'))
          .option('--flip-equivariance <bool>', 'flip the input half the time and the query features back (default: false for cut, true for fastcut)', bool('--flip-equivariance'))
          .option('--num-patches <n>', 'patches per NCE layer', int('--num-patches', 1), 256)
          .option('--nce-t <x>', 'NCE temperature', num('--nce-t', 1e-6), 0.07)
          .option('--netf-nc <n>', 'width of the 2-layer MLP heads', int('--netf-nc', 1), 256)
          .option('--gp-weight <x>', 'WGAN-GP gradient penalty weight', num('--gp-weight'), 10)
          .option('--teacher <run|checkpoint>', 'distil from this trained generator (e.g. the ResNet upload tier into a webcam generator): adds lambda x mean |G(x) - T(x)| to the generator loss; on --resume: where the teacher now is')
          .option('--lambda-teacher <x>', 'weight of the distillation term (with --teacher; default 10)', num('--lambda-teacher'))
          .option(
            '--degrade-inputs <p>',
            'share of source photos (0-1) blurred, noised and/or JPEG-compressed before the generator sees them, so real-world photos and webcam frames translate like clean ones (the teacher, with --teacher, translates the clean photo); on --resume: default the saved value',
            prob('--degrade-inputs'),
          ),
      health: (c) =>
        c
          .option('--collapse-window <n>', 'steps the identity-collapse detector looks at', int('--collapse-window', 1), 100)
          .option('--collapse-threshold <x>', 'mean |G(x) - x| (in [-1, 1] units) below which the output counts as unchanged', num('--collapse-threshold'), 0.02),
    },
  )
    .option('--no-identity-worker', "compute CUT's identity NCE half on the training thread (default: in a worker thread beside the x half, on the native and wasm backends)")
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
  const mode = opts.mode as CutMode;
  const d = modeDefaults(mode);
  const run: CutRunOptions = ganRunOptionsFromCli(opts, fromCli, {
    head: {
      data: opts.data as string,
      out: (opts.out as string) || path.join('runs', `${mode}-${path.basename(path.resolve(opts.data))}`),
      resume: opts.resume as boolean,
      explicit: Object.entries(ARCH_FLAGS).filter(([flag]) => fromCli(flag)).map(([, key]) => key),
      mode,
    },
    losses: {
      lambdaGan: opts.lambdaGan,
      lambdaNce: opts.lambdaNce ?? d.lambdaNce,
      nceIdt: opts.nceIdt ?? d.nceIdt,
      flipEquivariance: opts.flipEquivariance ?? d.flipEquivariance,
      numPatches: opts.numPatches,
      nceT: opts.nceT,
      netFNc: opts.netfNc,
      gpWeight: opts.gpWeight,
      ...(opts.teacher ? { teacher: opts.teacher as string, lambdaTeacher: (opts.lambdaTeacher as number | undefined) ?? 10 } : {}),
      ...(opts.degradeInputs !== undefined ? { degradeInputs: opts.degradeInputs as number } : {}),
    },
    decayFrom: (steps) => Math.floor(steps * (mode === 'fastcut' ? 0.75 : 0.5)),
    health: { collapseWindow: opts.collapseWindow, collapseThreshold: opts.collapseThreshold },
  });
  return { ...run, identityWorker: opts.identityWorker !== false };
}
