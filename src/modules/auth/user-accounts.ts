import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { StatementBatches } from '../../database/statement-batches';
import { User } from './user.entity';

type NewAccount = { readonly name: string; readonly passwordHash: string };

/**
 * While REGISTERs or LOGINs keep coming, a statement of one kind starts at least this long after
 * the one before it: in a storm the hashes finish one at a time, and the accounts they create go
 * in rows of a few instead of one INSERT each. A REGISTER or LOGIN after a quiet spell goes at once.
 */
const BATCHES = { gatherMs: 10 };

/**
 * The users table as REGISTER and LOGIN use it. Each question is a short statement written out,
 * not built by the query builder: in a login storm the building cost the event loop more than
 * the database took to answer. The questions of REGISTERs and LOGINs arriving together (a
 * reconnect storm after a restart, thousands of new users) go to the database together, a
 * statement per batch (`StatementBatches`); a lone REGISTER or LOGIN still costs one statement.
 */
@Injectable()
export class UserAccounts {
  private readonly existing = new StatementBatches<string, boolean>(async (names) => {
    const found = await this.namesIn('SELECT name FROM users WHERE name = ANY($1::varchar[])', [unique(names)]);
    return names.map((name) => found.has(name));
  }, BATCHES);

  private readonly hashes = new StatementBatches<string, string | undefined>(async (names) => {
    const rows: Array<{ name: string; password_hash: string }> = await this.users.query(
      'SELECT name, password_hash FROM users WHERE name = ANY($1::varchar[])',
      [unique(names)],
    );
    const byName = new Map(rows.map((row) => [row.name, row.password_hash]));
    return names.map((name) => byName.get(name));
  }, BATCHES);

  private readonly created = new StatementBatches<NewAccount, boolean>(async (accounts) => {
    // Of two REGISTERs of one name in a batch, only the first is tried: the second fails whether
    // the first creates the account or finds it taken.
    const tried = new Map<string, NewAccount>();
    for (const account of accounts) if (!tried.has(account.name)) tried.set(account.name, account);
    // In one order everywhere: two instances inserting the same names wait for each other's rows
    // in the same order, never each for the other's.
    const rows = [...tried.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const inserted = await this.namesIn(
      'INSERT INTO users (name, password_hash) SELECT * FROM unnest($1::varchar[], $2::varchar[]) ON CONFLICT (name) DO NOTHING RETURNING name',
      [rows.map((row) => row.name), rows.map((row) => row.passwordHash)],
    );
    return accounts.map((account) => tried.get(account.name) === account && inserted.has(account.name));
  }, BATCHES);

  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  exists(name: string): Promise<boolean> {
    return this.existing.ask(name);
  }

  /** The account's bcrypt hash; undefined when there is no such account. */
  passwordHashOf(name: string): Promise<string | undefined> {
    return this.hashes.ask(name);
  }

  /** Creates the account; false when the name is taken, by a concurrent REGISTER too. */
  create(name: string, passwordHash: string): Promise<boolean> {
    return this.created.ask({ name, passwordHash });
  }

  /** Gives the account `passwordHash` if it still has `expected`; false when it has not (or is gone). */
  async replacePasswordHash(name: string, expected: string, passwordHash: string): Promise<boolean> {
    const { affected } = await this.users.update({ name, passwordHash: expected }, { passwordHash });
    return affected === 1;
  }

  /** The `name` column of the rows that `sql` gives. */
  private async namesIn(sql: string, parameters: unknown[]): Promise<Set<string>> {
    const rows: Array<{ name: string }> = await this.users.query(sql, parameters);
    return new Set(rows.map((row) => row.name));
  }
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}
