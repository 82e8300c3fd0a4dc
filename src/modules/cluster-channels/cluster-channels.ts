import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ChannelReplication } from '../channels/channel-replication';
import { ChannelsService } from '../channels/channels.service';
import { CLUSTER } from '../cluster/cluster.module';
import { ClusterConnection, REDIS_COMMAND_TIMEOUT_MS } from '../cluster/cluster-connection';
import { Presence } from '../presence/presence';

/** Bus event types; the payloads are kept short, a message is one per SAY. */
const CREATED = 'channel';
const JOINED = 'member';
const POSTED = 'say';

type Created = [id: number, name: string];
type Joined = [channel: string, member: string];
type Posted = [channel: string, from: string, message: string];

/** How long a change waits before it is offered to Redis again. */
const RETRY_MS = 500;

interface Outgoing {
  readonly type: string;
  readonly data: unknown;
  /** Settled after the first attempt, whatever its outcome. */
  readonly tried: () => void;
}

/**
 * The channels of a cluster's instances kept the same over the bus: each CREATE, JOIN and SAY is
 * appended to it, and every instance applies every one in the bus's order. A SAY is delivered by
 * each instance to its own members when it reads it, so every member anywhere gets each message
 * once, and in the same order as every other member.
 *
 * A channel or membership is stored in PostgreSQL before it is shared, so it exists whether or not
 * Redis took it: if Redis does not, it waits in an outbox, in order, and is offered again until
 * Redis takes it (applying it twice changes nothing). No instance is left knowing a change the
 * database does not have, and none misses one for good.
 */
@Injectable()
export class ClusterChannels implements ChannelReplication, OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Channels');
  private readonly outbox: Outgoing[] = [];
  private sending = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    @Inject(CLUSTER) private readonly cluster: ClusterConnection,
    private readonly channels: ChannelsService,
    private readonly presence: Presence,
  ) {}

  onModuleInit(): void {
    const { bus } = this.cluster;
    bus.on(CREATED, (data) => this.channels.applyCreated(...(data as Created)));
    bus.on(JOINED, (data) => this.channels.applyJoined(...(data as Joined)));
    bus.on(POSTED, (data) => this.channels.applyPosted(...(data as Posted)));
    this.channels.useReplication(this);
  }

  created(id: number, name: string): Promise<void> {
    return this.share(CREATED, [id, name] satisfies Created);
  }

  joined(channel: string, member: string): Promise<void> {
    return this.share(JOINED, [channel, member] satisfies Joined);
  }

  /**
   * Resolves once Redis stored the message: the sender's next command need not wait for the
   * delivery. Its RECV is owed until this instance reads the entry back, so a sender that
   * half-closes keeps its connection until then (at most the command timeout more).
   */
  async posted(channel: string, from: string, message: string): Promise<void> {
    const id = await this.cluster.bus.publish(POSTED, [channel, from, message] satisfies Posted);
    this.presence.sessionOf(from)?.awaitSettled(this.cluster.bus.reached(id, REDIS_COMMAND_TIMEOUT_MS));
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retryTimer);
    if (this.outbox.length > 0) {
      this.log.warn(
        `${this.outbox.length} channel change(s) stored but not shared: the other instances load them when they start`,
      );
    }
  }

  /** Queues a stored change for the bus; resolves after its first attempt, successful or not. */
  private share(type: string, data: unknown): Promise<void> {
    return new Promise<void>((tried) => {
      this.outbox.push({ type, data, tried });
      void this.send();
    });
  }

  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.outbox.length > 0) {
        const next = this.outbox[0];
        try {
          await this.cluster.bus.publish(next.type, next.data);
        } catch {
          next.tried();
          this.retryTimer = setTimeout(() => void this.send(), RETRY_MS);
          return;
        }
        this.outbox.shift();
        next.tried();
      }
    } finally {
      this.sending = false;
    }
  }

  caughtUp(): Promise<void> {
    return this.cluster.bus.caughtUp(REDIS_COMMAND_TIMEOUT_MS);
  }
}
