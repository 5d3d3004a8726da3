import path from 'node:path';
import type { Command } from 'commander';
import { repoRoot } from '../../eval/sr/evaluate';
import { expandDataAliases, parseSrSources, SR_SAMPLINGS, withScaleAugmentation, type SrSampling } from '../../data/sr-dataset';
import { defaultDegradeConfig, parseFixedDegradations, parseRange, validateDegradeConfig, type DegradeConfig, type ResizeMethod } from '../../data/degrade';
import { emaFromCli } from '../../models/weight-average';
import { trainSr, type SrTrainOptions } from './train';
import { runSrEval } from './eval-command';

const SR_ROOT = path.resolve(repoRoot, '../shared/datasets/sr');
const DEFAULT_DATA = path.join(SR_ROOT, 'T91');

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
    return n;
  };
}
function num(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${v}"`);
    return n;
  };
}
const list = (v: string) => v.split(',').map((s) => int('--features')(s.trim()));

/** The degradation config of `train sr --tier photo` / `--degrade`: scale defaults overridden by the options given. */
export function degradeConfigFromOptions(raw: Record<string, unknown>, scale: number): DegradeConfig {
  const c = defaultDegradeConfig(scale);
  const prob = (key: keyof DegradeConfig, option: string) => {
    if (raw[key] === undefined) return;
    const v = Number(raw[key]);
    if (!Number.isFinite(v)) throw new Error(`${option} must be a number, got "${String(raw[key])}"`);
    (c[key] as number) = v;
  };
  const range = (key: keyof DegradeConfig, option: string) => {
    if (raw[key] !== undefined) (c[key] as [number, number]) = parseRange(option, String(raw[key]));
  };
  prob('cleanProb', '--clean-prob');
  prob('blurProb', '--blur-prob');
  prob('anisoProb', '--aniso-prob');
  prob('noiseProb', '--noise-prob');
  prob('gaussianProb', '--gaussian-prob');
  prob('grayNoiseProb', '--gray-noise-prob');
  prob('jpegProb', '--jpeg-prob');
  prob('secondProb', '--second-prob');
  range('blurSigma', '--blur-sigma');
  range('blur2Sigma', '--blur2-sigma');
  range('noiseSigma', '--noise-sigma');
  range('poissonScale', '--poisson-scale');
  range('jpegQuality', '--jpeg-quality');
  if (raw.resize !== undefined) c.resize = String(raw.resize).split(',').map((m) => m.trim() as ResizeMethod);
  return validateDegradeConfig(c);
}

export function registerSrCommands(train: Command, evaluate: Command): void {
  train
    .command('sr')
    .description('train a super-resolution model (real-time or quality tier; --gan for the SRGAN fine-tune)')
    .option('--tier <tier>', 'real-time | quality | photo (quality-tier network trained on degraded LR: blur, noise, JPEG; default --data 291)', 'real-time')
    .option('--scale <n>', 'upscaling factor (2, 3 or 4)', int('--scale'), 2)
    .option('--data <folder>', 'folder(s) of HR training images, comma-separated; folder@0.5 downscales that folder by 2 first (e.g. JPEG photos); "291" = T91 + BSD200 (default T91, 291 for --tier photo)')
    .option('--scale-aug <factors>', 'also train on every --data folder downscaled by each factor (FSRCNN-style scale augmentation; 1 = off)', '1,0.9,0.8,0.7,0.6')
    .option('--out <folder>', 'run folder (checkpoints/, model/, summary.json); default runs/sr-<tier>-x<scale>')
    .option('--steps <n>', 'total optimizer steps (the LR schedule spans these)', int('--steps'), 20000)
    .option('--batch <n>', 'patches per step', int('--batch'), 16)
    .option('--patch <n>', 'LR patch side (HR patch = patch * scale)', int('--patch'))
    .option('--lr <x>', 'peak learning rate (Adam)', num('--lr'), 1e-3)
    .option('--lr-min <x>', 'final learning rate', num('--lr-min'), 1e-5)
    .option('--schedule <s>', 'cosine | step', 'cosine')
    .option('--warmup <n>', 'linear warm-up steps', int('--warmup'), 100)
    .option('--max-minutes <m>', 'stop (with a checkpoint) after this much wall time; --resume continues', num('--max-minutes'))
    .option('--budget-minutes <m>', 'total training time across resumes; the LR schedule follows max(step/steps, time/budget) and training stops when it is spent', num('--budget-minutes'))
    .option('--stop-after <n>', 'stop (with a checkpoint) after n steps of this invocation; --resume continues', int('--stop-after'))
    .option('--resume', 'continue from the newest checkpoint in <out>/checkpoints', false)
    .option('--seed <n>', 'PRNG seed of the patch sampler', int('--seed'), 1)
    .option('--backend <name>', 'tfjs backend (auto, wasm, cpu, ...)')
    .option('--features <list>', 'real-time: conv widths (default 64,32,32,32); quality: feature width, e.g. 48; with --init, more than the source has widens it (the new channels start unseen by the old ones)', list)
    .option('--blocks <n>', 'quality tier: residual blocks; with --init, more than the source has grows it deeper (the new blocks start as the identity)', int('--blocks'))
    .option('--skip <kind>', 'global skip the network adds its residual to: bicubic (default) | nearest (the session-1/2 models)')
    .option('--val-set <name>', 'benchmark set for validation PSNR (Set5, Set14, BSD100; "none" to skip)', 'Set5')
    .option('--val-every <n>', 'validate every n steps', int('--val-every'), 500)
    .option('--val-limit <n>', 'validate on the first n images only', int('--val-limit'))
    .option('--ckpt-every <n>', 'checkpoint every n steps', int('--ckpt-every'), 250)
    .option('--keep <n>', 'checkpoints to keep', int('--keep'), 2)
    .option('--limit <n>', 'use only the first n training images', int('--limit'))
    .option('--init <folder>', 'start from the generator of this run / checkpoint / model folder; from another scale (e.g. x2 for --scale 4) every layer but the sub-pixel tail is copied')
    .option('--ema <decay>', 'decay of the exponential moving average of the weights kept beside them: validated, checkpointed and shipped instead of the last weights; default 0.999 for a new run, while a --resume keeps what the checkpoint has', num('--ema'))
    .option('--no-ema', 'keep no weight average')
    .option('--loss <kind>', 'pixel loss: l1 | mse (the squared error PSNR measures); a resume takes the flag, and the checkpoint records which loss each stretch of the run used (the model card lists them)', 'l1')
    .option('--distill <teacher>', 'self-ensemble distillation: this model (manifest id, .onnx, tfjs model or run) upscales every training image once with its geometric self-ensemble, a second target beside HR (clean training only; e.g. the shipped model, with --init from its checkpoint)')
    .option('--distill-ensemble <n>', "transforms of the teacher's self-ensemble: 1, 2, 4 or 8", int('--distill-ensemble'), 8)
    .option('--distill-weight <w>', 'weight of the teacher target in (0, 1]: loss = (1 - w) x pixel(sr, hr) + w x pixel(sr, teacher)', num('--distill-weight'), 0.5)
    .option('--sample-by <how>', 'draw training patches per image (every image and scale copy equally) or per area (every LR pixel equally, VDSR-style: more patches from the larger photos)', 'image')
    .option('--gan', 'SRGAN fine-tune: L1 content + adversarial loss with a discriminator (use with --init)', false)
    .option('--gan-loss <kind>', 'bce (vanilla GAN) | lsgan', 'bce')
    .option('--adv-weight <x>', 'weight of the adversarial term against L1', num('--adv-weight'), 5e-3)
    .option('--d-lr <x>', 'discriminator learning rate', num('--d-lr'), 1e-4)
    .option('--degrade', 'train on randomly degraded LR (implied by --tier photo); the ranges below apply', false)
    .option('--clean-prob <p>', 'degraded training: share of clean MATLAB-bicubic patches (default 0.15)')
    .option('--blur-prob <p>', 'probability of a Gaussian blur (default 0.5)')
    .option('--blur-sigma <min,max>', 'blur sigma in HR pixels (default 0.2,0.75*scale)')
    .option('--aniso-prob <p>', 'share of anisotropic (rotated, two-sigma) blurs (default 0.5)')
    .option('--resize <list>', 'downscaling methods drawn uniformly: bicubic,bilinear,area (default all three)')
    .option('--noise-prob <p>', 'probability of noise (default 0.4)')
    .option('--gaussian-prob <p>', 'share of Gaussian noise; the rest is Poisson (default 0.5)')
    .option('--noise-sigma <min,max>', 'Gaussian noise sigma in grey levels (default 1,10)')
    .option('--poisson-scale <min,max>', 'Poisson noise scale (default 0.05,1.5)')
    .option('--gray-noise-prob <p>', 'share of noise that is the same on R, G, B (default 0.4)')
    .option('--jpeg-prob <p>', 'probability of a JPEG re-encoding (default 0.85)')
    .option('--jpeg-quality <min,max>', 'JPEG quality range, 1-100 (default 30,95)')
    .option('--second-prob <p>', 'probability of a second blur/noise/JPEG pass in random order (default 0.3)')
    .option('--blur2-sigma <min,max>', 'second-pass blur sigma in LR pixels (default 0.2,0.8)')
    .option('--val-degrade <spec>', 'also validate on the --val-set LR degraded this way (default jpeg:60 when degrading; "none" to skip)')
    .option('--no-progress', 'no progress bar')
    .action(async (raw: Record<string, unknown>) => {
      const tierName = raw.tier as string;
      if (tierName !== 'real-time' && tierName !== 'quality' && tierName !== 'photo') throw new Error(`--tier must be real-time, quality or photo, got "${tierName}"`);
      // The photo tier is the quality-tier network trained on degraded LR.
      const tier = tierName === 'photo' ? 'quality' : tierName;
      const degrading = tierName === 'photo' || (raw.degrade as boolean);
      const scale = raw.scale as number;
      if (![2, 3, 4].includes(scale)) throw new Error(`--scale must be 2, 3 or 4, got ${scale}`);
      const schedule = raw.schedule as string;
      if (schedule !== 'cosine' && schedule !== 'step') throw new Error(`--schedule must be cosine or step, got "${schedule}"`);
      const ganLoss = raw.ganLoss as string;
      if (ganLoss !== 'bce' && ganLoss !== 'lsgan') throw new Error(`--gan-loss must be bce or lsgan, got "${ganLoss}"`);
      const loss = raw.loss as string;
      if (loss !== 'l1' && loss !== 'mse') throw new Error(`--loss must be l1 or mse, got "${loss}"`);
      const valSet = raw.valSet as string;
      const sampleBy = raw.sampleBy as SrSampling;
      if (!SR_SAMPLINGS.includes(sampleBy)) throw new Error(`--sample-by must be ${SR_SAMPLINGS.join(' or ')}, got "${sampleBy}"`);
      const skip = raw.skip as string | undefined;
      if (skip !== undefined && skip !== 'bicubic' && skip !== 'nearest') throw new Error(`--skip must be bicubic or nearest, got "${skip}"`);
      const degrade = degrading ? degradeConfigFromOptions(raw, scale) : undefined;
      const valDegradeSpec = (raw.valDegrade as string | undefined) ?? (degrading ? 'jpeg:60' : 'none');
      const valDegrade = valDegradeSpec === 'none' ? undefined : parseFixedDegradations(valDegradeSpec);
      const dataSpec = expandDataAliases((raw.data as string | undefined) ?? (tierName === 'photo' ? '291' : DEFAULT_DATA), SR_ROOT);
      const o: SrTrainOptions = {
        tier,
        scale,
        data: withScaleAugmentation(
          parseSrSources(dataSpec, (p) => path.resolve(p)),
          (raw.scaleAug as string).split(',').map((v) => num('--scale-aug')(v.trim())),
        ),
        out: path.resolve((raw.out as string | undefined) ?? path.join(repoRoot, 'runs', `sr-${tierName}-x${scale}${raw.gan ? '-gan' : ''}`)),
        steps: raw.steps as number,
        batch: raw.batch as number,
        patch: (raw.patch as number | undefined) ?? (scale === 4 ? 24 : 32),
        lr: raw.lr as number,
        lrMin: raw.lrMin as number,
        schedule,
        warmup: raw.warmup as number,
        maxMinutes: raw.maxMinutes as number | undefined,
        stopAfter: raw.stopAfter as number | undefined,
        budgetMinutes: raw.budgetMinutes as number | undefined,
        resume: raw.resume as boolean,
        seed: raw.seed as number,
        backend: raw.backend as string | undefined,
        features: raw.features as number[] | undefined,
        blocks: raw.blocks as number | undefined,
        skip,
        valSet: valSet === 'none' ? undefined : valSet,
        valEvery: raw.valEvery as number,
        valLimit: raw.valLimit as number | undefined,
        ckptEvery: raw.ckptEvery as number,
        keep: raw.keep as number,
        limit: raw.limit as number | undefined,
        init: raw.init ? path.resolve(raw.init as string) : undefined,
        ema: emaFromCli(raw.ema as number | false | undefined, raw.resume as boolean),
        loss,
        distill: raw.distill ? { teacher: raw.distill as string, ensemble: raw.distillEnsemble as number, weight: raw.distillWeight as number } : undefined,
        sampleBy,
        gan: raw.gan as boolean,
        ganLoss,
        advWeight: raw.advWeight as number,
        dLr: raw.dLr as number,
        degrade,
        valDegrade,
        progress: raw.progress as boolean,
      };
      if (o.batch < 1 || o.patch < 4 || o.steps < 1) throw new Error('--batch >= 1, --patch >= 4 and --steps >= 1 are required');
      await trainSr(o);
    });

  evaluate
    .command('sr')
    .description('Y-PSNR / SSIM on Set5, Set14, BSD100 (official MATLAB-bicubic LR) for bicubic, a manifest model, an ONNX file, a tfjs model or an UpscalerJS peer')
    .option('--model <what>', 'one or several comma-separated (prints a table): bicubic | manifest id (e.g. sr-realtime-x2) | path to .onnx | tfjs model folder or model.json | checkpoint (step-N) | run folder | upscaler:<slim|medium|thick>', 'bicubic')
    .option('--scale <n>', 'scale (taken from the manifest entry when --model is an id)', int('--scale'))
    .option('--sets <list>', 'comma-separated benchmark sets', 'Set5,Set14,BSD100')
    .option('--data-root <folder>', 'folder holding <set>/HR and <set>/LR_bicubic/X<s>', path.resolve(repoRoot, '../shared/datasets/sr'))
    .option('--limit <n>', 'first n images per set', int('--limit'))
    .option('--range <r>', 'pixel range of a bare ONNX/tfjs model: 0,1 | -1,1 | 0,255', '0,1')
    .option('--tile <n>', 'run in tiles of n LR pixels (0: whole image)', int('--tile'), 0)
    .option('--backend <name>', 'tfjs backend for tfjs models (default wasm)', 'wasm')
    .option('--degrade <spec>', 'degrade the official LR first: jpeg:<quality> (baseline JPEG, standard tables, 4:2:0), noise:<sigma grey levels>, blur:<sigma LR px>; several with +, e.g. noise:5+jpeg:75')
    .option('--self-ensemble <n>', 'average the outputs of n flipped/rotated copies of each input (EDSR+; 2 = left-right mirror, 4 = both mirrors, 8 = all eight; n times the compute)', int('--self-ensemble'), 1)
    .option('--json <file>', 'also write the results as JSON')
    .action(async (raw: Record<string, unknown>) => {
      await runSrEval({
        degrade: raw.degrade === undefined ? undefined : parseFixedDegradations(raw.degrade as string),
        model: raw.model as string,
        scale: raw.scale as number | undefined,
        sets: (raw.sets as string).split(',').map((s) => s.trim()).filter(Boolean),
        root: path.resolve(raw.dataRoot as string),
        limit: raw.limit as number | undefined,
        range: raw.range as string,
        tile: raw.tile as number,
        backend: raw.backend as string,
        json: raw.json as string | undefined,
        selfEnsemble: raw.selfEnsemble as number,
      });
    });
}
