'use client';
import { useEffect } from 'react';

/** Registers /sw.js in production builds so the site (and onnxruntime-web) works offline after the first visit. */
export function RegisterSW() {
  useEffect(() => {
    if (process.env.NODE_ENV !== 'production' || !('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  }, []);
  return null;
}
