/**
 * A resumed run keeps the networks its checkpoint holds. Asking for different ones (e.g.
 * `--resume --ngf 32` on a run trained with ngf 16) cannot be honoured, and silently ignoring the
 * flag would train something the user did not ask for, so it is refused, naming each difference.
 */
export class ChangedArchitectureError extends Error {
  constructor(
    message: string,
    readonly differences: { key: string; saved: unknown; requested: unknown }[],
  ) {
    super(message);
    this.name = 'ChangedArchitectureError';
  }
}

/**
 * Throws ChangedArchitectureError when any of `keys` differs between the checkpoint's options and
 * the requested ones. `explicit` (when given) limits the check to options the user actually set
 * (a CLI default must not block resuming a run trained with other settings).
 */
export function refuseChangedArchitecture(
  checkpoint: string,
  saved: Record<string, unknown>,
  requested: Record<string, unknown>,
  keys: readonly string[],
  explicit?: readonly string[],
  flagName: (key: string) => string = (k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
): void {
  const differences = keys
    .filter((k) => !explicit || explicit.includes(k))
    .filter((k) => requested[k] !== undefined && saved[k] !== undefined && JSON.stringify(requested[k]) !== JSON.stringify(saved[k]))
    .map((key) => ({ key, saved: saved[key], requested: requested[key] }));
  if (!differences.length) return;
  const list = differences.map((d) => `${flagName(d.key)} ${String(d.requested)} (the checkpoint has ${String(d.saved)})`).join(', ');
  throw new ChangedArchitectureError(
    `--resume: ${checkpoint} was trained with other networks than this command asks for: ${list}. ` +
      'A resumed run keeps its architecture: drop these flags to continue it, or start a new run with another --out',
    differences,
  );
}

interface NetworkLike {
  layers: { getClassName(): string; name: string; weights: { shape: (number | null)[] }[] }[];
}

/** One entry per layer: its class and weight shapes (what a checkpoint's weights must fit). */
export function networkSignature(model: NetworkLike): string[] {
  return model.layers.map((l) => `${l.getClassName()}(${l.weights.map((w) => w.shape.join('x')).join(', ')})`);
}

/**
 * For trainers whose options do not map one to one onto saved fields (SR: tier defaults changed
 * over time): builds what the flags ask for and compares it with the network the checkpoint
 * holds, layer by layer. Throws ChangedArchitectureError naming the flags and the first difference.
 */
export function refuseChangedNetwork(checkpoint: string, saved: NetworkLike, requested: NetworkLike, flags: string[]): void {
  const a = networkSignature(saved);
  const b = networkSignature(requested);
  if (a.length === b.length && a.every((s, i) => s === b[i])) return;
  const i = a.findIndex((s, k) => s !== b[k]);
  const at = i < 0 ? Math.min(a.length, b.length) : i;
  throw new ChangedArchitectureError(
    `--resume: ${checkpoint} was trained with other networks than this command asks for: ${flags.join(' ')} gives ${b.length} layers, ` +
      `the checkpoint has ${a.length}; first difference at layer ${at}: the checkpoint has ${a[at] ?? 'nothing'}, the flags ask for ${b[at] ?? 'nothing'}. ` +
      'A resumed run keeps its architecture: drop these flags to continue it, or start a new run with another --out',
    [{ key: flags.join(' '), saved: a[at], requested: b[at] }],
  );
}
