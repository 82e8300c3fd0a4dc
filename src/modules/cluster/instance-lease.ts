import { Logger } from '../../logging/logger';
import { RedisClient } from './redis-client';

/** The key whose existence says that an instance's claims (logins, links) are still held. */
export const ALIVE_PREFIX = 'chat:alive:';

/**
 * This instance's lease on its claims. Logins and peer links name a holder `<instance>:<epoch>`;
 * they count only while `chat:alive:<instance>:<epoch>` exists, and that key expires `leaseMs`
 * after its last renewal. An instance that dies without a word therefore releases everything
 * within `leaseMs`. One that cannot renew for that long has lost its claims: it is told to give up
 * what it holds (`onLost`, its clients are dropped) before the key can have expired, and goes on
 * under a new epoch, so nothing it claimed before can come back to life.
 */
export class InstanceLease {
  private epoch = 0;
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private lost = false;
  private stopped = false;
  private readonly lostListeners: (() => void)[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly instanceId: string,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  /** `<instance>:<epoch>`: what this instance writes as the holder of a claim. */
  get holder(): string {
    return `${this.instanceId}:${this.epoch}`;
  }

  /** Whether this instance holds its claims now (false between losing the lease and renewing it). */
  get held(): boolean {
    return !this.lost && !this.stopped;
  }

  /** Called when the lease is lost: every claim made under the old holder must be given up. */
  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** Takes the lease, then keeps renewing it: a third of the lease apart. */
  async start(): Promise<void> {
    this.epoch = Date.now();
    await this.renew();
    const every = Math.max(100, Math.floor(this.leaseMs / 3));
    this.timer = setInterval(() => void this.renew().catch(() => undefined), every);
  }

  /** Renews now (Redis is back), rather than at the next tick. */
  renewNow(): Promise<void> {
    return this.renew().catch(() => undefined);
  }

  /** Gives the lease back at once (a graceful stop), so nothing waits for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.deadline);
    await this.redis.script("return redis.call('DEL', KEYS[1])", [ALIVE_PREFIX + this.holder], []).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const sentAt = Date.now();
    try {
      await this.redis.setWithExpiry(ALIVE_PREFIX + this.holder, '1', this.leaseMs);
    } catch (error) {
      if (!this.lost) this.log.warn(`cluster: could not renew this instance's lease (${(error as Error).message})`);
      throw error;
    }
    if (this.lost) {
      this.lost = false;
      this.log.info(`cluster: lease renewed as ${this.holder}`);
    }
    // Redis set the expiry after `sentAt`: giving up before `sentAt + leaseMs` is before it expired.
    clearTimeout(this.deadline);
    const margin = Math.min(1000, Math.floor(this.leaseMs / 10));
    this.deadline = setTimeout(() => this.lose(), Math.max(0, sentAt + this.leaseMs - margin - Date.now()));
  }

  private lose(): void {
    if (this.stopped) return;
    this.log.error(
      `cluster: lease lost: not renewed within ${this.leaseMs} ms (Redis unreachable); dropping this instance's clients`,
    );
    this.lost = true;
    this.epoch = Math.max(this.epoch + 1, Date.now());
    for (const listener of this.lostListeners) listener();
  }
}
