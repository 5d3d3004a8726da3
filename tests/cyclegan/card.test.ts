/**
 * Translation model cards: the measured-quality section and the status lines are rewritten in place
 * when a model is re-scored by a retrained judge (training/tasks/cyclegan/rescore.ts); everything
 * else in the card (the learning curve of its session, notes) stays as it was.
 */
import { describe, expect, it } from 'vitest';
import { curvePickSentence, measuredQualitySection, replaceMeasured, targetLines } from '../../training/tasks/cyclegan/card';
import { cardDomainNames } from '../../training/tasks/cyclegan/rescore';
import type { TranslationMetrics } from '../../training/eval/translation/evaluate';

const metrics = (calledTarget: number): TranslationMetrics => ({
  images: 300,
  calledTarget,
  calledSource: 1 - calledTarget - 0.02,
  calledOther: 0.02,
  detail: 0.88,
  edges: 0.88,
  kid: 0.56,
  score: calledTarget * 0.88 * 0.88,
  msPerImage: 60,
});

const judge = { heldOut: { A: 0.813, B: 0.933, other: 0.807, balanced: 0.851, images: { A: 300, B: 45, other: 150 } } };
const reference = { realTarget: 0.933, inputsCalledTarget: 0.153, inputsKid: 3.41 };

function card(m: TranslationMetrics): string {
  const section = measuredQualitySection({ id: 'cyclegan-photo2monet', m, from: 'photo', to: 'Monet', direction: 'AtoB', reference, judge });
  return `# Photo → Monet

| | |
|---|---|
| Parameters | 64,275 |

${section}
## Learning curve

| step | called Monet |
|---|---|
| 600 (best A->B) | 61.7% |

## Status against the targets

${targetLines(m, 'Monet', { share: 0.6, edges: 0.75 }).join('\n')}

A hand-written note stays.
`;
}

describe('translation model card', () => {
  it('names its domains from the measured-quality table', () => {
    expect(cardDomainNames(card(metrics(0.617)))).toEqual({ from: 'photo', to: 'Monet' });
    expect(() => cardDomainNames('# a card without the table\n')).toThrow(/no measured-quality table/);
  });

  it('re-scoring replaces the measured section and the status lines, and keeps the rest', () => {
    const old = card(metrics(0.617));
    expect(old).toContain('- Called "Monet" 61.7% meets the target of 60.0%.');
    const newJudge = { heldOut: { A: 0.93, B: 0.956, other: 0.907, balanced: 0.931, images: { A: 300, B: 45, other: 150 } } };
    const m = metrics(0.267);
    const section = measuredQualitySection({ id: 'cyclegan-photo2monet', m, from: 'photo', to: 'Monet', direction: 'AtoB', reference: { ...reference, inputsCalledTarget: 0.043 }, judge: newJudge, rescored: 'Re-scored on 2026-12-05 by the judge retrained then.' });
    const out = replaceMeasured(old, section, m, 'Monet');
    expect(out).toContain('| called "Monet" by the judge | 26.7% | real Monet test images: 93.3%; the untranslated inputs: 4.3% |');
    expect(out).not.toContain('| called "Monet" by the judge | 61.7%');
    expect(out).toContain('(balanced 93.1%)');
    expect(out).toContain('Re-scored on 2026-12-05 by the judge retrained then.');
    expect(out).toContain('- Called "Monet" 26.7% is **below** the target of 60.0%.');
    expect(out).toContain('- Edge correlation 0.88 meets the target of 0.75.');
    expect(out).not.toContain('Detail ratio'); // no detail target was set: none is invented
    // Untouched: the header, the learning curve of its session, the note.
    expect(out.startsWith('# Photo → Monet\n\n| | |\n|---|---|\n| Parameters | 64,275 |\n\n## Measured quality')).toBe(true);
    expect(out).toContain('| 600 (best A->B) | 61.7% |');
    expect(out.endsWith('A hand-written note stays.\n')).toBe(true);
    expect(out.match(/## Measured quality/g)).toHaveLength(1);
    // Re-scoring twice gives the same card.
    expect(replaceMeasured(out, section, m, 'Monet')).toBe(out);
  });

  it('refuses a card without a measured section', () => {
    expect(() => replaceMeasured('# x\n', 'section', metrics(0.5), 'Monet')).toThrow(/no "## Measured quality" section/);
  });
});

describe('which checkpoint the card says was shipped', () => {
  it('the best score by default, the --checkpoint pick when one was given', () => {
    expect(curvePickSentence(10000, 10000, false)).toMatch(/best held-out A->B score \(step 10000\)/);
    const picked = curvePickSentence(11634, 10000, true);
    expect(picked).toMatch(/step 11634, was chosen with `--checkpoint`/);
    expect(picked).toMatch(/best held-out A->B score is at step 10000/);
  });
});
