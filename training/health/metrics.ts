/**
 * JSONL metrics log of a training run: one JSON object per line ({step, ...numbers}) plus
 * {event: ...} lines for health warnings, rollbacks and resumes. On resume the log is cut back
 * to the resumed step (atomically), so it never holds two histories for the same steps.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../io/atomic';

export type MetricRow = { step: number } & Record<string, number | string | boolean | null>;

export class MetricsLog {
  constructor(readonly file: string) {}

  async append(row: MetricRow | Record<string, unknown>): Promise<void> {
    await fs.appendFile(this.file, `${JSON.stringify(row, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`);
  }

  /** All rows (malformed lines, e.g. a line cut by a crash, are skipped). */
  async read(): Promise<Record<string, unknown>[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      return [];
    }
    const rows: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line));
      } catch {
        /* torn last line after a kill */
      }
    }
    return rows;
  }

  /** Drops rows after `step` (and torn lines). */
  async truncateAfter(step: number): Promise<void> {
    const rows = (await this.read()).filter((r) => typeof r.step !== 'number' || (r.step as number) <= step);
    await writeFileAtomic(this.file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
