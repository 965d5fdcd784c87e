import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

// The demo PWA. Built to demo/dist and served by the reference server from the
// same origin (`npm start`), so the API is at location.origin. `vite dev`
// proxies /v1 to a server on :8787.
export default defineConfig({
  root,
  base: './',
  publicDir: 'public',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  worker: { format: 'es' },
  server: {
    fs: { allow: [repo] },
    proxy: { '/v1': { target: 'http://127.0.0.1:8787', ws: true } },
  },
  plugins: [
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: 'script',
      includeAssets: ['icon.svg'],
      manifest: {
        // A stable identity for the installed app, whatever start_url becomes.
        id: './',
        name: 'readsync demo',
        short_name: 'readsync',
        description: 'Offline-first read receipts: a tiny chat that shows who has read what.',
        theme_color: '#1f6feb',
        background_color: '#ffffff',
        display: 'standalone',
        start_url: './',
        icons: [
          { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
          // Full-bleed, the mark inside the safe zone, for launchers that crop icons to a shape
          // (icon-maskable.svg rendered at 512 px in Chromium).
          { src: 'icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
        // Shown by richer install prompts; `npm run demo:screenshots` retakes them from the e2e run.
        screenshots: [
          { src: 'screenshots/phone.png', sizes: '390x844', type: 'image/png', form_factor: 'narrow', label: 'A group conversation with live read receipts on a phone' },
          { src: 'screenshots/desktop.png', sizes: '1280x800', type: 'image/png', form_factor: 'wide', label: 'Conversations and read receipts on a desktop' },
        ],
      },
      workbox: {
        // The app shell only: HTML, JS (including the worker), CSS, icons.
        // API calls (/v1/...) go to the network; the worker's IndexedDB is the offline store.
        globPatterns: ['**/*.{html,js,css,svg,png,webmanifest}'],
        // The store screenshots are for the install prompt, not for the app offline.
        globIgnores: ['screenshots/**'],
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/v1\//],
        runtimeCaching: [],
        clientsClaim: true,
        skipWaiting: true,
        cleanupOutdatedCaches: true,
      },
    }),
  ],
});
