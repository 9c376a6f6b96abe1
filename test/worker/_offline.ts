/**
 * @module Keeps wrangler and Miniflare offline and inside the project while the Workers tests run.
 *
 * Imported first by vitest.config.ts, before the pool loads wrangler: no metrics, no download of the
 * `request.cf` data, and wrangler's logs and temporary files under `.wrangler/` (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = (path: string): string => {
  const full = fileURLToPath(new URL(`../../.wrangler/${path}/`, import.meta.url));
  mkdirSync(full, { recursive: true });
  return full;
};

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
process.env.XDG_CONFIG_HOME = dir('config');
process.env.TMPDIR = dir('tmp');
