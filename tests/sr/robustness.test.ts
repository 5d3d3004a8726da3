/**
 * The degraded-input table (training/tasks/sr/robustness.ts): real models on real benchmark LR,
 * the degradation really applied (bicubic loses dB on harsh JPEG), gains and losses rendered.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SR_ROOT } from '../../training/eval/sr/evaluate';
import { measureRobustness, mergeRobustnessRows, robustnessMarkdown } from '../../training/tasks/sr/robustness';

const haveData = existsSync(path.join(DEFAULT_SR_ROOT, 'Set14'));

describe.skipIf(!haveData)('SR robustness table', () => {
  it('measures bicubic and a shipped model on clean and degraded LR and marks losses', async () => {
    const rows = await measureRobustness({ scale: 2, models: ['sr-realtime-x2'], sets: ['Set14'], conditions: ['clean', 'jpeg:30', 'noise:6+jpeg:75'], limit: 1, log: () => {} });
    expect(rows.map((r) => r.condition)).toEqual(['clean', 'jpeg:30', 'noise:6+jpeg:75']);
    const [clean, jpeg30] = rows;
    expect(jpeg30!.psnr.bicubic!).toBeLessThan(clean!.psnr.bicubic! - 1);
    expect(clean!.psnr['sr-realtime-x2']!).toBeGreaterThan(clean!.psnr.bicubic!);
    const md = robustnessMarkdown(rows, 'cmd');
    expect(md).toContain('| set | input | bicubic (dB) | sr-realtime-x2 |');
    const line = md.split('\n').find((l) => l.startsWith('| Set14 | clean |'))!;
    expect(line).toMatch(/\| \+\d+\.\d\d \|$/);
    const fake = robustnessMarkdown([{ scale: 2, set: 'S', condition: 'jpeg:30', psnr: { bicubic: 25, m: 24.5 } }], 'cmd');
    expect(fake).toContain('| S | jpeg:30 | 25.00 | **-0.50** |');
  }, 120_000);

  it('joins two runs on the same inputs into one row per input', () => {
    const a = [
      { scale: 4, set: 'S', condition: 'clean', psnr: { bicubic: 25, x: 26 } },
      { scale: 2, set: 'S', condition: 'clean', psnr: { bicubic: 30, x: 31 } },
    ];
    const b = [{ scale: 2, set: 'S', condition: 'clean', psnr: { bicubic: 30, y: 32 } }];
    const rows = mergeRobustnessRows([a, b]);
    expect(rows).toEqual([
      { scale: 2, set: 'S', condition: 'clean', psnr: { bicubic: 30, x: 31, y: 32 } },
      { scale: 4, set: 'S', condition: 'clean', psnr: { bicubic: 25, x: 26 } },
    ]);
    expect(a[1]!.psnr).toEqual({ bicubic: 30, x: 31 });
  });
});
