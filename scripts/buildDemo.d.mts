/** demo/dist, where the demo PWA is built. */
export const demoDist: string;
/** True when demo/dist is missing or older than its sources (demo/, src/, worker/). */
export function demoIsStale(): boolean;
/** Runs `vite build` with demo/vite.config.ts when needed (or always with `force`). Returns demo/dist. */
export function buildDemo(options?: { force?: boolean; quiet?: boolean }): Promise<string>;
