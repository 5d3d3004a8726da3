import type { ModelEntry } from '@/lib/contract/manifest';

/**
 * The two kinds of upscaler people choose between, mapped from the manifest's tier: tier `photo`
 * is the photo kind; every other model (real-time, quality, or untiered) is clean.
 */
export const KINDS = {
  photo: { label: 'Photo (JPEG, noise)', help: 'For phone photos, JPEGs and scans: removes JPEG blocks and noise while it upscales.' },
  clean: { label: 'Clean', help: 'For clean pictures (PNG renders, screenshots, game art): the most faithful detail.' },
} as const;
export type Kind = keyof typeof KINDS;
export const kindOf = (m: Pick<ModelEntry, 'tier'>): Kind => (m.tier === 'photo' ? 'photo' : 'clean');
