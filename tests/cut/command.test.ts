/**
 * `train cut` command line -> run options: --mode fills in the paper's settings (CUT: NCE weight 1
 * with identity NCE; FastCUT: NCE weight 10, no identity NCE, flip equivariance, LR decay from 3/4),
 * explicit flags win, and only explicitly given architecture flags are checked on --resume.
 */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { cutRunOptionsFromCli, registerCutCommands } from '../../training/tasks/cut/command';

function parse(args: string[]) {
  const train = new Command('train');
  registerCutCommands(train);
  const cut = train.commands.find((c) => c.name() === 'cut')!;
  cut.exitOverride().configureOutput({ writeErr: () => {} });
  cut.parseOptions(args);
  return cutRunOptionsFromCli(cut.opts(), (name) => cut.getOptionValueSource(name) === 'cli');
}

describe('train cut options', () => {
  it('--mode cut and --mode fastcut set the paper defaults', () => {
    const cut = parse(['--data', 'd', '--steps', '1000']);
    expect([cut.mode, cut.lambdaNce, cut.nceIdt, cut.flipEquivariance, cut.decayFrom]).toEqual(['cut', 1, true, false, 500]);
    expect([cut.numPatches, cut.nceT, cut.netFNc, cut.loss, cut.lambdaGan, cut.generator]).toEqual([256, 0.07, 256, 'lsgan', 1, 'resnet']);
    const fast = parse(['--data', 'd', '--mode', 'fastcut', '--steps', '1000']);
    expect([fast.mode, fast.lambdaNce, fast.nceIdt, fast.flipEquivariance, fast.decayFrom]).toEqual(['fastcut', 10, false, true, 750]);
    expect(fast.out).toBe('runs/fastcut-d');
  });

  it('explicit flags win over the mode; only given architecture flags are checked on resume', () => {
    const o = parse(['--data', 'd', '--mode', 'fastcut', '--lambda-nce', '4', '--nce-idt', 'true', '--ngf', '16', '--generator', 'tiny', '--resume']);
    expect([o.lambdaNce, o.nceIdt, o.flipEquivariance]).toEqual([4, true, true]);
    expect(o.explicit!.sort()).toEqual(['generator', 'mode', 'ngf']);
    expect(o.keepSavedSchedule).toBe(true);
    expect(parse(['--data', 'd', '--steps', '10']).keepSavedSchedule).toBe(false);
    expect(() => parse(['--data', 'd', '--mode', 'slow'])).toThrow(/Allowed choices are cut, fastcut/);
  });

  it('--degrade-inputs takes a share in [0, 1]; absent, a resumed run keeps its saved one', () => {
    expect(parse(['--data', 'd']).degradeInputs).toBeUndefined();
    expect(parse(['--data', 'd', '--degrade-inputs', '0.7']).degradeInputs).toBe(0.7);
    expect(() => parse(['--data', 'd', '--degrade-inputs', '1.5'])).toThrow(/--degrade-inputs must be a number in \[0, 1\]/);
    expect(() => parse(['--data', 'd', '--degrade-inputs', 'lots'])).toThrow(/--degrade-inputs must be a number in \[0, 1\]/);
  });

  it('--teacher turns distillation on with weight 10 unless --lambda-teacher says otherwise; off without it', () => {
    expect(parse(['--data', 'd']).teacher).toBeUndefined();
    expect(parse(['--data', 'd']).lambdaTeacher).toBeUndefined();
    const t = parse(['--data', 'd', '--generator', 'tiny', '--teacher', 'runs/h2z']);
    expect([t.teacher, t.lambdaTeacher]).toEqual(['runs/h2z', 10]);
    expect(parse(['--data', 'd', '--teacher', 'runs/h2z', '--lambda-teacher', '3']).lambdaTeacher).toBe(3);
  });
});
