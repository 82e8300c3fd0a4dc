import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Case-sensitive: `bob` and `Bob` are two users. */
  @Column({ type: 'varchar', length: 32, unique: true })
  name!: string;

  /** bcrypt hash; the password itself is never stored. */
  @Column({ name: 'password_hash', type: 'varchar', length: 60 })
  passwordHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
