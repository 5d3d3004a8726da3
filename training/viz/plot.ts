/**
 * Loss curves as PNG: an SVG line chart (one panel per group of series, moving-average
 * smoothed, raw values faint) rendered to PNG with sharp (librsvg).
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic';

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Panel {
  title: string;
  series: Series[];
  /** Fixed y range; default: from the data (1st..99th percentile). */
  yRange?: [number, number];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function smooth(ys: number[], k: number): number[] {
  const out: number[] = [];
  let sum = 0;
  const q: number[] = [];
  for (const y of ys) {
    q.push(y);
    sum += y;
    if (q.length > k) sum -= q.shift()!;
    out.push(sum / q.length);
  }
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

export function renderPlotSvg(panels: Panel[], opts: { width?: number; panelHeight?: number; title?: string } = {}): string {
  const W = opts.width ?? 900;
  const PH = opts.panelHeight ?? 220;
  const top = opts.title ? 30 : 10;
  const H = top + panels.length * (PH + 20);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title) parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`);
  panels.forEach((panel, pi) => {
    const x0 = 60;
    const x1 = W - 160;
    const y0 = top + pi * (PH + 20) + 20;
    const y1 = y0 + PH - 30;
    const all = panel.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    parts.push(`<text x="${x0}" y="${y0 - 6}" font-size="13">${esc(panel.title)}</text>`);
    parts.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#999"/>`);
    if (!all.length) return;
    const xs = all.map((p) => p[0]);
    const ysSorted = all.map((p) => p[1]).sort((a, b) => a - b);
    const xmin = Math.min(...xs);
    const xmax = Math.max(...xs, xmin + 1);
    let [ymin, ymax] = panel.yRange ?? [ysSorted[Math.floor(0.01 * (ysSorted.length - 1))], ysSorted[Math.ceil(0.99 * (ysSorted.length - 1))]];
    if (ymax - ymin < 1e-9) [ymin, ymax] = [ymin - 0.5, ymax + 0.5];
    const pad = (ymax - ymin) * 0.05;
    ymin -= pad;
    ymax += pad;
    const sx = (x: number) => x0 + ((x - xmin) / (xmax - xmin)) * (x1 - x0);
    const sy = (y: number) => y1 - ((Math.min(Math.max(y, ymin), ymax) - ymin) / (ymax - ymin)) * (y1 - y0);
    for (let t = 0; t <= 4; t++) {
      const yv = ymin + ((ymax - ymin) * t) / 4;
      parts.push(`<line x1="${x0}" x2="${x1}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#eee"/>`);
      parts.push(`<text x="${x0 - 4}" y="${sy(yv) + 4}" text-anchor="end" fill="#555">${fmt(yv)}</text>`);
      const xv = xmin + ((xmax - xmin) * t) / 4;
      parts.push(`<text x="${sx(xv)}" y="${y1 + 14}" text-anchor="middle" fill="#555">${Math.round(xv)}</text>`);
    }
    panel.series.forEach((s, si) => {
      const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      if (!pts.length) return;
      const color = COLORS[si % COLORS.length];
      const k = Math.max(1, Math.round(pts.length / 50));
      const raw = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      const sm = smooth(pts.map((p) => p[1]), k);
      const line = pts.map(([x], i) => `${sx(x).toFixed(1)},${sy(sm[i]).toFixed(1)}`).join(' ');
      if (k > 1) parts.push(`<polyline points="${raw}" fill="none" stroke="${color}" stroke-opacity="0.2" stroke-width="1"/>`);
      parts.push(`<polyline points="${line}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
      parts.push(`<rect x="${x1 + 10}" y="${y0 + 6 + si * 16}" width="12" height="3" fill="${color}"/>`);
      parts.push(`<text x="${x1 + 26}" y="${y0 + 11 + si * 16}">${esc(s.name)} ${fmt(sm[sm.length - 1])}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Renders the panels and writes a PNG atomically. */
export async function writePlotPng(file: string, panels: Panel[], opts: { width?: number; panelHeight?: number; title?: string } = {}): Promise<void> {
  const svg = renderPlotSvg(panels, opts);
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  await writeFileAtomic(file, png);
}
