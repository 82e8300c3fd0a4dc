import Redis from 'ioredis';

/** One entry of a stream: its id (`<ms>-<seq>`) and its field/value pairs, flattened. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: readonly string[];
}

export interface RedisClientOptions {
  /** Shown by `CLIENT LIST`, e.g. `chat:i1:commands`. */
  readonly name: string;
  /** A command without an answer in this time fails (a black-holed Redis must not hang commands). */
  readonly commandTimeoutMs: number;
  /** Called when the connection becomes usable (`true`) or is lost (`false`, with the reason). */
  readonly onState?: (up: boolean, reason?: string) => void;
}

/** Reconnect after 50 ms, then up to every second, for ever. */
const RECONNECT_MS = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 5), 1000);

/**
 * The operations the cluster needs from Redis, over one connection. This is the only file that
 * knows the client library (ioredis). Commands fail at once while the connection is down and are
 * never sent twice: a caller that got an error does not know whether Redis applied the command,
 * and decides itself what to do.
 */
export class RedisClient {
  private readonly redis: Redis;
  /** The latest connection error, for a first connection that fails ("connection closed" says little). */
  private lastError?: string;

  constructor(url: string, options: RedisClientOptions) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      connectionName: options.name,
      commandTimeout: options.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: RECONNECT_MS,
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    });
    let up = false;
    this.redis.on('ready', () => {
      up = true;
      options.onState?.(true);
    });
    // ioredis reports each failed attempt as 'error' and each loss as 'close'; one 'down' per loss.
    const down = (reason: string) => {
      if (!up) return;
      up = false;
      options.onState?.(false, reason);
    };
    this.redis.on('error', (error: Error) => {
      this.lastError = error.message;
      down(error.message);
    });
    this.redis.on('close', () => down('connection closed'));
  }

  /** Whether commands can be sent now. */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /** The first connection; rejects when Redis cannot be reached (the client keeps trying in the background). */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      throw new Error(this.lastError ?? (error as Error).message, { cause: error });
    }
  }

  /** Appends an entry; the stream keeps about `maxLength` entries. Returns the entry's id. */
  async append(stream: string, maxLength: number, fields: readonly string[]): Promise<string> {
    const id = await this.redis.xadd(stream, 'MAXLEN', '~', maxLength, '*', ...fields);
    return id as string;
  }

  /** Entries after `afterId`, waiting up to `blockMs` for the first; empty when none came. */
  async readAfter(stream: string, afterId: string, blockMs: number, count: number): Promise<StreamEntry[]> {
    const result = await this.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, afterId);
    if (!result) return [];
    return result[0][1].map(([id, fields]) => ({ id, fields }));
  }

  /** The id of the stream's newest entry, or `0-0` when it is empty or missing. */
  async lastId(stream: string): Promise<string> {
    const entries = await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    return entries.length === 0 ? '0-0' : entries[0][0];
  }

  /** The id of the stream's oldest entry, or undefined when it is empty or missing. */
  async firstId(stream: string): Promise<string | undefined> {
    const entries = await this.redis.xrange(stream, '-', '+', 'COUNT', 1);
    return entries.length === 0 ? undefined : entries[0][0];
  }

  /** Runs a Lua script (Redis runs it atomically); the result as Redis returns it. */
  async script(source: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.redis.eval(source, keys.length, ...keys, ...args);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  /** Sets `key` to expire in `ttlMs`. */
  async setWithExpiry(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(key, value, 'PX', ttlMs);
  }

  /** Closes the connection, politely when it is up. */
  async close(): Promise<void> {
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }
}

/** Orders two stream ids (`<ms>-<seq>`): negative when `a` is older. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-');
  const [bMs, bSeq] = b.split('-');
  if (aMs.length !== bMs.length) return aMs.length - bMs.length;
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  const seq = Number(aSeq) - Number(bSeq);
  return seq === 0 ? 0 : seq;
}
