import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { User } from './user.entity';

/**
 * The users table as REGISTER and LOGIN use it. Each question is one short statement written out,
 * not built by the query builder: in a login storm the building cost the event loop more than
 * the database took to answer.
 */
@Injectable()
export class UserAccounts {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async exists(name: string): Promise<boolean> {
    const rows: unknown[] = await this.users.query('SELECT 1 FROM users WHERE name = $1', [name]);
    return rows.length > 0;
  }

  /** The account's bcrypt hash; undefined when there is no such account. */
  async passwordHashOf(name: string): Promise<string | undefined> {
    const rows: Array<{ password_hash: string }> = await this.users.query('SELECT password_hash FROM users WHERE name = $1', [
      name,
    ]);
    return rows[0]?.password_hash;
  }

  /** Creates the account; false when the name is taken, by a concurrent REGISTER too. */
  async create(name: string, passwordHash: string): Promise<boolean> {
    const rows: unknown[] = await this.users.query(
      'INSERT INTO users (name, password_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id',
      [name, passwordHash],
    );
    return rows.length === 1;
  }

  /** Gives the account `passwordHash` if it still has `expected`; false when it has not (or is gone). */
  async replacePasswordHash(name: string, expected: string, passwordHash: string): Promise<boolean> {
    const { affected } = await this.users.update({ name, passwordHash: expected }, { passwordHash });
    return affected === 1;
  }
}
