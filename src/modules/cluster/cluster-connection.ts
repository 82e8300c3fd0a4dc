import { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ClusterSettings } from '../../config/settings';
import { Logger } from '../../logging/logger';
import { ClusterBus } from './cluster-bus';
import { InstanceLease } from './instance-lease';
import { RedisClient } from './redis-client';

/** The hostname every instance of the cluster shares (a peer sees the cluster as one server). */
const HOSTNAME_KEY = 'chat:cluster:hostname';

/** A command to Redis that has no answer within this time fails (and so does the chat command behind it). */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

export interface RedisConnectAttempts {
  readonly retries: number;
  readonly retryDelayMs: number;
}

/** `host:port` of a Redis URL, for logs (never the password). */
export function redisServer(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

/**
 * This instance's part in a cluster: two Redis connections (commands, and the bus reader, whose
 * reads block), the bus, and the instance's lease. Opened before the modules load their state,
 * so the bus reads on from a point no later than what they load; the reading starts once every
 * module has subscribed.
 */
export class ClusterConnection implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly commands: RedisClient;
  readonly bus: ClusterBus;
  readonly lease: InstanceLease;
  private readonly reader: RedisClient;
  private readonly reconnectListeners: (() => void)[] = [];
  private connectedOnce = false;

  constructor(
    readonly settings: ClusterSettings,
    /** The server's hostname: one for the whole cluster, which peers see as one server. */
    private readonly hostname: string,
    private readonly log: Logger,
  ) {
    const name = `chat:${settings.instanceId}`;
    this.commands = new RedisClient(settings.redisUrl, {
      name: `${name}:commands`,
      commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
      onState: (up, reason) => {
        if (!up) {
          log.warn(`cluster: connection to Redis lost (${reason ?? 'closed'})`);
          return;
        }
        log.info(`cluster: connection to Redis at ${redisServer(settings.redisUrl)} is up`);
        if (this.connectedOnce) for (const listener of this.reconnectListeners) listener();
        this.connectedOnce = true;
      },
    });
    this.reader = new RedisClient(settings.redisUrl, {
      name: `${name}:bus`,
      commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS + 2000 * 2,
    });
    this.bus = new ClusterBus(this.commands, this.reader, settings.instanceId, log);
    this.lease = new InstanceLease(this.commands, settings.instanceId, settings.leaseMs, log);
  }

  get instanceId(): string {
    return this.settings.instanceId;
  }

  /**
   * Called each time the connection to Redis is back after a loss: a Redis that restarted without
   * persistence has forgotten the claims, and their holders make them again.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Whether the shared state can be used now: Redis answers, the bus is read, the lease is held. */
  get ready(): boolean {
    return this.commands.connected && this.bus.live && this.lease.held;
  }

  /** Connects (retrying as configured), takes the lease and marks where the bus will be read from. */
  async open(attempts: RedisConnectAttempts): Promise<void> {
    const server = redisServer(this.settings.redisUrl);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.commands.connect();
        await this.reader.connect();
        break;
      } catch (error) {
        await this.commands.close();
        await this.reader.close();
        const reason = (error as Error).message;
        if (attempt >= attempts.retries) throw new Error(`cannot reach Redis at ${server}: ${reason}`, { cause: error });
        this.log.warn(`cluster: Redis at ${server} not reachable (${reason}); retrying in ${attempts.retryDelayMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, attempts.retryDelayMs));
      }
    }
    await this.checkHostname();
    await this.lease.start();
    await this.bus.mark();
    this.log.info(`cluster: instance ${this.instanceId} joined through Redis at ${server} (lease ${this.settings.leaseMs} ms)`);
  }

  /** The first instance records the cluster's hostname; one with another hostname is refused. */
  private async checkHostname(): Promise<void> {
    const script =
      "local known = redis.call('GET', KEYS[1]) if known then return known end redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]";
    const known = (await this.commands.script(script, [HOSTNAME_KEY], [this.hostname])) as string;
    if (known === this.hostname) return;
    await this.commands.close();
    await this.reader.close();
    throw new Error(
      `this instance's hostname ${JSON.stringify(this.hostname)} is not the cluster's (${JSON.stringify(known)}): ` +
        'every instance of a cluster has the same hostname (hostname, CHAT_HOSTNAME)',
    );
  }

  onApplicationBootstrap(): void {
    this.bus.start();
  }

  /** After the transport closed every client (their logins released): give the lease back, close. */
  async onApplicationShutdown(): Promise<void> {
    await this.lease.stop();
    const stopping = this.bus.stop();
    await this.reader.close();
    await stopping;
    await this.commands.close();
  }
}
