import type { Command } from 'commander';

// Placeholder: the owner of this folder replaces it with the real train/eval subcommands.
export function registerSrCommands(_train: Command, _evaluate: Command): void {}
