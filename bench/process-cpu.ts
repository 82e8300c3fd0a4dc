import { readFileSync } from 'node:fs';

/** CPU time in ms: a process's main thread (its event loop), and the rest of its threads. */
export interface ThreadsCpu {
  readonly main: number;
  readonly others: number;
}

/** Milliseconds in one of /proc's clock ticks (USER_HZ, 100 a second on Linux). */
const TICK_MS = 10;

/** User and system time in a /proc `stat` line, in ms; the command name in parentheses may hold spaces. */
export function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the state.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * The CPU time `pids` have used so far, summed: their main threads, and every other thread (the
 * process's total less the main thread's, so that threads already ended still count). Undefined
 * where /proc cannot be read (not Linux, a process gone).
 */
export function processesCpu(pids: readonly number[]): ThreadsCpu | undefined {
  let main = 0;
  let all = 0;
  try {
    for (const pid of pids) {
      // The main thread first: a tick it gains before the total is read counts once, in the total.
      main += statCpuMs(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
      all += statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    }
  } catch {
    return undefined;
  }
  return { main, others: all - main };
}

/**
 * The CPU used between two readings; undefined if either is missing. A main thread's tick that
 * falls between its two reads of one reading counts as another thread's, so the others' share is
 * right to within a tick each way, and never read below nothing.
 */
export function cpuBetween(before: ThreadsCpu | undefined, after: ThreadsCpu | undefined): ThreadsCpu | undefined {
  return before && after ? { main: after.main - before.main, others: Math.max(0, after.others - before.others) } : undefined;
}
