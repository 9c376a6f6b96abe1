/**
 * @module Summarises a V8 `.cpuprofile`: the functions with the most self time, and the project's
 * functions (src/, connectors/) with the most inclusive time.
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/retrieve.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

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
}

export interface ProfileSummary {
  sampledMs: number;
  /** Sampled time outside the idle and (program) pseudo-frames, in per cent. */
  busyPct: number;
  bySelf: HotSpot[];
  projectByTotal: HotSpot[];
}

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
  return url.replace(/^file:\/\/.*\//, '');
}

function keyOf(frame: CallFrame): string {
  const file = where(frame.url);
  const name = frame.functionName || '(anonymous)';
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

function isProject(frame: CallFrame): boolean {
  const file = where(frame.url);
  return file.startsWith('src/') || file.startsWith('connectors/');
}

export function summarise(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
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
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      if (!isProject(n.callFrame)) continue;
      const key = keyOf(n.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + dt);
    }
  }
  const pct = (v: number) => (all > 0 ? Math.round((1000 * v) / all) / 10 : 0);
  const bySelf = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, v]) => ({ name, selfPct: pct(v), totalPct: pct(total.get(name) ?? v) }));
  const projectByTotal = [...total]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, v]) => ({ name, selfPct: pct(self.get(name) ?? 0), totalPct: pct(v) }));
  return { sampledMs: Math.round(all / 1000), busyPct: pct(all - idle), bySelf, projectByTotal };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const lines = [`${title}: ${s.sampledMs} ms sampled, ${s.busyPct}% not idle`];
  lines.push('  self %  function (file:line), by self time');
  for (const h of s.bySelf) lines.push(`  ${h.selfPct.toFixed(1).padStart(6)}  ${h.name}`);
  lines.push('  total % function (file:line), project code by inclusive time');
  for (const h of s.projectByTotal) lines.push(`  ${h.totalPct.toFixed(1).padStart(6)}  ${h.name}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [top]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(formatSummary(file.replace(/^.*\//, ''), summarise(profile, Number(top ?? 20))));
}
