/**
 * The parts of a translation model card that come from one measurement of the shipped ONNX file:
 * the "Measured quality" section and the status lines against the targets. ship.ts writes them
 * into a new card; rescore.ts replaces them in an existing card after the judge changed.
 */
import type { JudgeMeta } from '../../eval/translation/classifier';
import type { Direction, TranslationMetrics } from '../../eval/translation/evaluate';
import { pct } from '../../eval/translation/metrics';

export interface Targets {
  share?: number;
  detail?: number;
  edges?: number;
}

export interface Reference {
  /** Share of the real target-domain test images the judge calls the target. */
  realTarget: number;
  /** Share of the untranslated inputs the judge calls the target. */
  inputsCalledTarget: number;
  /** KID of the untranslated inputs against the real target images. */
  inputsKid: number;
}

/** How the card says which checkpoint was shipped: the best held-out score, or one picked with --checkpoint. */
export function curvePickSentence(shippedStep: number, bestStep: number, chosenByOption: boolean): string {
  return chosenByOption
    ? `The shipped checkpoint, step ${shippedStep}, was chosen with \`--checkpoint\`; the best held-out A->B score is at step ${bestStep}.`
    : `The shipped checkpoint is the one with the best held-out A->B score (step ${bestStep}), not necessarily the last.`;
}

export const MEASURED_HEADING = '## Measured quality';

const round = (v: number) => Number(v.toFixed(4));
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The metrics a translation model's manifest entry stores (quality[0].metrics). */
export function manifestMetrics(m: TranslationMetrics): Record<string, number> {
  return {
    classifierTargetShare: round(m.calledTarget),
    ...(m.unseen ? { classifierTargetShareUnseen: round(m.unseen.calledTarget), unseenImages: m.unseen.images } : {}),
    calledSource: round(m.calledSource),
    calledOther: round(m.calledOther),
    detail: round(m.detail),
    edges: round(m.edges),
    kid: round(m.kid),
    score: round(m.score),
    msPer256: Number(m.msPerImage.toFixed(1)),
  };
}

/** The card's "Measured quality" section, up to (not including) the next heading. */
export function measuredQualitySection(a: { id: string; m: TranslationMetrics; from: string; to: string; direction: Direction; reference: Reference; judge: Pick<JudgeMeta, 'heldOut'>; rescored?: string }): string {
  const { m, reference: ref, judge: j } = a;
  return `${MEASURED_HEADING} (\`npm run eval -- translation --model ${a.id}\`)

| metric | value | reading |
|---|---|---|
| called "${a.to}" by the judge | ${pct(m.calledTarget)} | real ${a.to} test images: ${pct(ref.realTarget)}; the untranslated inputs: ${pct(ref.inputsCalledTarget)} |
${m.unseen ? `| called "${a.to}" on the ${m.unseen.images} test images after the first ${m.unseen.from} | ${pct(m.unseen.calledTarget)} | the learning curve (and so the checkpoint pick) saw only the first ${m.unseen.from}: the best of many noisy checkpoints is biased upward there, not here |
` : ''}| called "${a.from}" / "other" | ${pct(m.calledSource)} / ${pct(m.calledOther)} | "other" = blurred, washed-out, noisy or broken |
| detail ratio (output / input gradient) | ${m.detail.toFixed(2)} | below 1 = blurrier than the photo |
| edge correlation with the input | ${m.edges.toFixed(2)} | 1 = the photo's structure kept exactly |
| KID vs real ${a.to} test images | ${m.kid.toFixed(4)} | the untranslated inputs: ${ref.inputsKid.toFixed(4)} (lower is closer) |
| held-out score (called x detail x edges) | ${m.score.toFixed(3)} | what picks the shipped checkpoint |
| ms per 256x256 image (onnxruntime-node, CPU) | ${m.msPerImage.toFixed(1)} | 2 shared cores, pessimistic |

${m.images} held-out test images at 256x256. The judge is a small 3-class CNN (${a.direction === 'AtoB' ? a.from : a.to} / ${a.direction === 'AtoB' ? a.to : a.from} / other) trained at
256x256 on trainA/trainB only, with an "other" class of degraded copies (blur, low resolution, noise, grey wash, outputs of
random-weight CycleGAN-shaped generators). Held-out recall: testA ${pct(j.heldOut.A)}, testB ${pct(j.heldOut.B)}, degraded test
images ${pct(j.heldOut.other)} (balanced ${pct(j.heldOut.balanced)}). KID uses its 64-d penultimate features (cubic kernel, unbiased).
${a.rescored ? `\n${a.rescored}\n` : ''}`;
}

/** One line per numeric target: met or below. */
export function targetLines(m: Pick<TranslationMetrics, 'calledTarget' | 'detail' | 'edges'>, to: string, targets: Targets): string[] {
  const out: string[] = [];
  const line = (name: string, v: number, t: number | undefined, fmt: (x: number) => string) => {
    if (t === undefined) return;
    out.push(v >= t ? `- ${name} ${fmt(v)} meets the target of ${fmt(t)}.` : `- ${name} ${fmt(v)} is **below** the target of ${fmt(t)}.`);
  };
  line(`Called "${to}"`, m.calledTarget, targets.share, pct);
  line('Detail ratio', m.detail, targets.detail, (x) => x.toFixed(2));
  line('Edge correlation', m.edges, targets.edges, (x) => x.toFixed(2));
  return out;
}

/**
 * Replaces a card's "Measured quality" section with `section`, and its status lines against numeric
 * targets (the targets are read back from those lines) with the new numbers. Throws when the card
 * has no such section.
 */
export function replaceMeasured(card: string, section: string, m: Pick<TranslationMetrics, 'calledTarget' | 'detail' | 'edges'>, to: string): string {
  const start = card.indexOf(MEASURED_HEADING);
  if (start < 0) throw new Error(`the card has no "${MEASURED_HEADING}" section`);
  const next = card.indexOf('\n## ', start + MEASURED_HEADING.length);
  const end = next < 0 ? card.length : next + 1;
  let out = `${card.slice(0, start)}${section.trimEnd()}\n\n${card.slice(end)}`;
  const targetOf = (re: RegExp): number | undefined => {
    const hit = re.exec(out);
    return hit ? Number(hit[1]) : undefined;
  };
  const sharePct = targetOf(new RegExp(`^- Called "${escapeRegExp(to)}" [\\d.]+% (?:meets|is \\*\\*below\\*\\*) the target of ([\\d.]+)%\\.$`, 'm'));
  const targets: Targets = {
    share: sharePct === undefined ? undefined : sharePct / 100,
    detail: targetOf(/^- Detail ratio [\d.]+ (?:meets|is \*\*below\*\*) the target of ([\d.]+)\.$/m),
    edges: targetOf(/^- Edge correlation [\d.]+ (?:meets|is \*\*below\*\*) the target of ([\d.]+)\.$/m),
  };
  const fresh = targetLines(m, to, targets);
  const kinds = [`- Called "${to}" `, '- Detail ratio ', '- Edge correlation '];
  for (const line of fresh) {
    const kind = kinds.find((k) => line.startsWith(k))!;
    out = out.replace(new RegExp(`^${escapeRegExp(kind)}.*$`, 'm'), line);
  }
  return out;
}
