import type { Command } from 'commander';

// Placeholder: the owner of this folder replaces it with the real train/eval subcommands.
export function registerCycleGanCommands(_train: Command, _evaluate: Command): void {}
