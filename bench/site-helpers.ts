import { readdirSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export const HORSE = '/work/shared/datasets/cyclegan/horse2zebra/testA/001.jpeg';

export function decodePng(buf: Buffer): { width: number; height: number; data: Uint8Array } {
  const p = PNG.sync.read(buf);
  return { width: p.width, height: p.height, data: p.data };
}

export function maxAbsDiffPlain(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** pid and all its descendants, from /proc (Linux). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // comm may hold spaces and parentheses: the ppid is the 2nd field after the last ')'
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Proportional set size (shared pages split between sharers), in bytes, of the processes under
 * `root` whose command line matches `match` (e.g. the browser's binary, not the Next server).
 */
export function treePss(root: number, match: RegExp): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      if (!match.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0])) continue;
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited or not readable */
    }
  }
  return kb * 1024;
}

/**
 * CPU seconds (user + system, all threads) used so far by the processes under `root` whose command
 * matches: on a shared machine the CPU a job costs is steadier than its wall time.
 */
export function treeCpuSeconds(root: number, match: RegExp): number {
  const hz = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      if (!match.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0])) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      /* exited or not readable */
    }
  }
  return ticks / hz;
}

/** Samples treePss every `ms` until stopped; returns the peak. */
export function pssSampler(root: number, match: RegExp, ms = 250): { stop: () => number } {
  let peak = treePss(root, match);
  const timer = setInterval(() => (peak = Math.max(peak, treePss(root, match))), ms);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, treePss(root, match));
    },
  };
}
