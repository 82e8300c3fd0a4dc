import { performance } from 'node:perf_hooks';

/** The parts of a start the `ready` log line names, in the order it names them. */
export type StartupPart = 'launch' | 'configuration' | 'modules' | 'database' | 'schema' | 'nest';

const WORDS: Readonly<Record<StartupPart, string>> = {
  launch: 'Node.js and the launcher',
  configuration: 'configuration',
  modules: "the server's modules",
  database: 'the embedded database',
  schema: 'TypeORM and migrations',
  nest: 'Nest and listening',
};

/**
 * How long each part of the start took, for one line at the end of it. Times are
 * performance.now() readings: milliseconds since the process started. Parts may overlap: the
 * embedded database opens in its thread while the modules load.
 */
export class StartupTimes {
  private readonly parts = new Map<StartupPart, number>();
  private readonly ends = new Map<StartupPart, number>();

  /** `part` ran from `since` to `until` (now by default). */
  record(part: StartupPart, since: number, until = performance.now()): void {
    this.parts.set(part, Math.round(until - since));
    this.ends.set(part, until);
  }

  /** When `part` ended, if it was recorded. */
  endOf(part: StartupPart): number | undefined {
    return this.ends.get(part);
  }

  /**
   * Records the Nest part: the server's own start from `serverStarted` until now, less the parts
   * it waited on (TypeORM and migrations, an embedded database still opening).
   */
  serverReady(serverStarted: number): void {
    const now = performance.now();
    const waitedForDatabase = Math.max(0, (this.ends.get('database') ?? 0) - serverStarted);
    const schema = this.parts.get('schema') ?? 0;
    this.parts.set('nest', Math.max(0, Math.round(now - serverStarted - waitedForDatabase - schema)));
    this.ends.set('nest', now);
  }

  /** The whole start until now, and its parts in ms. */
  summary(): { readonly totalMs: number; readonly parts: Partial<Record<StartupPart, number>>; readonly text: string } {
    const totalMs = Math.round(performance.now());
    const parts = Object.fromEntries(this.parts) as Partial<Record<StartupPart, number>>;
    const named = (Object.keys(WORDS) as StartupPart[])
      .filter((part) => this.parts.has(part))
      .map((part) => `${WORDS[part]} ${seconds(this.parts.get(part) as number)}`);
    return { totalMs, parts, text: `ready ${seconds(totalMs)} after launch (${named.join(', ')})` };
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** This process's start. */
export const startupTimes = new StartupTimes();
