import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../auth/user.entity';

/**
 * A local user's membership of a channel of another server, as that server confirmed it. The
 * channel's server keeps the membership itself; this copy lets the user's server check what a
 * peer delivers (FEDRECV, FEDCAST) and fan a FEDCAST out to the members.
 */
@Entity('remote_channel_memberships')
export class RemoteChannelMembership {
  @PrimaryColumn({ name: 'user_id', type: 'int' })
  userId!: number;

  @PrimaryColumn({ name: 'channel_name', type: 'varchar', length: 64 })
  channelName!: string;

  /** The channel's server, as its hostname. */
  @PrimaryColumn({ name: 'channel_host', type: 'varchar', length: 255 })
  channelHost!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @CreateDateColumn({ name: 'joined_at', type: 'timestamptz' })
  joinedAt!: Date;
}
