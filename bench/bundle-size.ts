/**
 * @module Size of the Cloudflare Worker bundle: `wrangler deploy --dry-run` builds it offline (nothing is
 * uploaded), then this prints its raw and gzipped size, the largest contributors, and fails above the
 * budget. Workers accept 3 MB compressed on the free plan and 10 MB on paid plans; the budget is 1 MiB.
 *
 *   npm run bench:bundle            (or: npx tsx bench/bundle-size.ts [--top 15] [--budget-kib 1024])
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const KIB = 1024;

interface Metafile {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
}

const { values } = parseArgs({
  options: { top: { type: 'string', default: '12' }, 'budget-kib': { type: 'string', default: '1024' } },
});
const top = Number(values.top);
const budget = Number(values['budget-kib']) * KIB;

/** Wrangler's own files (logs, temporary build folders) stay under .wrangler/, which git ignores. */
function wranglerEnv(): NodeJS.ProcessEnv {
  const dir = (name: string) => {
    const path = join(ROOT, '.wrangler', name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    XDG_CONFIG_HOME: dir('config'),
    TMPDIR: dir('tmp'),
  };
}

/** The source files of the Worker script, with the bytes each put in it. */
function entryInputs(meta: Metafile): Record<string, { bytesInOutput: number }> {
  return Object.values(meta.outputs).find((o) => o.entryPoint !== undefined)?.inputs ?? {};
}

/** Bytes in the bundle by origin: an npm package, or a folder of this project. */
function contributors(inputs: Record<string, { bytesInOutput: number }>): [string, number][] {
  const sizes = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(inputs)) {
    const inModules = file.lastIndexOf('node_modules/');
    let key: string;
    if (inModules >= 0) {
      const parts = file.slice(inModules + 'node_modules/'.length).split('/');
      key = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? file);
    } else {
      key = file
        .replace(/^(\.\.\/)+/, '')
        .split('/')
        .slice(0, 2)
        .join('/');
    }
    sizes.set(key, (sizes.get(key) ?? 0) + bytesInOutput);
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

const kib = (bytes: number): string => `${(bytes / KIB).toFixed(1)} KiB`;

const outdir = mkdtempSync(join(wranglerEnv().TMPDIR ?? ROOT, 'bundle-'));
try {
  const wrangler = join(ROOT, 'node_modules', '.bin', 'wrangler');
  const build = spawnSync(
    wrangler,
    ['deploy', '--dry-run', '--outdir', outdir, '--metafile', join(outdir, 'meta.json')],
    { cwd: ROOT, env: wranglerEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    throw new Error(`wrangler deploy --dry-run failed (exit ${build.status ?? 'signal'})`);
  }
  const script = readdirSync(outdir).find((name) => name.endsWith('.js'));
  if (script === undefined) throw new Error(`no bundle in ${outdir}`);
  const code = readFileSync(join(outdir, script));
  const gzipped = gzipSync(code, { level: 9 }).byteLength;

  console.log(`Worker bundle (src/worker.ts, wrangler deploy --dry-run)`);
  console.log(`  raw     ${kib(code.byteLength).padStart(12)}`);
  console.log(`  gzipped ${kib(gzipped).padStart(12)}   budget ${kib(budget)}`);
  console.log(`\nLargest contributors (raw bytes in the bundle):`);
  const inputs = entryInputs(JSON.parse(readFileSync(join(outdir, 'meta.json'), 'utf8')) as Metafile);
  for (const [name, bytes] of contributors(inputs).slice(0, top)) {
    console.log(`  ${name.padEnd(32)} ${kib(bytes).padStart(12)}`);
  }
  // Node-only drivers must never reach the edge bundle.
  const nodeOnly = ['better-sqlite3', 'mysql2', 'connectors/flexisip'].filter((name) =>
    Object.keys(inputs).some((file) => file.includes(name)),
  );
  if (nodeOnly.length > 0) throw new Error(`Node-only modules in the Worker bundle: ${nodeOnly.join(', ')}`);
  if (gzipped > budget) {
    throw new Error(`the gzipped bundle (${kib(gzipped)}) is over the budget of ${kib(budget)}`);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
