import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, candidatesTable, ENABLE_COMMAND, initBackend, probeBackends, type BackendName } from './index';

/** `ganvas backends [--backend NAME]`: which tfjs backends work here and why not the others. */
export function registerBackendsCommand(program: Command): void {
  program
    .command('backends')
    .description('list the tfjs training backends, whether each is usable here and why; --backend NAME tries one')
    .option('--backend <name>', `start this backend (${BACKEND_NAMES.join(', ')} or auto) and run a test op`)
    .action(async (opts: { backend?: string }) => {
      if (!opts.backend) {
        const probes = await probeBackends();
        console.log('tfjs backends (+ usable, - not usable), in order of preference:');
        console.log(candidatesTable(probes));
        const auto = probes.find((p) => p.usable && p.autoPick);
        console.log(`auto picks: ${auto?.name ?? 'nothing'}`);
        const missing = probes.filter((p) => !p.usable);
        if (missing.length) {
          console.log('to enable:');
          for (const p of missing) console.log(`  ${p.name.padEnd(14)} ${ENABLE_COMMAND[p.name as BackendName]}`);
        }
        return;
      }
      const report = await initBackend({ backend: opts.backend });
      const y = tf.tidy(() => tf.sum(tf.conv2d(tf.ones([1, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 2]) as tf.Tensor4D, 1, 'same')));
      const sum = (await y.data())[0];
      y.dispose();
      const expected = 2 * 3 * (36 * 9 + 24 * 6 + 4 * 4); // interior, edge and corner pixels of an 8x8 'same' 3x3 conv
      if (Math.abs(sum - expected) > 1e-3 * expected) throw new Error(`backend ${report.name} computed a wrong conv2d: ${sum} != ${expected}`);
      console.log(`${report.name}: conv2d test op OK`);
      console.log(candidatesTable(report.candidates));
    });
}
