import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ChannelReplication } from '../channels/channel-replication';
import { ChannelsService } from '../channels/channels.service';
import { CLUSTER } from '../cluster/cluster.module';
import { ClusterConnection, REDIS_COMMAND_TIMEOUT_MS } from '../cluster/cluster-connection';

/** Bus event types; the payloads are kept short, a message is one per SAY. */
const CREATED = 'channel';
const JOINED = 'member';
const POSTED = 'say';

type Created = [id: number, name: string];
type Joined = [channel: string, member: string];
type Posted = [channel: string, from: string, message: string];

/**
 * The channels of a cluster's instances kept the same over the bus: each CREATE, JOIN and SAY is
 * appended to it, and every instance applies every one in the bus's order. A SAY is delivered by
 * each instance to its own members when it reads it, so every member anywhere gets each message
 * once, and in the same order as every other member.
 */
@Injectable()
export class ClusterChannels implements ChannelReplication, OnModuleInit {
  constructor(
    @Inject(CLUSTER) private readonly cluster: ClusterConnection,
    private readonly channels: ChannelsService,
  ) {}

  onModuleInit(): void {
    const { bus } = this.cluster;
    bus.on(CREATED, (data) => this.channels.applyCreated(...(data as Created)));
    bus.on(JOINED, (data) => this.channels.applyJoined(...(data as Joined)));
    bus.on(POSTED, (data) => this.channels.applyPosted(...(data as Posted)));
    this.channels.useReplication(this);
  }

  created(id: number, name: string): Promise<void> {
    return this.cluster.bus.publish(CREATED, [id, name] satisfies Created);
  }

  joined(channel: string, member: string): Promise<void> {
    return this.cluster.bus.publish(JOINED, [channel, member] satisfies Joined);
  }

  posted(channel: string, from: string, message: string): Promise<void> {
    return this.cluster.bus.publish(POSTED, [channel, from, message] satisfies Posted);
  }

  caughtUp(): Promise<void> {
    return this.cluster.bus.caughtUp(REDIS_COMMAND_TIMEOUT_MS);
  }
}
