/**
 * @module Summarises a V8 `.cpuprofile`: the functions with the most self time, and the project's
 * functions (src/, connectors/) with the most inclusive time.
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/retrieve.cpuprofile [top] [requests]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  /** Share of the sampled time, in per cent. */
  selfPct: number;
  totalPct: number;
  /** Sampled time per request, in µs (when the number of requests is known). */
  selfUsPerReq?: number;
  totalUsPerReq?: number;
}

export interface ProfileSummary {
  sampledMs: number;
  /** Sampled time outside the idle and (program) pseudo-frames, in per cent. */
  busyPct: number;
  requests?: number;
  bySelf: HotSpot[];
  projectByTotal: HotSpot[];
  /** Inclusive time by area (a sample counts once for each area on its stack). */
  byArea: HotSpot[];
}

/**
 * Areas of the request path, recognised by the frames on the stack; `leaf` areas count only the
 * innermost frame (self time), for code that also sits under everything else.
 */
const AREAS: [string, (frame: CallFrame) => boolean, 'leaf'?][] = [
  [
    'XML parsing (fast-xml-parser + src/xml/parse.ts)',
    (f) => /fast-xml-parser|path-expression-matcher|@nodable|\/src\/xml\/parse\.ts/.test(f.url),
  ],
  [
    'SQLite store (src/store/sqlite.ts, better-sqlite3)',
    (f) => /\/src\/store\/sqlite\.ts|better-sqlite3/.test(f.url),
  ],
  [
    'Web Request body as a ReadableStream (undici, webstreams)',
    (f) => /deps\/undici|internal\/webstreams|js_transferable|abort_controller/.test(f.url),
  ],
  ['authentication (src/auth/)', (f) => f.url.includes('/src/auth/')],
  [
    'Node HTTP server and socket writes (self time only)',
    (f) =>
      /^node:(_http|net|internal\/streams|internal\/stream_base|events)/.test(f.url) ||
      f.functionName === 'writev',
    'leaf',
  ],
  ['hono, @hono/node-server (self time only)', (f) => /node_modules\/(hono|@hono)\//.test(f.url), 'leaf'],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
];

/** Shortens a script URL to a path inside the project (or a package name). */
function where(url: string): string {
  if (!url) return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  for (const top of ['/src/', '/connectors/', '/bench/']) {
    const at = url.lastIndexOf(top);
    if (at >= 0) return url.slice(at + 1);
  }
  return url.replace(/^(file|project):\/\/.*\//, '');
}

/** How bench/server.ts writes the project folder in script URLs. */
export const PROJECT_SCHEME = 'project:///';
const PROJECT_DIR = fileURLToPath(new URL('../', import.meta.url));

const sources = new Map<string, string[]>();

function sourcePath(url: string): string {
  return url.startsWith(PROJECT_SCHEME)
    ? join(PROJECT_DIR, url.slice(PROJECT_SCHEME.length))
    : fileURLToPath(url);
}

/**
 * The source line of a project function. Scripts run through tsx report positions in the
 * transformed text, so the line is looked up by name in the source file instead.
 */
function sourceLine(frame: CallFrame): number | undefined {
  if (!frame.functionName || !/^(file|project):/.test(frame.url)) return undefined;
  let lines = sources.get(frame.url);
  if (!lines) {
    try {
      lines = readFileSync(sourcePath(frame.url), 'utf8').split('\n');
    } catch {
      lines = [];
    }
    sources.set(frame.url, lines);
  }
  const name = frame.functionName.replace(/[$]/g, '\\$&');
  const patterns = [
    new RegExp(`\\bfunction\\*?\\s+${name}\\b`),
    new RegExp(`\\b${name}\\s*[:=]\\s*(async\\s*)?(\\(|function|[\\w]+\\s*=>)`),
    new RegExp(`^\\s*(async\\s+)?(get\\s+|set\\s+)?${name}\\s*\\(`),
  ];
  for (const pattern of patterns) {
    // Declarations in interfaces end with `;`: the implementation is wanted.
    const at = lines.findIndex((line) => pattern.test(line) && !line.trimEnd().endsWith(';'));
    if (at >= 0) return at + 1;
  }
  return undefined;
}

function keyOf(frame: CallFrame): string {
  const file = where(frame.url);
  const name = frame.functionName || '(anonymous)';
  if (!file) return frame.url || name.startsWith('(') ? name : `${name} (native)`;
  const transformed = file.startsWith('src/') || file.startsWith('connectors/') || file.startsWith('bench/');
  const line = transformed ? sourceLine(frame) : frame.lineNumber + 1;
  return line === undefined ? `${name} ${file}` : `${name} ${file}:${line}`;
}

function isProject(frame: CallFrame): boolean {
  const file = where(frame.url);
  return file.startsWith('src/') || file.startsWith('connectors/');
}

export function summarise(profile: CpuProfile, top = 15, requests?: number): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let all = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const id = profile.samples[i];
    const node = id === undefined ? undefined : byId.get(id);
    if (!node || dt <= 0) continue;
    all += dt;
    const leaf = node.callFrame.functionName;
    if (leaf === '(idle)' || leaf === '(program)') idle += dt;
    const leafKey = keyOf(node.callFrame);
    self.set(leafKey, (self.get(leafKey) ?? 0) + dt);
    const seen = new Set<string>();
    const inAreas = new Set<string>();
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      for (const [area, test, leaf] of AREAS)
        if ((!leaf || n === node) && test(n.callFrame)) inAreas.add(area);
      if (!isProject(n.callFrame)) continue;
      const key = keyOf(n.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + dt);
    }
    for (const area of inAreas) areas.set(area, (areas.get(area) ?? 0) + dt);
  }
  const pct = (v: number) => (all > 0 ? Math.round((1000 * v) / all) / 10 : 0);
  const spot = (name: string, selfUs: number, totalUs: number): HotSpot => ({
    name,
    selfPct: pct(selfUs),
    totalPct: pct(totalUs),
    ...(requests
      ? { selfUsPerReq: round1(selfUs / requests), totalUsPerReq: round1(totalUs / requests) }
      : {}),
  });
  const bySelf = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, v]) => spot(name, v, total.get(name) ?? v));
  const projectByTotal = [...total]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, v]) => spot(name, self.get(name) ?? 0, v));
  const byArea = [...areas].sort((a, b) => b[1] - a[1]).map(([name, v]) => spot(name, 0, v));
  return {
    sampledMs: Math.round(all / 1000),
    busyPct: pct(all - idle),
    ...(requests ? { requests } : {}),
    bySelf,
    projectByTotal,
    byArea,
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const perReq = s.requests !== undefined;
  const lines = [
    `${title}: ${s.sampledMs} ms sampled, ${s.busyPct}% not idle` +
      (perReq ? `, ${s.requests} requests (µs/req = sampled time ÷ requests)` : ''),
  ];
  const row = (pct: number, us: number | undefined, name: string) =>
    `  ${pct.toFixed(1).padStart(6)}${perReq ? (us ?? 0).toFixed(1).padStart(9) : ''}  ${name}`;
  const unit = perReq ? '   µs/req' : '';
  lines.push(`  self %${unit}  function (file:line), by self time`);
  for (const h of s.bySelf) lines.push(row(h.selfPct, h.selfUsPerReq, h.name));
  lines.push(`  total %${unit.slice(1)}  project function (file:line), by inclusive time`);
  for (const h of s.projectByTotal) lines.push(row(h.totalPct, h.totalUsPerReq, h.name));
  lines.push(`  total %${unit.slice(1)}  area, by inclusive time`);
  for (const h of s.byArea) lines.push(row(h.totalPct, h.totalUsPerReq, h.name));
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, top, requests] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [top] [requests]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(
    formatSummary(
      file.replace(/^.*\//, ''),
      summarise(profile, Number(top ?? 20), requests ? Number(requests) : undefined),
    ),
  );
}
