/**
 * The model contract shared by the training pipeline and the site.
 *
 * A model is data: an ONNX file in `public/models/` plus one entry in
 * `public/models/manifest.json`. Tensors are NCHW float32 RGB with dynamic
 * height and width; `range` says how pixel values are scaled on each side.
 * See docs/model-contract.md for the prose version.
 */
import { z } from 'zod';

export const TASKS = ['super-resolution', 'translation'] as const;
export type Task = (typeof TASKS)[number];

export const PixelRange = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => (lo === 0 && hi === 1) || (lo === -1 && hi === 1), {
    message: 'range must be [0,1] or [-1,1]',
  });
export type PixelRange = z.infer<typeof PixelRange>;

export const TensorSpec = z.object({
  /** ONNX graph input/output name. */
  name: z.string().min(1),
  range: PixelRange,
});
export type TensorSpec = z.infer<typeof TensorSpec>;

/** Quality numbers measured on a named benchmark set (SR: Y-PSNR/SSIM; translation: classifier share, cycle L1). */
export const Metric = z.object({
  dataset: z.string(),
  metrics: z.record(z.string(), z.number()),
  note: z.string().optional(),
});

/**
 * Super-resolution metric keys in `quality[].metrics`: `psnrY` / `ssimY` on the official
 * MATLAB-bicubic LR images; `psnrYJpeg60` / `ssimYJpeg60` on the same LR re-encoded as baseline
 * JPEG at quality 60 (standard tables, 4:2:0: `npm run eval -- sr --degrade jpeg:60`), i.e. photos.
 */
export const SR_METRIC_KEYS = { psnr: 'psnrY', ssim: 'ssimY', psnrJpeg60: 'psnrYJpeg60', ssimJpeg60: 'ssimYJpeg60' } as const;

export const ModelEntry = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'id: lowercase letters, digits and dashes'),
    name: z.string().min(1),
    task: z.enum(TASKS),
    /** Path relative to public/models/. */
    file: z.string().min(1),
    /** Output size / input size. 1 for translation. */
    scale: z.number().int().min(1).max(8),
    input: TensorSpec,
    output: TensorSpec,
    /** Spatial dims must be divisible by this (e.g. 4 for a generator with two stride-2 downsamplings). */
    multipleOf: z.number().int().min(1).default(1),
    description: z.string().default(''),
    /** Optional fp16-weights variant of the same model, relative to public/models/. */
    fileFp16: z.string().optional(),
    /**
     * Suggested tile size (input pixels) for large images, and the overlap needed to hide seams.
     * `margin`: input pixels at each edge of an overlap that the seam blend gives no weight, because
     * they saw the tile's padding instead of the image; set it to the network's receptive radius (a
     * local model then tiles to exactly its whole-image result). Default: a quarter of the overlap.
     */
    tile: z
      .object({ size: z.number().int().min(16), overlap: z.number().int().min(0), margin: z.number().int().min(0).optional() })
      .refine((t) => t.margin === undefined || 2 * t.margin < t.overlap, { message: 'tile.margin must be less than half of tile.overlap (the seam needs at least one blended pixel)' })
      .optional(),
    tier: z.enum(['real-time', 'quality', 'photo']).optional(),
    /** CycleGAN bookkeeping: the dataset's folder name and which way this generator maps. */
    dataset: z.string().optional(),
    direction: z.enum(['AtoB', 'BtoA']).optional(),
    parameters: z.number().int().nonnegative().optional(),
    /** Multiply-accumulates for one 256x256 input, in billions. */
    gmacs256: z.number().nonnegative().optional(),
    /** Bytes of the ONNX file. */
    bytes: z.number().int().nonnegative().optional(),
    training: z
      .object({
        data: z.string(),
        steps: z.number().int().nonnegative().optional(),
        hours: z.number().nonnegative().optional(),
        backend: z.string().optional(),
        notes: z.string().optional(),
      })
      .optional(),
    quality: z.array(Metric).default([]),
    card: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.task === 'translation' && m.scale !== 1) {
      ctx.addIssue({ code: 'custom', path: ['scale'], message: 'translation models have scale 1' });
    }
  });
export type ModelEntry = z.infer<typeof ModelEntry>;
export type ModelEntryInput = z.input<typeof ModelEntry>;

export const Manifest = z.object({
  version: z.literal(1),
  models: z.array(ModelEntry),
});
export type Manifest = z.infer<typeof Manifest>;

/** Parses a manifest, throwing an Error whose message names every offending field. */
export function parseManifest(json: unknown): Manifest {
  const r = Manifest.safeParse(json);
  if (!r.success) throw new Error(`invalid model manifest:\n${formatIssues(r.error)}`);
  const ids = new Set<string>();
  for (const m of r.data.models) {
    if (ids.has(m.id)) throw new Error(`invalid model manifest: duplicate id "${m.id}"`);
    ids.add(m.id);
  }
  return r.data;
}

export function parseModelEntry(json: unknown): ModelEntry {
  const r = ModelEntry.safeParse(json);
  if (!r.success) throw new Error(`invalid model entry:\n${formatIssues(r.error)}`);
  return r.data;
}

function formatIssues(err: z.ZodError): string {
  return err.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}
