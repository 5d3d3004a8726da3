import { describe, expect, it } from 'vitest';
import {
  DivergenceDetector,
  DOverpowerDetector,
  IdentityCollapseDetector,
  formatWarning,
  meanPairwiseDistance,
  modeCollapseCheck,
  slope,
} from '../../training/health/detectors';

function noise(seed: number, n: number, amp = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * amp;
  });
}

describe('D-overpowering detector', () => {
  it('fires when D accuracy is ~1 and G adversarial loss keeps rising', () => {
    const d = new DOverpowerDetector({ window: 40 });
    let fired = null;
    for (let step = 1; step <= 60 && !fired; step++) {
      fired = d.update({ step, dAccReal: 0.99, dAccFake: 0.98, gAdv: 0.5 + step * 0.05 + 0.02 * Math.sin(step) });
    }
    expect(fired).not.toBeNull();
    expect(fired!.detector).toBe('d-overpowering');
    expect(fired!.remedy).toMatch(/discriminator LR/);
    expect(formatWarning(fired!)).toMatch(/WARN d-overpowering/);
  });

  it('stays quiet on healthy training (D ~60% accurate, flat G loss)', () => {
    const d = new DOverpowerDetector({ window: 40 });
    const r = noise(3, 300, 0.1);
    for (let step = 1; step <= 300; step++) {
      expect(d.update({ step, dAccReal: 0.6 + r[step - 1], dAccFake: 0.55 - r[step - 1], gAdv: 1 + r[step - 1] })).toBeNull();
    }
  });

  it('stays quiet when D wins but G loss is not rising, or G loss rises with a fair D', () => {
    const a = new DOverpowerDetector({ window: 30 });
    const b = new DOverpowerDetector({ window: 30 });
    for (let step = 1; step <= 100; step++) {
      expect(a.update({ step, dAccReal: 0.99, dAccFake: 0.99, gAdv: 2 - step * 0.001 })).toBeNull();
      expect(b.update({ step, dAccReal: 0.7, dAccFake: 0.6, gAdv: 0.5 + step * 0.05 })).toBeNull();
    }
  });

  it('slope is a least-squares slope', () => {
    expect(slope([1, 2, 3, 4])).toBeCloseTo(1);
    expect(slope([4, 4, 4])).toBeCloseTo(0);
  });
});

describe('mode-collapse check', () => {
  const real = Array.from({ length: 8 }, (_, i) => noise(i + 1, 12 * 12 * 3));
  it('fires when translations of different images are nearly identical', () => {
    const base = noise(99, 12 * 12 * 3);
    const collapsed = Array.from({ length: 8 }, (_, i) => base.map((v, k) => v + 0.01 * noise(i + 50, base.length)[k]));
    const r = modeCollapseCheck(100, collapsed, real, { label: 'G' });
    expect(r.warning).not.toBeNull();
    expect(r.warning!.detector).toBe('mode-collapse');
    expect(r.ratio).toBeLessThan(0.05);
  });
  it('does not fire on translations as diverse as real images', () => {
    const gen = Array.from({ length: 8 }, (_, i) => noise(i + 200, 12 * 12 * 3, 0.8));
    const r = modeCollapseCheck(100, gen, real);
    expect(r.warning).toBeNull();
    expect(r.ratio).toBeGreaterThan(0.5);
  });
  it('mean pairwise distance is the mean L1 over pairs', () => {
    expect(meanPairwiseDistance([new Float32Array([0, 0]), new Float32Array([1, 1]), new Float32Array([0, 2])])).toBeCloseTo((1 + 1 + 1) / 3);
  });
});

describe('divergence detector', () => {
  it('fires on NaN and Inf, naming the values, and not on finite ones', () => {
    const d = new DivergenceDetector();
    expect(d.check(5, { gAdv: 1, cycle: 2 })).toBeNull();
    const w = d.check(6, { gAdv: NaN, cycle: 2, gradNormD: Infinity });
    expect(w?.detector).toBe('divergence');
    expect(w?.message).toMatch(/gAdv=NaN/);
    expect(w?.message).toMatch(/gradNormD=Infinity/);
    expect(w?.remedy).toMatch(/roll/);
  });
});

describe('identity-collapse detector', () => {
  it('fires when |G(x) - x| stays under the threshold for a whole window, with evidence and a remedy', () => {
    const det = new IdentityCollapseDetector({ window: 10, threshold: 0.02 });
    const fired = [];
    // Healthy at first, then the output drifts to the input and stays there.
    for (let step = 1; step <= 40; step++) {
      const d = step <= 15 ? 0.3 - step * 0.01 : 0.005 + 0.001 * Math.sin(step);
      const w = det.update(step, d);
      if (w) fired.push(w);
    }
    // First full window below 0.02: steps 16-25; then the cooldown (= window) until 35.
    expect(fired.map((w) => w.step)).toEqual([25, 35]);
    expect(fired[0].detector).toBe('identity-collapse');
    expect(fired[0].evidence.max).toBeLessThan(0.02);
    expect(formatWarning(fired[0])).toMatch(/WARN identity-collapse @ step 25.*no longer differs from its input.*Remedy: .*--lambda-nce/);
  });

  it('stays quiet while the output changes, on one low step, and on NaN', () => {
    const det = new IdentityCollapseDetector({ window: 5, threshold: 0.02 });
    const seq = [0.2, 0.01, 0.015, 0.01, 0.03, 0.01, 0.01, NaN, 0.01, 0.25, 0.01];
    expect(seq.map((d, i) => det.update(i + 1, d)).filter(Boolean)).toEqual([]);
  });
});
