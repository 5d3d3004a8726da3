import type { Command } from 'commander';

// Placeholder: the owner of this folder replaces it with the real command.
export function registerBackendsCommand(_program: Command): void {}
