import { readFileSync } from 'node:fs';

/** Where Linux tells a process its limits; elsewhere the limit is not known. */
const LIMITS_FILE = '/proc/self/limits';

/** Client connections assumed possible where the limit on open files cannot be read. */
const UNKNOWN_LIMIT_CAP = 10_000;

/** The soft limit on this process's open files (`ulimit -n`), or undefined when it cannot be read or is unlimited. */
export function openFilesLimit(file = LIMITS_FILE): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((row) => row.startsWith('Max open files'));
  const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
  return Number.isInteger(soft) && soft > 0 ? soft : undefined;
}

/**
 * Client connections a process may hold when it may open `limit` files: the rest is kept for what
 * must keep working at the cap (the database's connections and files, HTTP for health and
 * metrics, peer links, log files), 5 % of the limit and at least 256.
 */
export function connectionCapFor(limit: number | undefined): number {
  if (limit === undefined) return UNKNOWN_LIMIT_CAP;
  return Math.max(64, limit - Math.max(256, Math.ceil(limit * 0.05)));
}
