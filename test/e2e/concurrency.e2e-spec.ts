import { testDatabases } from './harness/databases';
import { LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

const CLIENTS = 200;
const BURST = 500;

async function connectMany(port: number, count: number, prefix: string): Promise<LineClient[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => LineClient.connect(port, `${prefix}${index}`)));
}

/** REGISTER and LOGIN a distinct user on each client. */
async function logInEach(clients: LineClient[], prefix: string): Promise<void> {
  await Promise.all(clients.map((client, index) => client.registerAndLogin(`${prefix}${index}`, `pw${index}`)));
}

for (const database of testDatabases()) {
  describe(`concurrency [${database.name}]`, () => {
    let server: TestServer;
    let clients: LineClient[] = [];

    beforeEach(async () => {
      server = await TestServer.start(await database.fresh());
    });

    afterEach(async () => {
      for (const client of clients) client.close();
      clients = [];
      await server.stop();
    });

    afterAll(() => database.dispose());

    // "RECV goes to every online member, the sender included" — with 200 clients at once.
    test(`${CLIENTS} concurrent clients register, log in, join, and all receive every message`, async () => {
      clients = await connectMany(server.port, CLIENTS, 'u');
      await logInEach(clients, 'user');
      clients[0].send('CREATE lobby');
      await clients[0].expectLine('RESULT CREATE lobby 1');
      await Promise.all(
        clients.map(async (client) => {
          client.send('JOIN lobby');
          await client.expectLine('RESULT JOIN lobby 1', 10000);
        }),
      );
      const senders = clients.slice(0, 10);
      senders.forEach((client, index) => client.send(`SAY lobby message ${index}`));
      await Promise.all(
        clients.map(async (client) => {
          const received = new Set<string>();
          for (let count = 0; count < senders.length; count++) received.add(await client.readLine(10000));
          expect(received).toEqual(new Set(senders.map((_, index) => `RECV user${index} lobby message ${index}`)));
        }),
      );
    });

    // JOINs arriving together are stored a batch to a statement, so a burst far larger than the
    // pool never waits for a free connection (PostgreSQL's pool has ten; here a wait may last 100 ms).
    test(`a burst of ${BURST} JOINs all succeed, waiting at most 100 ms for a database connection`, async () => {
      await server.stop();
      // Loopback exempt from the per-address cap on connections (256), as for the benchmark.
      server = await TestServer.start(
        { ...(await database.fresh()), connectTimeoutMs: 100 },
        { limits: { exemptLoopback: true } },
      );
      clients = await connectMany(server.port, BURST, 'b');
      await logInEach(clients, 'burst');
      clients[0].send('CREATE crowd');
      await clients[0].expectLine('RESULT CREATE crowd 1');
      clients.forEach((client) => client.send('JOIN crowd'));
      const replies = await Promise.all(clients.map((client) => client.readLine(20000)));
      expect(replies.filter((reply) => reply !== 'RESULT JOIN crowd 1')).toEqual([]);
      clients.forEach((client) => client.send('JOIN crowd'));
      const again = await Promise.all(clients.map((client) => client.readLine(20000)));
      expect(again.filter((reply) => reply !== 'RESULT JOIN crowd 0')).toEqual([]);

      // Every membership was stored: after a restart on the same database, each member gets the room's messages.
      for (const client of clients) client.close();
      await server.restart();
      clients = await connectMany(server.port, BURST, 'a');
      await Promise.all(
        clients.map(async (client, index) => {
          client.send(`LOGIN burst${index} pw${index}`);
          await client.expectLine('RESULT LOGIN 1', 20000);
        }),
      );
      clients[0].send('SAY crowd still here');
      const heard = await Promise.all(clients.map((client) => client.readLine(20000)));
      expect(heard.filter((line) => line !== 'RECV burst0 crowd still here')).toEqual([]);
    });

    // "Database unique constraints back the 'already exists' rules."
    test('concurrent REGISTERs of one name give exactly one RESULT REGISTER 1', async () => {
      clients = await connectMany(server.port, 20, 'r');
      clients.forEach((client) => client.send('REGISTER same secret'));
      const replies = await Promise.all(clients.map((client) => client.readLine(10000)));
      expect(replies.filter((reply) => reply === 'RESULT REGISTER 1')).toHaveLength(1);
      expect(replies.filter((reply) => reply === 'RESULT REGISTER 0')).toHaveLength(19);
    });

    test('concurrent CREATEs of one channel give exactly one success', async () => {
      clients = await connectMany(server.port, 20, 'c');
      await logInEach(clients, 'maker');
      clients.forEach((client) => client.send('CREATE contested'));
      const replies = await Promise.all(clients.map((client) => client.readLine(10000)));
      expect(replies.filter((reply) => reply === 'RESULT CREATE contested 1')).toHaveLength(1);
      expect(replies.filter((reply) => reply === 'RESULT CREATE contested 0')).toHaveLength(19);
    });

    // "LOGIN fails ... when that user is already logged in on another connection."
    test('concurrent LOGINs of one user from many connections let exactly one in', async () => {
      clients = await connectMany(server.port, 10, 'l');
      clients[0].send('REGISTER solo pw');
      await clients[0].expectLine('RESULT REGISTER 1');
      clients.forEach((client) => client.send('LOGIN solo pw'));
      const replies = await Promise.all(clients.map((client) => client.readLine(10000)));
      expect(replies.filter((reply) => reply === 'RESULT LOGIN 1')).toHaveLength(1);
    });
  });
}
