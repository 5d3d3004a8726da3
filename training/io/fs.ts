import { promises as fs } from 'node:fs';

/** True when something (file or folder) exists at `p`. */
export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
