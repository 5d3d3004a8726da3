/**
 * Training files known to be copies of benchmark test images. Training on them would inflate
 * the reported numbers, so every SR training folder is checked against this list by content
 * (SHA-256 of the file bytes, so a renamed or moved copy is caught too) and matches are skipped
 * and logged, without the user having to remember.
 *
 * Add an entry when a new training set overlaps a test set (the dataset README says which).
 */
import { createHash } from 'node:crypto';

export interface KnownOverlap {
  /** SHA-256 of the file bytes. */
  sha256: string;
  /** Where it comes from, for the log. */
  file: string;
  /** The benchmark image it duplicates. */
  sameAs: string;
}

export const KNOWN_OVERLAPS: readonly KnownOverlap[] = [
  {
    // ../shared/datasets/README.md: "302003.png is the same photo as sr/Set5/HR/woman.png".
    sha256: '79353f24845b8c2041afb1ddc08c47f22dc2e15817fb7c0265424965c7e1ca88',
    file: 'sr/BSD200/302003.png',
    sameAs: 'Set5 woman.png',
  },
];

const BY_HASH = new Map(KNOWN_OVERLAPS.map((o) => [o.sha256, o]));

/** The overlap a file's bytes match, or undefined. */
export function findKnownOverlap(bytes: Buffer | Uint8Array): KnownOverlap | undefined {
  return BY_HASH.get(createHash('sha256').update(bytes).digest('hex'));
}

/** For loadImageFolder's `exclude`: a reason to leave the file out, or null. */
export function knownOverlapReason(_name: string, bytes: Buffer): string | null {
  const o = findKnownOverlap(bytes);
  return o ? `left out: same photo as the benchmark image ${o.sameAs} (known overlap ${o.file}, training/data/known-overlaps.ts)` : null;
}
