import { MinuteCounter } from '../../domain/minute-counter';
import { RedisClient } from './redis-client';

const MINUTE_MS = 60_000;

/** Events per key over the last minute, wherever they are counted. */
export interface MinuteCounts {
  recent(key: string): Promise<number>;
  record(key: string): Promise<void>;
}

/** The counts of one process. */
export function localMinuteCounts(counter = new MinuteCounter()): MinuteCounts {
  return {
    recent: (key) => Promise.resolve(counter.recent(key)),
    record: (key) => {
      counter.record(key);
      return Promise.resolve();
    },
  };
}

/** Drops the events older than a minute from a key's sorted set, then counts the rest. */
const RECENT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ${MINUTE_MS})
return redis.call('ZCARD', KEYS[1])`;

/** Adds one event (scored by its time, made unique by a random tail) and keeps the key a minute. */
const RECORD = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. ':' .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ${MINUTE_MS})
redis.call('PEXPIRE', KEYS[1], ${MINUTE_MS})
return 1`;

/**
 * Counts shared by every instance of a cluster (login failures per account and address and per
 * address, registrations per address): one sorted set of event times per key in Redis, `chat:limit:<name>:<key>`. The same
 * sliding minute as `MinuteCounter`; the times are the instances' clocks.
 */
export class SharedMinuteCounter implements MinuteCounts {
  constructor(
    private readonly redis: RedisClient,
    private readonly name: string,
  ) {}

  async recent(key: string): Promise<number> {
    return Number(await this.redis.script(RECENT, [this.keyOf(key)], [Date.now()]));
  }

  async record(key: string): Promise<void> {
    await this.redis.script(RECORD, [this.keyOf(key)], [Date.now(), Math.random().toString(36).slice(2)]);
  }

  private keyOf(key: string): string {
    return `chat:limit:${this.name}:${key}`;
  }
}
