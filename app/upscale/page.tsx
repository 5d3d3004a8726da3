'use client';
import { useMemo, useState } from 'react';
import Link from 'next/link';
import { ImageTool } from '../_components/ImageTool';
import { ErrorBox } from '../_components/Messages';
import { useModelList } from '../_components/useModelList';
import { useUpscaleTool } from '@/lib/store/tool';
import type { ModelEntry } from '@/lib/contract/manifest';
import type { SiteModel } from '@/lib/store';
import { KINDS, kindOf, type Kind } from '../_components/kinds';

const SETS = ['Set5', 'Set14', 'BSD100'];
const TIER_ORDER = ['real-time', 'quality', 'photo', undefined];


/** "Y-PSNR Set5 / Set14 / BSD100: 36.90 / 32.50 / 31.40 dB": the measured numbers a user chooses by. */
function qualityLine(m: ModelEntry): string | null {
  const psnr = SETS.map((set) => m.quality.find((q) => q.dataset === set)?.metrics.psnrY);
  if (psnr.every((v) => v === undefined)) return null;
  return `Y-PSNR ${SETS.join(' / ')}: ${psnr.map((v) => (v === undefined ? '-' : v.toFixed(2))).join(' / ')} dB`;
}

export default function UpscalePage() {
  const { list, status, error } = useModelList('super-resolution');
  const picked = useUpscaleTool((s) => s.picked);
  const scales = useMemo(() => [...new Set(list.map((m) => m.scale))].sort((a, b) => a - b), [list]);
  const [scale, setScale] = useState<number | null>(null);
  const s = scale !== null && scales.includes(scale) ? scale : scales.includes(4) ? 4 : scales[0];
  const forScale = list.filter((m) => m.scale === s).sort((a, b) => TIER_ORDER.indexOf(a.tier) - TIER_ORDER.indexOf(b.tier));
  // a JPEG preselects Photo; otherwise, and once the person chooses for this picture, their choice holds
  const [choice, setChoice] = useState<{ url: string | null; kind: Kind } | null>(null);
  const wanted: Kind = choice && choice.url === (picked?.url ?? null) ? choice.kind : picked?.jpeg ? 'photo' : (choice?.kind ?? 'clean');
  const byKind = (k: Kind) => forScale.filter((m) => kindOf(m) === k);
  const missing = byKind(wanted).length === 0;
  const other: Kind = wanted === 'photo' ? 'clean' : 'photo';
  const kind: Kind = missing && byKind(other).length ? other : wanted;
  const candidates: SiteModel[] = byKind(kind);
  const [modelId, setModelId] = useState('');
  const model = candidates.find((m) => m.id === modelId) ?? candidates[0] ?? null;
  const sel = 'rounded-md border border-neutral-300 bg-white px-2 py-1.5 font-normal dark:border-neutral-700 dark:bg-neutral-900';
  return (
    <div className="flex flex-col gap-4">
      <header>
        <h1 className="text-2xl font-bold">Upscale</h1>
        <p className="text-neutral-600 dark:text-neutral-400">x2 or x4 super-resolution for any size: tiled with overlap and blended seams. Transparent areas are kept.</p>
      </header>
      <ErrorBox>{error}</ErrorBox>
      {status === 'ready' && !list.length && (
        <p className="text-sm">
          No super-resolution models yet. <Link className="underline" href="/models">Add your own ONNX model</Link>.
        </p>
      )}
      <ImageTool
        store={useUpscaleTool}
        model={model}
        actionLabel="Upscale"
        defaultTile={{ size: 192, overlap: 16 }}
        scales={scales}
        onScale={setScale}
        controls={
          <div className="flex flex-col gap-3">
            <label className="flex flex-col gap-1 text-sm font-medium">
              Scale
              <select data-testid="scale-select" className={`${sel} self-start`} value={s ?? ''} onChange={(e) => setScale(Number(e.target.value))} disabled={!scales.length}>
                {scales.map((x) => (
                  <option key={x} value={x}>
                    x{x}
                  </option>
                ))}
              </select>
            </label>
            <fieldset className="flex flex-col gap-1 text-sm" data-testid="kind">
              <legend className="mb-1 font-medium">Kind of picture</legend>
              {(Object.keys(KINDS) as Kind[]).map((k) => (
                <label key={k} className="flex items-start gap-2">
                  <input
                    type="radio"
                    name="kind"
                    value={k}
                    data-testid={`kind-${k}`}
                    checked={kind === k}
                    onChange={() => setChoice({ url: picked?.url ?? null, kind: k })}
                    className="mt-1"
                  />
                  <span>
                    <span className="font-medium">{KINDS[k].label}</span>
                    <span className="block text-xs text-neutral-600 dark:text-neutral-400">{KINDS[k].help}</span>
                  </span>
                </label>
              ))}
              {missing && s !== undefined && (
                <p data-testid="kind-note" className="text-xs text-amber-800 dark:text-amber-300">
                  No &quot;{KINDS[wanted].label}&quot; model at x{s} yet{byKind(other).length ? `: using ${KINDS[other].label}.` : '.'}
                </p>
              )}
            </fieldset>
            <label className="flex flex-col gap-1 text-sm font-medium">
              Model
              <select data-testid="model-select" className={sel} value={model?.id ?? ''} onChange={(e) => setModelId(e.target.value)} disabled={!candidates.length}>
                {candidates.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                    {m.origin === 'byo' ? ' (yours)' : ''}
                  </option>
                ))}
              </select>
            </label>
            {model && (
              <p data-testid="model-info" className="text-xs text-neutral-600 dark:text-neutral-400">
                {[qualityLine(model), model.parameters !== undefined ? `${model.parameters.toLocaleString('en-US')} parameters` : null, model.description].filter(Boolean).join(' · ')}
              </p>
            )}
          </div>
        }
      />
    </div>
  );
}
