/** @module Reading settings from environment variables: every bad value names its variable. */

export type Env = Record<string, string | undefined>;

/** The value, trimmed; undefined when unset or blank. */
export function text(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function required(env: Env, name: string, why: string): string {
  const v = text(env, name);
  if (v === undefined) throw new Error(`${name} must be set ${why}`);
  return v;
}

/** A whole number within bounds; `fallback` when unset. */
export function integer(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = text(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return Number(v);
}

export function flag(env: Env, name: string, fallback: boolean): boolean {
  const v = text(env, name)?.toLowerCase();
  if (v === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`${name} must be true or false, not ${JSON.stringify(v)}`);
}

/** A comma-separated list, items trimmed, empty items dropped. */
export function list(env: Env, name: string): string[] | undefined {
  const v = text(env, name);
  return v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}
