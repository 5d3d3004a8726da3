/**
 * Self-ensemble distillation for `train sr --distill <teacher>`: a teacher (usually the shipped
 * model itself) upscales every training image once with its geometric self-ensemble (EDSR+, the
 * average over flipped/rotated copies: more accurate than one pass, n times the compute), and the
 * student learns from the HR image and that average together, so it can gain part of the
 * ensemble's accuracy at one pass's cost. The teacher sees whole LR images (no patch borders);
 * the sampler crops its output with the same offset and transform as the HR patch.
 */
import { selfEnsemble, SELF_ENSEMBLES, type SrRunner } from '../../eval/sr/runners';
import type { SrDataset } from '../../data/sr-dataset';

export interface DistillOptions {
  /** What --model of `eval sr` accepts: a manifest id, an .onnx file, a tfjs model / checkpoint / run. */
  teacher: string;
  /** Transforms of the teacher's self-ensemble (1, 2, 4 or 8). */
  ensemble: number;
  /** Weight of the teacher term: loss = (1 - w) * pixel(sr, hr) + w * pixel(sr, teacher). */
  weight: number;
}

/** Refuses distillation options that cannot work, naming the option. */
export function checkDistillOptions(d: DistillOptions): DistillOptions {
  if (!(SELF_ENSEMBLES as readonly number[]).includes(d.ensemble)) throw new Error(`--distill-ensemble must be one of ${SELF_ENSEMBLES.join(', ')}, got ${d.ensemble}`);
  if (!(d.weight > 0 && d.weight <= 1)) throw new Error(`--distill-weight must be in (0, 1], got ${d.weight}`);
  if (!d.teacher) throw new Error('--distill needs a teacher model');
  return d;
}

/**
 * Upscales every pair's LR with the teacher's self-ensemble and keeps it beside the HR image.
 * Returns the seconds it took.
 */
export async function attachTeacherTargets(ds: SrDataset, teacher: SrRunner, ensemble: number, log: (s: string) => void): Promise<number> {
  if (teacher.scale !== ds.scale) throw new Error(`the teacher ${teacher.name} is a x${teacher.scale} model, the run trains x${ds.scale}`);
  const runner = selfEnsemble(teacher, ensemble);
  const t0 = performance.now();
  const total = ds.pairs.reduce((a, p) => a + p.hr.width * p.hr.height, 0);
  let done = 0;
  let nextLog = 0.1;
  for (const pair of ds.pairs) {
    const out = await runner.upscale(pair.lr);
    if (out.width !== pair.hr.width || out.height !== pair.hr.height) {
      throw new Error(`the teacher ${teacher.name} upscaled a ${pair.lr.width}x${pair.lr.height} image to ${out.width}x${out.height}, expected ${pair.hr.width}x${pair.hr.height}`);
    }
    pair.teacher = out;
    done += out.width * out.height;
    if (done / total >= nextLog) {
      log(`  teacher ${runner.name}: ${Math.round((100 * done) / total)}% of ${(total / 1e6).toFixed(1)} MP in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      nextLog += 0.1;
    }
  }
  return (performance.now() - t0) / 1000;
}
