/** @module Structured logging: one JSON object per line, no secrets. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function consoleLogger(minLevel: LogLevel = 'info'): Logger {
  const min = LEVELS[minLevel];
  return {
    log(level, event, fields = {}) {
      if (LEVELS[level] < min) return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields });
      if (level === 'error' || level === 'warn') console.error(line);
      else console.log(line);
    },
  };
}

export const silentLogger: Logger = { log() {} };

/** Keeps log records in memory; for tests that assert on logging. */
export function memoryLogger(): Logger & {
  records: { level: LogLevel; event: string; fields: Record<string, unknown> }[];
} {
  const records: { level: LogLevel; event: string; fields: Record<string, unknown> }[] = [];
  return {
    records,
    log(level, event, fields = {}) {
      records.push({ level, event, fields });
    },
  };
}
