/**
 * SIGINT / SIGTERM during a training run (Ctrl-C, kill, a scheduler's time limit): the run
 * finishes its current step, saves a checkpoint and exits normally.
 *
 * The listeners stay for the whole run (`on`, not `once`): under npm or tsx one Ctrl-C reaches the
 * trainer twice (the terminal's signal and the wrapper's relay), and with a one-shot listener the
 * second signal killed the run before its checkpoint. kill -9 stops at once, without one (saves
 * are atomic, so the previous checkpoint stays usable).
 */
export interface InterruptWatch {
  /** true once a signal arrived */
  readonly requested: boolean;
  /** removes the listeners (call when the run loop ends) */
  release(): void;
}

export function watchInterrupts(log: (line: string) => void, abort?: AbortSignal): InterruptWatch {
  let requested = abort?.aborted ?? false;
  const onSignal = (signal: string) => {
    if (!requested) log(`${signal}: stopping after this step with a checkpoint (kill -9 stops without one)`);
    requested = true;
  };
  const onAbort = () => {
    requested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  abort?.addEventListener('abort', onAbort);
  return {
    get requested() {
      return requested;
    },
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      abort?.removeEventListener('abort', onAbort);
    },
  };
}
