/**
 * The demo's web app manifest, as the browser fetches it from the built app:
 * what an install prompt and a home screen need to look finished. Images are
 * decoded in Chromium, so a declared size or a "maskable" claim is checked
 * against the pixels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildDemo } from '../../scripts/buildDemo.mjs';
import { launchChromium } from './support/browser';
import { DemoServer } from './support/demoServer';

interface ManifestImage {
  src: string;
  sizes?: string;
  type?: string;
  purpose?: string;
  form_factor?: string;
  label?: string;
}
interface Manifest {
  id?: string;
  start_url?: string;
  icons: ManifestImage[];
  screenshots?: ManifestImage[];
}
/** What Chromium decodes from an image URL: its size, and how opaque its corners and its centre are (0-255). */
interface Decoded {
  status: number;
  type: string;
  width: number;
  height: number;
  cornerAlpha: number;
  centreAlpha: number;
}

let browser: Browser;
let server: DemoServer;
let page: Page;
let manifest: Manifest;
let manifestUrl: string;

beforeAll(async () => {
  await buildDemo({ quiet: true });
  browser = await launchChromium();
  server = await new DemoServer().start();
  page = await browser.newPage();
  await page.goto(server.url);
  manifestUrl = await page.evaluate(() => (document.querySelector('link[rel="manifest"]') as HTMLLinkElement | null)?.href ?? '');
  manifest = (await (await fetch(manifestUrl)).json()) as Manifest;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

function decode(src: string): Promise<Decoded> {
  return page.evaluate(async (url) => {
    const res = await fetch(url);
    const bitmap = await createImageBitmap(await res.blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const alpha = (x: number, y: number) => ctx.getImageData(x, y, 1, 1).data[3]!;
    const w = bitmap.width - 1;
    const h = bitmap.height - 1;
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      width: bitmap.width,
      height: bitmap.height,
      cornerAlpha: Math.min(alpha(0, 0), alpha(w, 0), alpha(0, h), alpha(w, h)),
      centreAlpha: alpha(Math.floor(w / 2), Math.floor(h / 2)),
    };
  }, new URL(src, manifestUrl).href);
}

describe('the demo manifest (Chromium)', () => {
  it('has an id, so an installed app keeps its identity if start_url changes', () => {
    expect(typeof manifest.id).toBe('string');
    expect(manifest.id).not.toBe('');
  });

  it('has a maskable PNG icon that fills its square (no transparent corners for the mask to show)', async () => {
    const maskable = manifest.icons.filter((i) => (i.purpose ?? 'any').split(/\s+/).includes('maskable'));
    expect(maskable.length).toBeGreaterThan(0);
    for (const icon of maskable) {
      const img = await decode(icon.src);
      expect(img).toMatchObject({ status: 200, type: 'image/png', cornerAlpha: 255, centreAlpha: 255 });
      expect(icon.sizes).toBe(`${img.width}x${img.height}`);
      expect(img.width).toBeGreaterThanOrEqual(512);
    }
  });

  it('has screenshots for a phone (narrow) and a desktop (wide), each the size it says', async () => {
    const shots = manifest.screenshots ?? [];
    expect(shots.map((s) => s.form_factor).sort()).toEqual(['narrow', 'wide']);
    for (const shot of shots) {
      expect(shot.label).toBeTruthy();
      const img = await decode(shot.src);
      expect(img).toMatchObject({ status: 200, type: 'image/png' });
      expect(shot.sizes).toBe(`${img.width}x${img.height}`);
      expect(shot.form_factor === 'wide' ? img.width > img.height : img.width < img.height).toBe(true);
    }
  });

  it('every icon it lists loads at the size it says', async () => {
    for (const icon of manifest.icons.filter((i) => i.type === 'image/png')) {
      const img = await decode(icon.src);
      expect(img.status).toBe(200);
      expect(icon.sizes).toBe(`${img.width}x${img.height}`);
    }
  });
});
