/**
 * Model facts in plain words for the Models page: what a model does and what its measured numbers
 * mean for a person ("sharper than plain resizing by 3.5 dB on standard test photos").
 */
import type { SiteModel } from '@/lib/store';
import { KINDS, kindOf } from '../_components/kinds';

/** Plain bicubic resizing on Set14 (Y-PSNR, dB, same protocol as the models' numbers: docs/sr-results.md). */
const BICUBIC_SET14: Record<number, number> = { 2: 30.23, 3: 27.55, 4: 26.0 };
/** The same on Set14 LR re-encoded as JPEG quality 60 (the photo tier's test: `eval sr --degrade jpeg:60`). */
const BICUBIC_SET14_JPEG60: Record<number, number> = { 2: 28.53, 4: 25.02 };

const DOMAIN: Record<string, string> = {
  summer: 'summer scenes',
  winter: 'winter scenes',
  horse: 'horses',
  zebra: 'zebras',
  photo: 'photos',
  monet: 'Monet paintings',
};

/** "Summer → winter (CycleGAN, real-time)" -> ["summer scenes", "winter scenes"], or null. */
function domains(name: string): [string, string] | null {
  const m = /^\s*([^→(]+?)\s*→\s*([^(]+?)\s*(\(|$)/.exec(name);
  if (!m) return null;
  const word = (s: string) => DOMAIN[s.toLowerCase()] ?? s;
  return [word(m[1]), word(m[2])];
}

export function plainWhat(m: SiteModel): string {
  if (m.task === 'translation') {
    const d = domains(m.name);
    return d ? `Turns ${d[0]} into ${d[1]}, same size.` : 'Restyles a picture, same size.';
  }
  const kind = KINDS[kindOf(m)].label;
  const tier = m.tier === 'real-time' ? ' Fast: good for large pictures.' : m.tier === 'quality' ? ' Slower, the most faithful detail.' : m.tier === 'photo' ? ' Removes JPEG blocks and noise; on clean pictures a little softer than Clean.' : '';
  return `Makes pictures ${m.scale}× larger (${kind}).${tier}`;
}

function ms(v: number): string {
  return v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(1)} s`;
}

/** Up to two short sentences about the measured numbers, or [] when the model has none. */
export function plainNumbers(m: SiteModel): string[] {
  const out: string[] = [];
  if (m.task === 'super-resolution') {
    const q = m.quality.find((x) => x.dataset === 'Set14');
    const base = BICUBIC_SET14[m.scale];
    const psnr = q?.metrics.psnrY;
    if (psnr !== undefined && base !== undefined) {
      const d = psnr - base;
      out.push(d >= 0 ? `Sharper than plain resizing by ${d.toFixed(1)} dB on standard test photos.` : `${(-d).toFixed(1)} dB below plain resizing on standard test photos (it trades accuracy for texture).`);
    }
    const jpeg = q?.metrics.psnrYJpeg60;
    const jpegBase = BICUBIC_SET14_JPEG60[m.scale];
    if (m.tier === 'photo' && jpeg !== undefined && jpegBase !== undefined) {
      const d = jpeg - jpegBase;
      out.push(d >= 0 ? `On JPEG photos (quality 60): ${d.toFixed(1)} dB closer to the original than plain resizing.` : `On JPEG photos (quality 60): ${(-d).toFixed(1)} dB below plain resizing.`);
    }
    const sec = q?.metrics.secondsPerImage;
    if (sec !== undefined) out.push(`Upscales a small photo in about ${ms(sec)} on a 2-core laptop-class CPU.`);
  } else {
    const q = m.quality[0];
    const share = q?.metrics.classifierTargetShare;
    const d = domains(m.name);
    if (share !== undefined) out.push(`A separate classifier calls ${Math.round(share * 100)}% of its results ${d ? d[1] : 'the target style'} (test pictures it never trained on).`);
    const per = q?.metrics.msPer256;
    if (per !== undefined) {
      const fps = 1000 / per;
      out.push(`Runs about ${fps >= 10 ? Math.round(fps) : fps.toFixed(1)} frames/s at 256×256 on a 2-core CPU.`);
    }
  }
  return out;
}
