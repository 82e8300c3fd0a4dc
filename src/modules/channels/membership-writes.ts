import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { StatementBatches } from '../../database/statement-batches';
import { Membership } from './membership.entity';

/** A local user (by name) joining a channel (by id). */
interface LocalJoin {
  readonly channelId: number;
  readonly user: string;
}

/** A user of another server joining a channel of this one. */
interface RemoteJoin {
  readonly channelId: number;
  readonly name: string;
  readonly host: string;
}

/**
 * The memberships JOIN and FEDJOIN store. The JOINs that arrive together (a room filling up, a
 * client joining its channels after a restart, a peer's users joining at once) go to the database
 * together, one INSERT per batch (`StatementBatches`), instead of one statement and one pooled
 * connection each: a burst of thousands of JOINs on PostgreSQL then waits for a handful of
 * statements, not for thousands of turns of a pool of ten. A lone JOIN still costs one statement.
 *
 * A membership that is already stored (another instance of a cluster stored it, or the same JOIN
 * came twice) is not stored again and answers false, as the unique key would have refused it.
 */
@Injectable()
export class MembershipWrites {
  private readonly local = new StatementBatches<LocalJoin, boolean>(async (joins) => {
    const rows = firstOfEach(joins, (join) => `${join.channelId} ${join.user}`);
    const added: Array<{ channel_id: number; name: string }> = await this.memberships.query(
      `WITH added AS (
         INSERT INTO memberships (channel_id, user_id)
         SELECT joins.channel_id, users.id
           FROM unnest($1::int[], $2::varchar[]) WITH ORDINALITY AS joins (channel_id, name, position)
           JOIN users ON users.name = joins.name
          ORDER BY joins.position
         ON CONFLICT DO NOTHING
         RETURNING channel_id, user_id)
       SELECT added.channel_id, users.name FROM added JOIN users ON users.id = added.user_id`,
      [rows.map((row) => row.channelId), rows.map((row) => row.user)],
    );
    const stored = new Set(added.map((row) => `${row.channel_id} ${row.name}`));
    const tried = new Set(rows);
    return joins.map((join) => tried.has(join) && stored.has(`${join.channelId} ${join.user}`));
  });

  private readonly remote = new StatementBatches<RemoteJoin, boolean>(async (joins) => {
    const rows = firstOfEach(joins, (join) => `${join.channelId} ${join.name}@${join.host}`);
    const added: Array<{ channel_id: number; user_name: string; user_host: string }> = await this.memberships.query(
      `INSERT INTO remote_memberships (channel_id, user_name, user_host)
       SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[])
       ON CONFLICT DO NOTHING
       RETURNING channel_id, user_name, user_host`,
      [rows.map((row) => row.channelId), rows.map((row) => row.name), rows.map((row) => row.host)],
    );
    const stored = new Set(added.map((row) => `${row.channel_id} ${row.user_name}@${row.user_host}`));
    const tried = new Set(rows);
    return joins.map((join) => tried.has(join) && stored.has(`${join.channelId} ${join.name}@${join.host}`));
  });

  constructor(@InjectRepository(Membership) private readonly memberships: Repository<Membership>) {}

  /** Stores `user`'s membership of the channel; false when it was stored already. */
  addLocal(channelId: number, user: string): Promise<boolean> {
    return this.local.ask({ channelId, user });
  }

  /** Stores `name@host`'s membership of the channel; false when it was stored already. */
  addRemote(channelId: number, name: string, host: string): Promise<boolean> {
    return this.remote.ask({ channelId, name, host });
  }
}

/**
 * Of the requests with one key, the first; sorted by channel, then key, so that two instances
 * storing the same memberships take their rows' locks in the same order, never each waiting for
 * the other's.
 */
function firstOfEach<Join extends { readonly channelId: number }>(joins: readonly Join[], key: (join: Join) => string): Join[] {
  const first = new Map<string, Join>();
  for (const join of joins) if (!first.has(key(join))) first.set(key(join), join);
  return [...first.entries()]
    .sort(([keyA, a], [keyB, b]) => a.channelId - b.channelId || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0))
    .map(([, join]) => join);
}
