import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import Link from 'next/link';
import './globals.css';
import { Nav } from './_components/Nav';
import { BackendBadge } from './_components/BackendBadge';
import { RegisterSW } from './_components/RegisterSW';

export const metadata: Metadata = {
  title: 'Ganvas',
  description: 'GAN image translation and super-resolution, running in your browser.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, colorScheme: 'light dark' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-white text-neutral-900 dark:bg-neutral-950 dark:text-neutral-100">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:p-2 focus:text-black">
          Skip to content
        </a>
        <header className="border-b border-neutral-200 dark:border-neutral-800">
          <div className="mx-auto flex max-w-6xl flex-col gap-2 px-4 py-3 sm:flex-row sm:items-center sm:justify-between">
            <div className="flex flex-wrap items-center gap-4">
              <Link href="/" className="text-lg font-bold tracking-tight">
                Ganvas
              </Link>
              <Nav />
            </div>
            <BackendBadge />
          </div>
        </header>
        <main id="main" className="mx-auto max-w-6xl px-4 py-6">
          {children}
        </main>
        <RegisterSW />
        <footer className="mx-auto max-w-6xl px-4 pb-6 text-xs text-neutral-500">Every pixel is processed on your device with onnxruntime-web. No image is uploaded.</footer>
      </body>
    </html>
  );
}
