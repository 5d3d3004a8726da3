/**
 * One training process per run folder. Two processes writing checkpoints into the same folder
 * (seen with `train sr --resume` while a first run still ran) interleave and overwrite each
 * other's state, so every trainer takes `<run>/run.lock` before it touches the folder:
 *
 *  - the lock file holds the owner's pid, host, start time and command line, created with
 *    O_EXCL ('wx'), so of two processes starting together exactly one gets it;
 *  - a second run on a folder whose owner is alive is refused, naming the owner's pid;
 *  - a lock whose owner is gone (killed: SIGKILL leaves the file behind) is taken over: the
 *    pid is dead, or it now belongs to another process (Linux: its start time in
 *    /proc/<pid>/stat differs from the one recorded);
 *  - the owner removes it when the run ends (normally, by an error, or on process exit).
 */
import { openSync, readFileSync, unlinkSync, writeSync, closeSync, fsyncSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'run.lock';

interface LockInfo {
  pid: number;
  host: string;
  /** Process start time in clock ticks since boot (Linux), to tell a reused pid apart. */
  procStart: string | null;
  startedAt: string;
  command: string;
}

export interface RunLock {
  file: string;
  /** Removes the lock (only if this process still owns it). Idempotent. */
  release(): void;
}

export class RunFolderLockedError extends Error {
  constructor(
    message: string,
    readonly ownerPid: number,
  ) {
    super(message);
    this.name = 'RunFolderLockedError';
  }
}

const held = new Set<string>();
let exitHook = false;

function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the ")" that closes the command name.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Alive, but is it still the same process? (pids are reused.)
  if (info.procStart) {
    const now = procStart(info.pid);
    if (now !== null && now !== info.procStart) return false;
  }
  return true;
}

function readLock(file: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of run folder `runDir` (created if missing) for this process, taking over a
 * lock left by a dead process. Throws RunFolderLockedError naming the live owner's pid.
 */
export function acquireRunLock(runDir: string, opts: { log?: (line: string) => void } = {}): RunLock {
  mkdirSync(runDir, { recursive: true });
  const file = path.join(path.resolve(runDir), LOCK_FILE);
  if (held.has(file)) throw new RunFolderLockedError(`run folder ${runDir} is already in use by this process (pid ${process.pid})`, process.pid);
  const me: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    procStart: procStart(process.pid),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, JSON.stringify(me));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      held.add(file);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => {
          for (const f of held) releaseFile(f);
        });
      }
      return { file, release: () => releaseFile(file) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the run lock ${file}: ${(err as Error).message}`);
    }
    const other = readLock(file);
    if (other === null) {
      // Unreadable: a writer killed between create and write, or one writing right now.
      let age = Infinity;
      try {
        age = Date.now() - statSync(file).mtimeMs;
      } catch {
        continue; // gone meanwhile: try again
      }
      if (age < 2000) {
        throw new RunFolderLockedError(`run folder ${runDir} is being locked by another process right now (${file}); try again in a moment`, -1);
      }
      opts.log?.(`run lock ${file} is unreadable and ${Math.round(age / 1000)} s old: taking it over`);
    } else if (other.host !== me.host) {
      throw new RunFolderLockedError(
        `run folder ${runDir} is locked by process ${other.pid} on host ${other.host} (since ${other.startedAt}); ` +
          `if that run is over, delete ${file}`,
        other.pid,
      );
    } else if (isAlive(other)) {
      throw new RunFolderLockedError(
        `run folder ${runDir} is in use by process ${other.pid} (running since ${other.startedAt}: ${other.command}); ` +
          `wait for it to finish, stop it (kill ${other.pid}), or choose another --out`,
        other.pid,
      );
    } else {
      opts.log?.(`run folder ${runDir} was locked by process ${other.pid}, which is gone (killed?): taking the lock over`);
    }
    // Stale: remove it only if it is still the same stale lock, then race for it with O_EXCL.
    const again = readLock(file);
    if ((again?.pid ?? null) === (other?.pid ?? null)) {
      try {
        unlinkSync(file);
      } catch {
        /* someone else removed it: fine */
      }
    }
  }
  throw new RunFolderLockedError(`could not take the run lock ${file} (contended)`, -1);
}

function releaseFile(file: string): void {
  if (!held.has(file)) return;
  held.delete(file);
  const info = readLock(file);
  if (info && info.pid !== process.pid) return;
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** Runs `fn` holding the run folder's lock; the lock is released when `fn` settles. */
export async function withRunLock<T>(runDir: string, fn: () => Promise<T>, opts: { log?: (line: string) => void } = {}): Promise<T> {
  const lock = acquireRunLock(runDir, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
