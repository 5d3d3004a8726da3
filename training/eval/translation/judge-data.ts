/** Loads a CycleGAN-style dataset folder at 256x256 for the judge and the evaluation. */
import path from 'node:path';
import { loadUnpairedDataset } from '../../data/unpaired';
import { JUDGE_SIZE, type JudgeData } from './classifier';

export async function loadJudgeData(root: string, opts: { limit?: number; log?: (l: string) => void } = {}): Promise<JudgeData> {
  const ds = await loadUnpairedDataset(root, { loadSize: JUDGE_SIZE, withTest: true, limit: opts.limit, log: opts.log });
  if (!ds.testA?.images.length || !ds.testB?.images.length) {
    throw new Error(`${root} needs testA/ and testB/ with images: the evaluation scores held-out test images only`);
  }
  return {
    dataset: path.basename(path.resolve(root)),
    trainA: ds.trainA.images,
    trainB: ds.trainB.images,
    testA: ds.testA.images,
    testB: ds.testB.images,
  };
}
