export default function Home() {
  return (
    <main className="mx-auto max-w-3xl p-8">
      <h1 className="text-3xl font-bold">Ganvas</h1>
      <p className="mt-2">Translate, upscale and restyle images in your browser.</p>
    </main>
  );
}
