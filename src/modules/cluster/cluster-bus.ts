import { Logger } from '../../logging/logger';
import { compareStreamIds, RedisClient, StreamEntry } from './redis-client';

/** The one stream every instance appends to and reads whole: one order for everything. */
export const BUS_STREAM = 'chat:bus';
/** Entries kept (approximately); a reader further behind than this after an outage has a gap. */
export const BUS_MAX_LENGTH = 100_000;
const BLOCK_MS = 2000;
const BATCH = 1000;
const RETRY_MS = 200;

type Handler = (data: unknown, origin: string) => void;

export interface BusStats {
  /** Entries appended by this instance. */
  published: number;
  /** Appends and reads that failed. */
  errors: number;
  /** Times entries were found missing between the last one read and the next (trimmed or lost by Redis). */
  gaps: number;
  /** Entries read and handled. */
  received: number;
  /** Milliseconds between an entry's append and its reading here, for the latest entry read. */
  lagMs: number;
}

interface Waiter {
  readonly id: string;
  readonly resolve: () => void;
}

/**
 * Events shared by every instance, on a Redis stream: each instance appends to it and reads all
 * of it, in the stream's order, so every instance applies the same events in the same order. The
 * reader remembers the last id it handled and, after any connection error, reads on from there:
 * nothing is skipped and nothing handled twice. An append that fails is reported to its caller
 * and never retried (it may or may not have been stored; the caller answers with a failure).
 */
export class ClusterBus {
  readonly stats: BusStats = { published: 0, errors: 0, gaps: 0, received: 0, lagMs: 0 };
  private readonly handlers = new Map<string, Handler>();
  private waiters: Waiter[] = [];
  private lastId = '0-0';
  private reading = false;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly commands: RedisClient,
    private readonly reader: RedisClient,
    private readonly instanceId: string,
    private readonly log: Logger,
  ) {}

  /** Where reading will start: the stream's end now. Called before the state it follows is loaded. */
  async mark(): Promise<void> {
    this.lastId = await this.commands.lastId(BUS_STREAM);
  }

  /** Handles events of `type`; one handler per type. */
  on(type: string, handler: Handler): void {
    this.handlers.set(type, handler);
  }

  /** Starts reading from the mark, once every handler is registered. */
  start(): void {
    this.running ??= this.readLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
    await this.running;
  }

  /** Whether the reader is reading (connected and started). */
  get live(): boolean {
    return this.reading && this.reader.connected;
  }

  /** Appends an event; resolves with its entry id once Redis stored it, rejects when it cannot be sent. */
  async publish(type: string, data: unknown): Promise<string> {
    try {
      const id = await this.commands.append(BUS_STREAM, BUS_MAX_LENGTH, [
        't',
        type,
        'o',
        this.instanceId,
        'd',
        JSON.stringify(data),
      ]);
      this.stats.published++;
      return id;
    } catch (error) {
      this.stats.errors++;
      throw error;
    }
  }

  /**
   * Resolves once this instance has handled the entry `id` (true), or after `timeoutMs` without
   * it (false: the reader is cut off and will handle it when it reads on).
   */
  reached(id: string, timeoutMs: number): Promise<boolean> {
    if (compareStreamIds(this.lastId, id) >= 0 || this.stopped) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        resolve(false);
      }, timeoutMs);
      const entry: Waiter = {
        id,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(entry);
    });
  }

  /**
   * Resolves once this instance has handled every event appended before the call: what any
   * instance acknowledged is then visible here. Rejects when Redis cannot be asked.
   */
  async caughtUp(timeoutMs: number): Promise<void> {
    const id = await this.commands.lastId(BUS_STREAM);
    if (!(await this.reached(id, timeoutMs))) throw new Error(`the cluster bus is ${this.stats.lagMs} ms behind`);
  }

  private async readLoop(): Promise<void> {
    let resumed = false;
    while (!this.stopped) {
      let entries: StreamEntry[];
      try {
        if (resumed) await this.checkForGap();
        resumed = false;
        this.reading = this.reader.connected;
        entries = await this.reader.readAfter(BUS_STREAM, this.lastId, BLOCK_MS, BATCH);
      } catch (error) {
        if (this.stopped) break;
        if (this.reading)
          this.log.warn(`cluster bus: reading stopped (${(error as Error).message}); resuming from ${this.lastId}`);
        this.stats.errors++;
        this.reading = false;
        resumed = true;
        await delay(RETRY_MS);
        continue;
      }
      for (const entry of entries) this.handle(entry);
      if (entries.length > 0) this.release();
      // A full batch means this reader is behind: make sure the stream was not trimmed past it.
      if (entries.length === BATCH) resumed = true;
    }
    this.reading = false;
  }

  private handle(entry: StreamEntry): void {
    this.lastId = entry.id;
    this.stats.received++;
    this.stats.lagMs = Math.max(0, Date.now() - Number(entry.id.slice(0, entry.id.indexOf('-'))));
    const [, type, , origin, , data] = entry.fields;
    const handler = this.handlers.get(type);
    if (!handler) return;
    try {
      handler(JSON.parse(data) as unknown, origin);
    } catch (error) {
      this.log.error({ err: error, entry: entry.id, type }, `cluster bus: handling ${type} ${entry.id} failed`);
    }
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (compareStreamIds(this.lastId, waiter.id) >= 0) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  /**
   * After a read error: entries between the last one handled and the oldest still in the stream
   * were trimmed, or Redis came back without the entries this instance had read (no persistence).
   */
  private async checkForGap(): Promise<void> {
    if (this.lastId === '0-0') return;
    const first = await this.commands.firstId(BUS_STREAM);
    const last = await this.commands.lastId(BUS_STREAM);
    if (first !== undefined && compareStreamIds(first, this.lastId) > 0) {
      this.gap(`entries after ${this.lastId} were trimmed before they were read (the oldest left is ${first})`);
    } else if (compareStreamIds(last, this.lastId) < 0) {
      this.gap(`Redis no longer has ${this.lastId}, the last entry read here (its newest is ${last}): it lost data`);
    }
  }

  private gap(detail: string): void {
    this.stats.gaps++;
    this.log.error(`cluster bus: gap: ${detail}`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
