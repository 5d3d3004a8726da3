import Link from 'next/link';

const TOOLS = [
  ['/translate', 'Translate', 'Turn summer into winter, horses into zebras, photos into Monets, at full resolution.'],
  ['/upscale', 'Upscale', 'x2 / x4 super-resolution for images of any size, tiled with blended seams.'],
  ['/webcam', 'Webcam', 'Live translation of your camera, with FPS and latency.'],
  ['/models', 'Models', 'The model catalog, and bring your own ONNX model.'],
] as const;

export default function Home() {
  return (
    <div className="flex flex-col gap-6">
      <section>
        <h1 className="text-3xl font-bold">Ganvas</h1>
        <p className="mt-2 max-w-2xl text-neutral-600 dark:text-neutral-400">
          Translate, upscale and restyle images in your browser, on WebGPU when your device has it and WebAssembly otherwise. Nothing is uploaded.
        </p>
      </section>
      <ul className="grid gap-4 sm:grid-cols-2">
        {TOOLS.map(([href, title, text]) => (
          <li key={href}>
            <Link href={href} className="block h-full rounded-xl border border-neutral-200 p-4 hover:border-sky-500 focus-visible:outline-2 focus-visible:outline-sky-500 dark:border-neutral-800">
              <h2 className="text-lg font-semibold">{title}</h2>
              <p className="mt-1 text-sm text-neutral-600 dark:text-neutral-400">{text}</p>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
