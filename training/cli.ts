#!/usr/bin/env -S npx tsx
/**
 * ganvas: the training pipeline's one command line.
 *   npm run train -- sr|cyclegan|cut ... train (resumable, bounded with --max-minutes)
 *   npm run eval -- sr|cyclegan ...      evaluate any model that follows the manifest contract
 *   npm run export -- ...                tfjs checkpoint -> ONNX, proven equal before it is written
 *   npm run ganvas -- backends           which tfjs backends work here, and why not the others
 * Each concern registers its own subcommands; this file only wires them together.
 */
import { Command } from 'commander';
import { registerBackendsCommand } from './backends/command';
import { registerExportCommand } from './export/command';
import { registerSrCommands } from './tasks/sr/command';
import { registerCycleGanCommands } from './tasks/cyclegan/command';
import { registerCutCommands } from './tasks/cut/command';
import { registerTranslationEvalCommands } from './eval/translation/command';

const program = new Command('ganvas')
  .description('Ganvas training pipeline: CycleGAN and super-resolution on TensorFlow.js, exported to ONNX')
  .showHelpAfterError();

const train = program.command('train').description('train a model (see: train <task> --help)');
const evaluate = program.command('eval').description('evaluate a model (see: eval <task> --help)');

registerSrCommands(train, evaluate);
registerCycleGanCommands(train, evaluate);
registerCutCommands(train);
registerTranslationEvalCommands(evaluate);
registerExportCommand(program);
registerBackendsCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
