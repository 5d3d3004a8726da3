'use client';
export function ErrorBox({ children, testId = 'error' }: { children: React.ReactNode; testId?: string }) {
  if (!children) return null;
  return (
    <div role="alert" data-testid={testId} className="whitespace-pre-wrap rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950/50 dark:text-red-200">
      {children}
    </div>
  );
}

export function Notice({ children }: { children: React.ReactNode }) {
  if (!children) return null;
  return (
    <div role="status" data-testid="notice" className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
      {children}
    </div>
  );
}
