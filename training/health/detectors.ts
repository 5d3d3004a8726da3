/**
 * GAN-health detectors. Each looks at numbers the training loop already has and, when a known
 * failure shows, returns a warning that names the symptom, the evidence and a remedy.
 *
 *  - DOverpowerDetector: the discriminator wins (accuracy on real and fake near 1) while the
 *    generator's adversarial loss keeps rising over a window: G's gradients are vanishing.
 *  - modeCollapseCheck: translations of different test images look alike: their mean pairwise
 *    distance falls well below the real images' own diversity.
 *  - DivergenceDetector: a loss or gradient norm is NaN/Inf (the loop then rolls back to the
 *    last checkpoint with a lower learning rate).
 *  - IdentityCollapseDetector: the generator's output stops changing from its input (mean
 *    |G(x) - x| below a threshold for a whole window): FastCUT's known collapse to identity.
 */

export type Severity = 'warning' | 'error';

export interface HealthWarning {
  detector: 'd-overpowering' | 'mode-collapse' | 'divergence' | 'identity-collapse';
  severity: Severity;
  step: number;
  message: string;
  remedy: string;
  evidence: Record<string, number>;
}

export interface StepStats {
  step: number;
  /** Discriminator accuracy on real and on (pooled) fake images, in [0, 1]. */
  dAccReal: number;
  dAccFake: number;
  /** Generator adversarial loss (both directions summed). */
  gAdv: number;
}

/** Least-squares slope of ys against 0..n-1. */
export function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mx) * (ys[i] - my);
    den += (i - mx) * (i - mx);
  }
  return num / den;
}

export interface DOverpowerOptions {
  /** Steps looked at. Default 50. */
  window?: number;
  /** Mean D accuracy (real and fake) above which D counts as winning. Default 0.9. */
  accuracy?: number;
  /** G adversarial loss must grow by at least this fraction across the window. Default 0.2. */
  rise?: number;
  /** Steps between two warnings. Default = window. */
  cooldown?: number;
}

export class DOverpowerDetector {
  private readonly window: number;
  private readonly accuracy: number;
  private readonly rise: number;
  private readonly cooldown: number;
  private history: StepStats[] = [];
  private lastFired = -Infinity;

  constructor(opts: DOverpowerOptions = {}) {
    this.window = opts.window ?? 50;
    this.accuracy = opts.accuracy ?? 0.9;
    this.rise = opts.rise ?? 0.2;
    this.cooldown = opts.cooldown ?? this.window;
  }

  update(s: StepStats): HealthWarning | null {
    if (![s.dAccReal, s.dAccFake, s.gAdv].every(Number.isFinite)) return null;
    this.history.push(s);
    if (this.history.length > this.window) this.history.shift();
    if (this.history.length < this.window || s.step - this.lastFired < this.cooldown) return null;
    const acc = this.history.reduce((a, h) => a + (h.dAccReal + h.dAccFake) / 2, 0) / this.window;
    const g = this.history.map((h) => h.gAdv);
    const half = Math.floor(this.window / 2);
    const first = g.slice(0, half).reduce((a, b) => a + b, 0) / half;
    const second = g.slice(half).reduce((a, b) => a + b, 0) / (g.length - half);
    const k = slope(g);
    const grew = second > first * (1 + this.rise) + 1e-8 && k > 0;
    if (acc < this.accuracy || !grew) return null;
    this.lastFired = s.step;
    return {
      detector: 'd-overpowering',
      severity: 'warning',
      step: s.step,
      message:
        `discriminator overpowering the generator: D accuracy ${(acc * 100).toFixed(1)}% over the last ${this.window} steps ` +
        `while G's adversarial loss rose from ${first.toFixed(3)} to ${second.toFixed(3)} (vanishing generator gradients)`,
      remedy:
        'weaken D or strengthen G: lower the discriminator LR (--lr-d), use a smaller PatchGAN (--ndf / --d-layers), keep the 50-image pool, ' +
        'prefer LSGAN or WGAN-GP over the vanilla loss (its gradients vanish when D is confident), or resume from an earlier checkpoint',
      evidence: { dAccuracy: acc, gAdvFirstHalf: first, gAdvSecondHalf: second, slope: k, window: this.window },
    };
  }
}

/** Mean pairwise L1 distance between the images of a batch (each a flat Float32Array). */
export function meanPairwiseDistance(images: Float32Array[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < images.length; i++) {
    for (let j = i + 1; j < images.length; j++) {
      const a = images[i];
      const b = images[j];
      if (a.length !== b.length) throw new Error('meanPairwiseDistance: images differ in size');
      let d = 0;
      for (let k = 0; k < a.length; k++) d += Math.abs(a[k] - b[k]);
      sum += d / a.length;
      pairs++;
    }
  }
  return pairs ? sum / pairs : 0;
}

export interface ModeCollapseOptions {
  /** Fires when generated diversity / real diversity falls below this. Default 0.25. */
  ratio?: number;
}

/**
 * Compares the diversity of translations of a batch of different test images with the
 * diversity of real images of the target domain (both as flat arrays in the same range).
 */
export function modeCollapseCheck(
  step: number,
  generated: Float32Array[],
  real: Float32Array[],
  opts: ModeCollapseOptions & { label?: string } = {},
): { warning: HealthWarning | null; generatedDiversity: number; realDiversity: number; ratio: number } {
  const threshold = opts.ratio ?? 0.25;
  const gd = meanPairwiseDistance(generated);
  const rd = meanPairwiseDistance(real);
  const ratio = rd > 0 ? gd / rd : 1;
  let warning: HealthWarning | null = null;
  if (generated.length >= 2 && real.length >= 2 && ratio < threshold) {
    warning = {
      detector: 'mode-collapse',
      severity: 'warning',
      step,
      message:
        `possible mode collapse${opts.label ? ` (${opts.label})` : ''}: translations of ${generated.length} different test images ` +
        `differ by ${gd.toFixed(4)} on average, only ${(ratio * 100).toFixed(1)}% of the real images' own diversity (${rd.toFixed(4)})`,
      remedy:
        'the generator maps different inputs to the same output: keep the cycle loss weight (lambda 10) and the identity loss, ' +
        'keep the image pool, lower the learning rate, or resume from a checkpoint before the collapse; with the vanilla loss try LSGAN',
      evidence: { generatedDiversity: gd, realDiversity: rd, ratio, threshold },
    };
  }
  return { warning, generatedDiversity: gd, realDiversity: rd, ratio };
}

export class DivergenceDetector {
  /** Returns a warning when any of the values is NaN or infinite. */
  check(step: number, values: Record<string, number>): HealthWarning | null {
    const bad = Object.entries(values).filter(([, v]) => !Number.isFinite(v));
    if (!bad.length) return null;
    return {
      detector: 'divergence',
      severity: 'error',
      step,
      message: `training diverged at step ${step}: ${bad.map(([k, v]) => `${k}=${v}`).join(', ')}`,
      remedy: 'rolling back to the last checkpoint and halving the learning rate; if it repeats, lower --lr or use LSGAN',
      evidence: Object.fromEntries(bad.map(([k, v]) => [k, v])),
    };
  }
}

export interface IdentityCollapseOptions {
  /** Steps looked at. Default 50. */
  window?: number;
  /** Mean |G(x) - x| (images in [-1, 1]) under which an output counts as unchanged. Default 0.02 (2.5/255). */
  threshold?: number;
  /** Steps between two warnings. Default = window. */
  cooldown?: number;
}

/**
 * Catches a generator that collapsed to the identity: the mean absolute difference between its
 * output and its input stayed below `threshold` for every one of the last `window` steps. FastCUT
 * (NCE weight 10, no GAN pressure left) is known to fall into this: PatchNCE alone is minimised
 * by G(x) = x, and the output then carries none of the target domain.
 */
export class IdentityCollapseDetector {
  private readonly window: number;
  private readonly threshold: number;
  private readonly cooldown: number;
  private history: number[] = [];
  private lastFired = -Infinity;

  constructor(opts: IdentityCollapseOptions = {}) {
    this.window = opts.window ?? 50;
    this.threshold = opts.threshold ?? 0.02;
    this.cooldown = opts.cooldown ?? this.window;
  }

  /** `distance`: mean |G(x) - x| of this step's batch. */
  update(step: number, distance: number): HealthWarning | null {
    if (!Number.isFinite(distance)) return null;
    this.history.push(distance);
    if (this.history.length > this.window) this.history.shift();
    if (this.history.length < this.window || step - this.lastFired < this.cooldown) return null;
    const max = Math.max(...this.history);
    if (max >= this.threshold) return null;
    this.lastFired = step;
    const mean = this.history.reduce((a, b) => a + b, 0) / this.history.length;
    return {
      detector: 'identity-collapse',
      severity: 'warning',
      step,
      message:
        `generator collapsed to identity: mean |G(x) - x| stayed below ${this.threshold} for the last ${this.window} steps ` +
        `(max ${max.toFixed(4)}, mean ${mean.toFixed(4)}, i.e. ${(mean * 127.5).toFixed(2)}/255): its output no longer differs from its input`,
      remedy:
        "FastCUT's known failure at NCE weight 10: lower --lambda-nce (1-4), raise --lambda-gan, switch to --mode cut (identity NCE " +
        'keeps the NCE term from being satisfied by copying), or resume from a checkpoint before the collapse',
      evidence: { max, mean, threshold: this.threshold, window: this.window, latest: distance },
    };
  }
}

/** One line for the console: "[WARN d-overpowering @ 1200] ... Remedy: ...". */
export function formatWarning(w: HealthWarning): string {
  return `[${w.severity === 'error' ? 'ERROR' : 'WARN'} ${w.detector} @ step ${w.step}] ${w.message}. Remedy: ${w.remedy}`;
}
