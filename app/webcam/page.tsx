'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ensureModel, useRuntime, type SiteModel } from '@/lib/store';
import type { Runtime } from '@/lib/runtime/client';
import { ModelSelect } from '../_components/ModelSelect';
import { ErrorBox } from '../_components/Messages';
import { useModelList } from '../_components/useModelList';

function cameraError(e: unknown): string {
  const name = (e as DOMException)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'Camera permission was denied. Allow camera access for this site in your browser settings, then press Start again.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return 'No camera was found. Connect a camera and press Start again.';
  if (name === 'NotReadableError') return 'The camera is busy in another application.';
  return `The camera could not be started: ${(e as Error)?.message ?? e}`;
}

interface Stats {
  fps: number;
  latency: number;
  frames: number;
  gpuOutput: boolean;
  gpuInput: boolean;
  note: string;
}

export default function WebcamPage() {
  const { list, selected, setId } = useModelList('translation', { preferCheapest: true });
  const [res, setRes] = useState(256);
  const [mirror, setMirror] = useState(true);
  const [running, setRunning] = useState(false);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [canvasKey, setCanvasKey] = useState(0);
  const backend = useRuntime((s) => s.runtime?.backend);
  const videoRef = useRef<HTMLVideoElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const session = useRef<{ stop: boolean; stream: MediaStream; rt: Runtime; done: Promise<void> } | null>(null);
  const settings = useRef({ res, mirror });
  settings.current = { res, mirror };

  const stop = useCallback(async () => {
    const s = session.current;
    session.current = null;
    if (!s) return;
    s.stop = true;
    s.stream.getTracks().forEach((t) => t.stop());
    await s.done.catch(() => undefined);
    await s.rt.camStop().catch(() => undefined);
    setRunning(false);
    setCanvasKey((k) => k + 1); // a transferred canvas cannot be reused
  }, []);

  const start = useCallback(
    async (model: SiteModel) => {
      setError(null);
      setStarting(true);
      try {
        if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('this browser has no camera API (it needs HTTPS or localhost)'), { name: 'NoApi' });
        let stream: MediaStream;
        try {
          stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
        } catch (e) {
          setError(cameraError(e));
          return;
        }
        const video = videoRef.current!;
        video.srcObject = stream;
        await video.play();
        let rt: Runtime;
        try {
          rt = await ensureModel(model);
        } catch (e) {
          stream.getTracks().forEach((t) => t.stop());
          setError(`Could not load "${model.name}": ${(e as Error).message}`);
          return;
        }
        const canvas = canvasRef.current!;
        const off = canvas.transferControlToOffscreen();
        const spec = () => ({ inRange: model.input.range as [number, number], outRange: model.output.range as [number, number], mirror: settings.current.mirror });
        await rt.camStart(model.id, off, spec());
        const s = { stop: false, stream, rt, done: Promise.resolve() };
        session.current = s;
        setRunning(true);
        s.done = (async () => {
          const times: number[] = [];
          const lat: number[] = [];
          let frames = 0;
          while (!s.stop) {
            if (video.readyState < 2 || !video.videoWidth) {
              await new Promise((r) => setTimeout(r, 30));
              continue;
            }
            const side = Math.min(video.videoWidth, video.videoHeight);
            const r = settings.current.res - (settings.current.res % model.multipleOf);
            const frame = await createImageBitmap(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, { resizeWidth: r, resizeHeight: r, resizeQuality: 'medium' });
            const out = await rt.camFrame(frame, spec());
            const now = performance.now();
            times.push(now);
            lat.push(out.latencyMs);
            // window: the last 3 s, but always at least the last 3 frames (slow models still get a rate)
            while (times.length > 3 && now - times[0] > 3000) {
              times.shift();
              lat.shift();
            }
            frames++;
            // frames completed per second over the window; latency = mean worker time per frame (tensor in, model, draw)
            const fps = times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]) : 0;
            const latency = lat.reduce((a, b) => a + b, 0) / lat.length;
            setStats({ fps, latency, frames, gpuOutput: out.gpuOutput, gpuInput: out.gpuInput, note: out.note });
          }
        })().catch((e: Error) => {
          if (!s.stop) setError(`Webcam translation stopped: ${e.message}`);
          void stop();
        });
      } finally {
        setStarting(false);
      }
    },
    [stop],
  );

  // switching the model while running restarts with the new one
  const runningModel = useRef<string | null>(null);
  useEffect(() => {
    if (!running || !selected) return;
    if (runningModel.current && runningModel.current !== selected.id) {
      void stop().then(() => start(selected));
    }
    runningModel.current = selected.id;
  }, [selected, running, start, stop]);
  useEffect(() => () => void stop(), [stop]);

  const snapshot = async () => {
    const s = session.current;
    if (!s) return;
    try {
      const blob = await s.rt.camSnapshot();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `ganvas-webcam-${selected?.id ?? 'frame'}.png`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(`Snapshot failed: ${(e as Error).message}`);
    }
  };

  const btn = 'rounded-md px-4 py-2 font-semibold focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-50';
  return (
    <div className="flex flex-col gap-4">
      <header>
        <h1 className="text-2xl font-bold">Webcam</h1>
        <p className="text-neutral-600 dark:text-neutral-400">Live translation of your camera. Frames are processed on this device and never uploaded.</p>
      </header>
      <div className="flex flex-wrap items-end gap-3">
        <div className="min-w-48">
          <ModelSelect models={list} value={selected?.id ?? ''} onChange={setId} />
        </div>
        <label className="flex flex-col gap-1 text-sm font-medium">
          Resolution
          <select data-testid="res-select" value={res} onChange={(e) => setRes(Number(e.target.value))} className="rounded-md border border-neutral-300 bg-white px-2 py-1.5 font-normal dark:border-neutral-700 dark:bg-neutral-900">
            {[128, 256, 384, 512].map((r) => (
              <option key={r} value={r}>
                {r}×{r}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm font-medium">
          <input type="checkbox" checked={mirror} onChange={(e) => setMirror(e.target.checked)} data-testid="mirror" />
          Mirror
        </label>
        {running ? (
          <button type="button" data-testid="cam-stop" onClick={() => void stop()} className={`${btn} border border-neutral-300 dark:border-neutral-700`}>
            Stop
          </button>
        ) : (
          <button type="button" data-testid="cam-start" disabled={!selected || starting} onClick={() => selected && void start(selected)} className={`${btn} bg-sky-600 text-white hover:bg-sky-700`}>
            {starting ? 'Starting…' : 'Start camera'}
          </button>
        )}
        <button type="button" data-testid="cam-snapshot" disabled={!running} onClick={() => void snapshot()} className={`${btn} border border-neutral-300 dark:border-neutral-700`}>
          Snapshot PNG
        </button>
      </div>
      <ErrorBox>{error}</ErrorBox>
      {!list.length && <p className="text-sm">No translation models available yet.</p>}
      <div className="grid gap-4 md:grid-cols-2">
        <figure className="flex flex-col gap-1">
          <video ref={videoRef} muted playsInline className="aspect-square w-full rounded-lg bg-neutral-200 object-cover dark:bg-neutral-900" style={{ transform: mirror ? 'scaleX(-1)' : undefined }} aria-label="Camera" />
          <figcaption className="text-xs text-neutral-500">Camera</figcaption>
        </figure>
        <figure className="flex flex-col gap-1">
          <canvas key={canvasKey} ref={canvasRef} data-testid="cam-canvas" className="aspect-square w-full rounded-lg bg-neutral-200 dark:bg-neutral-900" aria-label="Translated camera" />
          <figcaption className="flex flex-wrap gap-3 text-xs text-neutral-500" data-testid="cam-stats" aria-live="off">
            {stats ? (
              <>
                <span data-testid="fps" data-fps={stats.fps.toFixed(2)}>
                  {stats.fps.toFixed(1)} FPS
                </span>
                <span data-testid="latency">{stats.latency.toFixed(0)} ms / frame</span>
                <span data-testid="frames" data-frames={stats.frames}>{stats.frames} frames</span>
                <span data-testid="cam-path">
                  {backend === 'webgpu'
                    ? `WebGPU${stats.gpuInput ? ', frames uploaded on the GPU' : ''}${stats.gpuOutput ? ', output stays on the GPU' : ''}${stats.note ? ` (${stats.note})` : ''}`
                    : 'WASM'}
                </span>
              </>
            ) : (
              'Translated'
            )}
          </figcaption>
        </figure>
      </div>
    </div>
  );
}
