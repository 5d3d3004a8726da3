// @ts-check
/**
 * Ganvas site. Every pixel is processed in the browser; the headers make the page
 * cross-origin isolated so onnxruntime-web can use its multi-threaded WASM build.
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  reactStrictMode: true,
  // `npm run typecheck` checks the whole repository (training included); the site build should not
  // fail because a training file elsewhere is mid-edit.
  typescript: { ignoreBuildErrors: true },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
          { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
        ],
      },
    ];
  },
};

export default nextConfig;
