/**
 * Ships a trained SR run: exports the generator to ONNX (parity-checked against tfjs by
 * exportOnnx), measures the ONNX file with the benchmark evaluator through onnxruntime-node,
 * writes/updates its entry in public/models/manifest.json (only that entry; the file is re-read
 * right before the atomic write), and copies the newest checkpoint to checkpoints/<id>/ so a
 * later session can continue training, and writes its Models page thumbnail (public/thumbs).
 *
 *   npx tsx training/tasks/sr/ship.ts --id sr-realtime-x2 --run runs/sr-real-time-x2 [--sets Set5,Set14,BSD100]
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { Command } from 'commander';
import { SR_METRIC_KEYS, parseModelEntry, type ModelEntryInput } from '../../../lib/contract/manifest';
import { initBackend } from '../../backends';
import { findGeneratorFolder, findLatestCheckpoint, installShippedCheckpoint, loadLayersModel, readCheckpointState } from '../../checkpoint';
import { averagedName } from '../../models/weight-average';
import { upsertManifestEntries } from '../../io/manifest';
import { shipThumbnails, sitePlaces } from '../../viz/thumbnail';
import { exportOnnx } from '../../export/export';
import { estimateGmacs, receptiveRadius } from '../../models/sr';
import { evaluateSet, repoRoot, type SetResult } from '../../eval/sr/evaluate';
import { onnxRunner, type SrRunner } from '../../eval/sr/runners';

/** The photo condition every shipped SR model is also measured in: official LR as baseline JPEG quality 60. */
export const JPEG60 = [{ kind: 'jpeg', quality: 60 }] as const;

/** Y-PSNR / SSIM of a runner on each set with the LR re-encoded as JPEG-60 (`eval sr --degrade jpeg:60`). */
export async function measureJpeg60(runner: SrRunner, sets: string[], scale: number, log: (s: string) => void): Promise<Record<string, SetResult>> {
  const out: Record<string, SetResult> = {};
  for (const set of sets) {
    const r = await evaluateSet(runner, set, scale, { degrade: [...JPEG60] });
    out[set] = r;
    log(`${runner.name} ${set} x${scale} (LR jpeg:60): Y-PSNR ${r.psnr.toFixed(3)} dB, SSIM ${r.ssim.toFixed(4)}`);
  }
  return out;
}

/** Adds the JPEG-60 numbers to a manifest quality list (one entry per set). */
export function withJpeg60(quality: NonNullable<ModelEntryInput['quality']>, jpeg: Record<string, SetResult>): NonNullable<ModelEntryInput['quality']> {
  return quality.map((q) => {
    const j = jpeg[q.dataset];
    if (!j) return q;
    return {
      ...q,
      metrics: { ...q.metrics, [SR_METRIC_KEYS.psnrJpeg60]: +j.psnr.toFixed(3), [SR_METRIC_KEYS.ssimJpeg60]: +j.ssim.toFixed(4) },
      note: `${(q.note ?? '').replace(/; psnrYJpeg60.*$/, '')}; psnrYJpeg60/ssimYJpeg60: the LR re-encoded as baseline JPEG quality 60 (eval sr --degrade jpeg:60)`,
    };
  });
}

const MANIFEST = path.join(repoRoot, 'public/models/manifest.json');

/** One stretch of an SR run's training before batch, patch or loss changed (checkpoint state, `history`). */
export interface SrScheduleStretch {
  untilStep: number;
  batch: number;
  patch: number;
  /** Absent in checkpoints from before the loss was recorded: those were l1. */
  loss?: string;
}

/**
 * The card's account of an SR run's batches, patches and pixel losses, e.g. "batch 16 (LR patch 32,
 * L1) until step 9297, then batch 8, LR patch 48; MSE + Adam".
 */
export function describeSrSchedule(opts: { batch: number; patch: number; loss?: string; history?: SrScheduleStretch[] }): string {
  const name = (l?: string) => (l ?? 'l1').toUpperCase();
  const earlier = (opts.history ?? []).map((h) => `batch ${h.batch} (LR patch ${h.patch}, ${name(h.loss)}) until step ${h.untilStep}, then `).join('');
  return `${earlier}batch ${opts.batch}, LR patch ${opts.patch}; ${name(opts.loss)} + Adam`;
}

export interface ShipOptions {
  id: string;
  run: string;
  sets: string[];
  name?: string;
  description?: string;
  tier?: 'real-time' | 'quality' | 'photo';
  notes?: string;
  /** What it was trained on (default: what the run recorded; runs before session 3 recorded nothing and trained on T91). */
  data?: string;
  /** How the run was trained, when its checkpoint does not say (runs before session 8 recorded no backend). */
  backendLabel?: string;
  /** Set to skip evaluation (keep the existing quality numbers). */
  noEval?: boolean;
  log?: (s: string) => void;
}

export async function shipSr(o: ShipOptions): Promise<{ entry: ModelEntryInput; results: SetResult[] }> {
  const log = o.log ?? ((s: string) => console.log(s));
  await initBackend({ backend: 'cpu', log });
  const ckpt = await findLatestCheckpoint(path.join(o.run, 'checkpoints'));
  if (!ckpt) throw new Error(`no checkpoint in ${o.run}/checkpoints`);
  const { step, state } = await readCheckpointState(ckpt);
  const opts = state.options as { tier: 'real-time' | 'quality'; degrade?: Record<string, unknown> | null; scale: number; gan: boolean; patch: number; batch: number; data?: string; init?: string | null; loss?: string; history?: SrScheduleStretch[]; distill?: { teacher: string; ensemble: number; weight: number } | null };
  const elapsed = (state.elapsedSeconds as number) ?? 0;
  // The weight average when the run kept one (what its validation scored), else the trained weights.
  const folder = (await findGeneratorFolder(ckpt))!;
  const ema = path.basename(folder) === averagedName('generator') ? (state.ema as { decay: number; updates: number }) : null;
  if (ema) log(`shipping the weight average (EMA, decay ${ema.decay}, ${ema.updates} updates) of ${ckpt}`);
  const model = await loadLayersModel(folder);
  const scale = opts.scale;
  const file = `${o.id}.onnx`;
  const outFile = path.join(repoRoot, 'public/models', file);
  const rep = await exportOnnx(model, { outFile, inputName: 'input', outputName: 'output', inputRange: [0, 1], outputRange: [0, 1], metadata: { 'ganvas.id': o.id } });
  log(`exported ${outFile}: ${rep.bytes} bytes, parity max |diff| ${rep.maxAbsDiff.toExponential(2)} (tolerance ${rep.tolerance})`);

  const tier = o.tier ?? (opts.gan || opts.degrade ? 'photo' : opts.tier);
  const skip = model.layers.some((l) => l.name === 'skip_bicubic') ? 'bicubic' : 'nearest-neighbour';
  const results: SetResult[] = [];
  let jpeg: Record<string, SetResult> = {};
  if (!o.noEval) {
    const runner = await onnxRunner(outFile, { name: o.id, scale, inputName: 'input', outputName: 'output', inputRange: [0, 1], outputRange: [0, 1] });
    for (const set of o.sets) {
      const r = await evaluateSet(runner, set, scale);
      results.push(r);
      log(`${o.id} ${set} x${scale}: Y-PSNR ${r.psnr.toFixed(3)} dB, SSIM ${r.ssim.toFixed(4)}, ${r.secondsPerImage.toFixed(3)} s/image (onnxruntime-node, 1 thread)`);
    }
    jpeg = await measureJpeg60(runner, o.sets, scale, log);
    await runner.dispose?.();
  }
  const raw = JSON.parse(await fs.readFile(MANIFEST, 'utf8')) as { models: ModelEntryInput[] };
  const previous = raw.models.find((m) => m.id === o.id);
  const quality = o.noEval
    ? (previous?.quality ?? [])
    : withJpeg60(
        results.map((r) => ({
          dataset: r.set,
          metrics: { psnrY: +r.psnr.toFixed(3), ssimY: +r.ssim.toFixed(4), secondsPerImage: +r.secondsPerImage.toFixed(3) },
          note: `x${scale}, official MATLAB-bicubic LR, Y channel (BT.601), shave ${scale}, onnxruntime-node`,
        })),
        jpeg,
      );
  const tierName = tier === 'real-time' ? 'Real-time' : tier === 'quality' ? 'Quality' : opts.degrade ? 'Photo (JPEG, noise)' : 'Photo (SRGAN)';
  const entry: ModelEntryInput = {
    id: o.id,
    name: o.name ?? `${tierName} super-resolution x${scale}`,
    task: 'super-resolution',
    file,
    scale,
    input: { name: 'input', range: [0, 1] },
    output: { name: 'output', range: [0, 1] },
    multipleOf: 1,
    description:
      o.description ??
      (tier === 'real-time'
        ? `ESPCN/FSRCNN-class x${scale} upscaler (${rep.parameters} parameters): a few convs at LR resolution, depth-to-space, residual over ${skip} upsampling.`
        : tier === 'quality'
          ? `EDSR-baseline-like x${scale} upscaler (${rep.parameters} parameters): residual blocks at LR resolution, depth-to-space tail, residual over ${skip} upsampling.`
          : opts.degrade
            ? `Photo x${scale} upscaler for JPEGs and noisy photos (${rep.parameters} parameters, the quality-tier network): ${opts.init ? `${opts.init} ` : ''}fine-tuned with L1 on LR made by random blur, bicubic/bilinear/area downscaling, Gaussian/Poisson noise and JPEG re-encoding (quality ${(opts.degrade.jpegQuality as number[] | undefined)?.join('-') ?? '30-95'}), so it removes compression blocks and noise instead of sharpening them.`
            : `SRGAN-style x${scale} fine-tune (L1 + adversarial) of ${opts.init ? `the PSNR-trained ${opts.init}` : 'a PSNR-trained generator'}: sharper textures, lower PSNR.`),
    tile: srTile(receptiveRadius(model)),
    tier,
    parameters: rep.parameters,
    gmacs256: +estimateGmacs(model, 256, 256).toFixed(3),
    bytes: rep.bytes,
    training: {
      data: `${o.data ?? opts.data ?? 'T91 (91 images)'}; random crops, flips, 90-degree rotations, ${opts.degrade ? `LR degraded on the fly (Real-ESRGAN/BSRGAN-style blur, downscale, noise, JPEG; ${Math.round(((opts.degrade.cleanProb as number) ?? 0) * 100)}% clean MATLAB-bicubic patches)` : 'MATLAB-bicubic LR on the fly'}`,
      steps: step,
      hours: +(elapsed / 3600).toFixed(2),
      backend: state.backend ? `tfjs ${state.backend} (Node, 2 shared CPU cores)` : (o.backendLabel ?? 'tfjs wasm (Node, 1 thread, 2 shared CPU cores)'),
      notes:
        o.notes ??
        `${describeSrSchedule(opts)}, cosine LR${opts.gan ? ', adversarial fine-tune' : ''}${ema ? `; shipped weights: EMA (decay ${ema.decay}) over the last ${ema.updates} steps` : ''}${opts.degrade ? `; degradations ${JSON.stringify(opts.degrade)}` : ''}${opts.distill ? `; self-ensemble distillation: ${opts.distill.teacher}'s x${opts.distill.ensemble} geometric self-ensemble of every training image as a second target (weight ${opts.distill.weight})` : ''}`,
    },
    quality,
    card: `docs/models/${o.id}.md`,
  };
  await upsertManifestEntries([entry], MANIFEST);
  log(`manifest entry ${o.id} written`);
  await shipThumbnails([parseModelEntry(entry)], sitePlaces(repoRoot), log);

  // Keep the shipped checkpoint (small) in the repo so training can continue later.
  const dest = path.join(repoRoot, 'checkpoints', o.id);
  await installShippedCheckpoint(dest, ckpt);
  log(`checkpoint copied to ${dest}`);
  model.dispose();
  return { entry, results };
}

/**
 * The site's tiling for an SR network of this receptive radius (LR pixels): every tile drops its outer
 * `radius` pixels in the seams (they saw padding) and blends over 4 more, so tiled output equals the
 * whole-image run; 256 px tiles keep the re-computed overlap under ~45% of the work.
 */
export function srTile(radius: number): { size: number; overlap: number; margin: number } {
  return { size: 256, overlap: 2 * radius + 4, margin: radius };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const p = new Command('ship-sr')
    .requiredOption('--id <id>', 'manifest id, e.g. sr-realtime-x2')
    .requiredOption('--run <folder>', 'training run folder')
    .option('--sets <list>', 'benchmark sets', 'Set5,Set14,BSD100')
    .option('--tier <tier>', 'manifest tier override (real-time, quality, photo)')
    .option('--notes <text>', 'training notes for the manifest')
    .option('--data <text>', 'training data description (default: what the run recorded)')
    .option('--backend-label <text>', 'how the run was trained, for runs whose checkpoints did not record their backend (before session 8)')
    .option('--no-eval', 'skip the benchmark evaluation')
    .parse(process.argv);
  const a = p.opts();
  shipSr({ id: a.id, run: path.resolve(a.run), sets: (a.sets as string).split(','), tier: a.tier, notes: a.notes, data: a.data, backendLabel: a.backendLabel, noEval: a.eval === false })
    .then(({ results }) => console.log(JSON.stringify(results.map(({ perImage: _p, ...r }) => r))))
    .catch((e: unknown) => {
      console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    });
}
