import { describe, expect, it } from 'vitest';
import { cycleganIdName } from '../../training/tasks/cyclegan/model-id';

describe('CycleGAN model ids (ship --a2b / --b2a)', () => {
  it('takes a name or the full id, without doubling the prefix', () => {
    expect(cycleganIdName('summer2winter')).toBe('summer2winter');
    expect(cycleganIdName('cyclegan-summer2winter')).toBe('summer2winter');
    expect(`cyclegan-${cycleganIdName('cyclegan-summer2winter')}`).toBe('cyclegan-summer2winter');
    // only a leading prefix counts
    expect(cycleganIdName('horse2zebra-cyclegan-v2')).toBe('horse2zebra-cyclegan-v2');
  });

  it('refuses the bare prefix', () => {
    expect(() => cycleganIdName('cyclegan-')).toThrow(/not a model id/);
  });
});
