/**
 * `train cyclegan` / `train cut` command lines: the discriminator is sized to the generator when
 * --ndf is not given (64 beside the ResNet generator, --ngf beside the real-time ones), an explicit
 * --ndf wins, and on --resume only flags given on the command line are checked against the checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerCycleGanCommands, cycleganRunOptionsFromCli } from '../../training/tasks/cyclegan/command';
import { registerCutCommands, cutRunOptionsFromCli } from '../../training/tasks/cut/command';

function parse(task: 'cyclegan' | 'cut', args: string[]) {
  const train = new Command('train').exitOverride();
  registerCycleGanCommands(train, new Command('eval'));
  registerCutCommands(train);
  const cmd = train.commands.find((c) => c.name() === task)!;
  cmd.exitOverride().action(() => {});
  cmd.parse(['--data', 'x', ...args], { from: 'user' });
  const fromCli = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  return task === 'cyclegan' ? cycleganRunOptionsFromCli(cmd.opts(), fromCli) : cutRunOptionsFromCli(cmd.opts(), fromCli);
}

describe('discriminator width defaults', () => {
  for (const task of ['cyclegan', 'cut'] as const) {
    it(`${task}: 64 for resnet, --ngf for light and tiny, an explicit --ndf wins`, () => {
      expect(parse(task, []).ndf).toBe(64);
      expect(parse(task, ['--generator', 'tiny', '--ngf', '24']).ndf).toBe(24);
      expect(parse(task, ['--generator', 'light', '--ngf', '32']).ndf).toBe(32);
      expect(parse(task, ['--generator', 'tiny', '--ngf', '16', '--ndf', '48']).ndf).toBe(48);
      expect(parse(task, ['--generator', 'tiny']).explicit).not.toContain('ndf');
      expect(parse(task, ['--generator', 'tiny', '--ndf', '8']).explicit).toContain('ndf');
    });
  }
});

describe('weight average defaults', () => {
  for (const task of ['cyclegan', 'cut'] as const) {
    it(`${task}: 0.999 for a new run, none with --no-ema, the checkpoint's on --resume unless --ema is given`, () => {
      expect(parse(task, []).ema).toBe(0.999);
      expect(parse(task, ['--ema', '0.99']).ema).toBe(0.99);
      expect(parse(task, ['--no-ema']).ema).toBeUndefined();
      expect(parse(task, ['--resume']).ema).toBeUndefined();
      expect(parse(task, ['--resume', '--ema', '0.995']).ema).toBe(0.995);
      expect(() => parse(task, ['--ema', '1'])).toThrow(/--ema must be a decay strictly between 0 and 1/);
    });
  }
});
