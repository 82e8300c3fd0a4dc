import 'reflect-metadata';
import { DataSource, Repository } from 'typeorm';
import { databaseOptions } from '../../src/database/database.options';
import { Membership } from '../../src/modules/channels/membership.entity';
import { MembershipWrites } from '../../src/modules/channels/membership-writes';
import { testDatabases } from './harness/databases';

for (const database of testDatabases()) {
  describe(`MembershipWrites [${database.name}]`, () => {
    let dataSource: DataSource;
    let statements: string[];
    let writes: MembershipWrites;
    let lobby: number;
    let annex: number;

    /** The memberships table's repository, counting the statements sent through it. */
    function counted(repository: Repository<Membership>): Repository<Membership> {
      return new Proxy(repository, {
        get(target, property, receiver) {
          if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
          return (sql: string, parameters?: unknown[]) => {
            statements.push(sql);
            return target.query(sql, parameters);
          };
        },
      });
    }

    async function members(): Promise<string[]> {
      const rows: Array<{ channel: string; name: string }> = await dataSource.query(
        `SELECT channels.name AS channel, users.name FROM memberships
           JOIN channels ON channels.id = memberships.channel_id JOIN users ON users.id = memberships.user_id
         UNION ALL
         SELECT channels.name, remote_memberships.user_name || '@' || remote_memberships.user_host FROM remote_memberships
           JOIN channels ON channels.id = remote_memberships.channel_id
         ORDER BY 1, 2`,
      );
      return rows.map((row) => `${row.channel} ${row.name}`);
    }

    beforeEach(async () => {
      dataSource = await new DataSource(databaseOptions(await database.fresh())).initialize();
      const users = Array.from({ length: 600 }, (_, index) => `u${String(index).padStart(3, '0')}`);
      await dataSource.query(`INSERT INTO users (name, password_hash) SELECT name, 'x' FROM unnest($1::varchar[]) AS name`, [
        users,
      ]);
      const channels: Array<{ id: number; name: string }> = await dataSource.query(
        `INSERT INTO channels (name) VALUES ('lobby'), ('annex') RETURNING id, name`,
      );
      lobby = channels.find((channel) => channel.name === 'lobby')!.id;
      annex = channels.find((channel) => channel.name === 'annex')!.id;
      statements = [];
      writes = new MembershipWrites(counted(dataSource.getRepository(Membership)));
    });

    afterEach(async () => {
      await dataSource?.destroy();
    });

    afterAll(() => database.dispose());

    test('the JOINs of one turn go in one statement; of two alike, only the first is stored', async () => {
      const answers = await Promise.all([
        writes.addLocal(lobby, 'u002'),
        writes.addLocal(annex, 'u001'),
        writes.addLocal(lobby, 'u001'),
        writes.addLocal(lobby, 'u002'),
      ]);
      expect(answers).toEqual([true, true, true, false]);
      expect(statements).toHaveLength(1);
      expect(await members()).toEqual(['annex u001', 'lobby u001', 'lobby u002']);
    });

    test('a membership stored already, or of a user who does not exist, answers false and stores nothing', async () => {
      await expect(writes.addLocal(lobby, 'u007')).resolves.toBe(true);
      const answers = await Promise.all([
        writes.addLocal(lobby, 'u007'),
        writes.addLocal(lobby, 'nobody'),
        writes.addLocal(lobby, 'u008'),
      ]);
      expect(answers).toEqual([false, false, true]);
      expect(await members()).toEqual(['lobby u007', 'lobby u008']);
    });

    test('a burst of 600 JOINs is stored in three statements of at most 256', async () => {
      const names = Array.from({ length: 600 }, (_, index) => `u${String(index).padStart(3, '0')}`);
      const answers = await Promise.all(names.map((name) => writes.addLocal(lobby, name)));
      expect(answers.every((stored) => stored)).toBe(true);
      expect(statements).toHaveLength(3);
      expect(await members()).toEqual(names.map((name) => `lobby ${name}`));
    });

    test("other servers' users: batched alike, the first of two alike stored, a stored one refused", async () => {
      const answers = await Promise.all([
        writes.addRemote(lobby, 'carol', 'b.example'),
        writes.addRemote(lobby, 'carol', 'c.example'),
        writes.addRemote(lobby, 'carol', 'b.example'),
        writes.addLocal(lobby, 'u003'),
      ]);
      expect(answers).toEqual([true, true, false, true]);
      await expect(writes.addRemote(lobby, 'carol', 'c.example')).resolves.toBe(false);
      expect(statements).toHaveLength(3);
      expect(await members()).toEqual(['lobby carol@b.example', 'lobby carol@c.example', 'lobby u003']);
    });

    test('a failed statement fails every JOIN of its batch, and the next batch still runs', async () => {
      const missing = lobby + annex + 1000;
      const failed = await Promise.allSettled([writes.addLocal(missing, 'u001'), writes.addLocal(lobby, 'u001')]);
      expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
      expect(String((failed[0] as PromiseRejectedResult).reason)).toMatch(/foreign key/);
      await expect(writes.addLocal(lobby, 'u001')).resolves.toBe(true);
      expect(await members()).toEqual(['lobby u001']);
    });
  });
}
