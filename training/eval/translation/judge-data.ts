/** Loads a CycleGAN-style dataset folder at 256x256 for the judge and the evaluation. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describeLoadReport, loadImageFolder, type RgbImage } from '../../data/images';
import { loadUnpairedDataset, resizeRgb } from '../../data/unpaired';
import { JUDGE_SIZE, type JudgeData } from './classifier';

/**
 * trainA/trainB (for training a judge) and testA/testB (always: every score is held out).
 * `testOnly` skips the training folders (evaluation with a stored judge needs only the test images).
 */
export async function loadJudgeData(root: string, opts: { limit?: number; testOnly?: boolean; log?: (l: string) => void } = {}): Promise<JudgeData> {
  const dataset = path.basename(path.resolve(root));
  if (opts.testOnly) {
    const load = async (name: string): Promise<RgbImage[]> => {
      const folder = path.join(root, name);
      try {
        await fs.access(folder);
      } catch {
        throw new Error(`${root} has no ${name}/ folder: the evaluation scores held-out test images (testA/ and testB/)`);
      }
      const { images, report } = await loadImageFolder(folder, { limit: opts.limit, maxPixels: 4096 * 4096 });
      opts.log?.(describeLoadReport(report));
      if (!images.length) throw new Error(`${folder} has no usable images`);
      return Promise.all(images.map((im) => resizeRgb(im, JUDGE_SIZE, JUDGE_SIZE)));
    };
    return { dataset, trainA: [], trainB: [], testA: await load('testA'), testB: await load('testB') };
  }
  const ds = await loadUnpairedDataset(root, { loadSize: JUDGE_SIZE, withTest: true, limit: opts.limit, log: opts.log });
  if (!ds.testA?.images.length || !ds.testB?.images.length) {
    throw new Error(`${root} needs testA/ and testB/ with images: the evaluation scores held-out test images only`);
  }
  return { dataset, trainA: ds.trainA.images, trainB: ds.trainB.images, testA: ds.testA.images, testB: ds.testB.images };
}
