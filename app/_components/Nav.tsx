'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';

const LINKS = [
  ['/translate', 'Translate'],
  ['/upscale', 'Upscale'],
  ['/webcam', 'Webcam'],
  ['/models', 'Models'],
] as const;

export function Nav() {
  const path = usePathname();
  return (
    <nav aria-label="Tools" className="flex flex-wrap gap-1">
      {LINKS.map(([href, label]) => (
        <Link
          key={href}
          href={href}
          aria-current={path === href ? 'page' : undefined}
          className={`rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-sky-500 ${
            path === href ? 'bg-neutral-900 text-white dark:bg-white dark:text-neutral-900' : 'hover:bg-neutral-100 dark:hover:bg-neutral-800'
          }`}
        >
          {label}
        </Link>
      ))}
    </nav>
  );
}
