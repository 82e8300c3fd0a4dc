import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity('channels')
export class Channel {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Case-sensitive: `alpha` and `Alpha` are two channels. */
  @Column({ type: 'varchar', length: 64, unique: true })
  name!: string;

  /** The user who created it, counted against `limits.channelsPerUser`; null for channels created before it was kept. */
  @Index('IDX_channels_created_by')
  @Column({ name: 'created_by', type: 'varchar', length: 32, nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
