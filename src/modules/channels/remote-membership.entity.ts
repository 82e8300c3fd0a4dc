import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Channel } from './channel.entity';

/** A user of another server (`name@host`) who joined a channel of this server; as durable as a local membership. */
@Entity('remote_memberships')
export class RemoteMembership {
  @PrimaryColumn({ name: 'channel_id', type: 'int' })
  channelId!: number;

  @PrimaryColumn({ name: 'user_name', type: 'varchar', length: 32 })
  userName!: string;

  /** The user's server, as its hostname. */
  @PrimaryColumn({ name: 'user_host', type: 'varchar', length: 255 })
  userHost!: string;

  @ManyToOne(() => Channel, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'channel_id' })
  channel?: Channel;

  @CreateDateColumn({ name: 'joined_at', type: 'timestamptz' })
  joinedAt!: Date;
}
