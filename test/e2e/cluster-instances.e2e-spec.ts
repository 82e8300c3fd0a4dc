import { Settings } from '../../src/config/settings';
import { testDatabases } from './harness/databases';
import { eventually, freePort, startFederated } from './harness/federation';
import { httpGet, scrape } from './harness/http-probe';
import { delay, LineClient } from './harness/line-client';
import { LogCapture } from './harness/log-capture';
import { RedisServer, redisServerAvailable } from './harness/redis-server';
import { TestServer } from './harness/test-server';

/**
 * Cluster mode with the instances in this process (test/e2e/cluster*.e2e-spec.ts run them as
 * separate processes): several instances on one PostgreSQL database and a private redis-server.
 */
const postgres = testDatabases().find((database) => database.name === 'postgres');
const runnable = postgres !== undefined && redisServerAvailable();
const describeCluster = runnable ? describe : describe.skip;
if (!runnable) {
  console.warn('cluster-instances: skipped (needs TEST_DATABASE_URL and /usr/bin/redis-server)');
}

type Database = Settings['database'];

let database: Database;

beforeAll(async () => {
  if (postgres) database = await postgres.fresh();
});

async function instance(
  redis: RedisServer,
  id: string,
  options: { leaseMs?: number; logs?: LogCapture; extra?: Partial<Settings> } = {},
): Promise<TestServer> {
  return TestServer.start(
    database,
    {
      hostname: 'cluster.test',
      http: { port: await freePort('127.0.0.1') },
      cluster: { redisUrl: redis.url, instanceId: id, leaseMs: options.leaseMs ?? 5000 },
      ...options.extra,
    },
    { logDestination: options.logs },
  );
}

async function loggedIn(server: TestServer, name: string, address = '127.0.0.1'): Promise<LineClient> {
  const client = await LineClient.connect(server.port, name, address);
  await client.registerAndLogin(name);
  return client;
}

/** `count` lines from `client`, each within the wait of `readLine`. */
async function lines(client: LineClient, count: number): Promise<string[]> {
  const read: string[] = [];
  while (read.length < count) read.push(await client.readLine(10000));
  return read;
}

/** The names of a CHANNELS reply. */
function listed(line: string): string[] {
  return line.replace(/^RESULT CHANNELS ?/, '').split(', ');
}

let sequence = 0;
/** A name no other test of the file uses (the database is shared by the file's tests). */
function unique(prefix: string): string {
  return `${prefix}${++sequence}`;
}

describeCluster('cluster mode, instances in one process', () => {
  let redis: RedisServer;
  let servers: TestServer[];
  let logs: LogCapture;

  beforeAll(async () => {
    redis = await RedisServer.start({ appendonly: true });
    logs = new LogCapture();
    servers = [
      await instance(redis, 'i1', { logs, extra: { logLevel: 'info' } }),
      await instance(redis, 'i2'),
      await instance(redis, 'i3'),
    ];
  });

  afterAll(async () => {
    for (const server of servers ?? []) await server.stop();
    await redis?.stop();
  });

  test('a SAY reaches every member on every instance exactly once, all in the same order', async () => {
    const channel = unique('room');
    const names = [unique('ann'), unique('ben'), unique('cat')];
    const clients = await Promise.all(names.map((name, i) => loggedIn(servers[i], name)));
    clients[0].send(`CREATE ${channel}`);
    await clients[0].expectLine(`RESULT CREATE ${channel} 1`);
    for (const client of clients) {
      client.send(`JOIN ${channel}`);
      await client.expectLine(`RESULT JOIN ${channel} 1`);
    }
    for (let n = 0; n < 10; n++) clients.forEach((client, i) => client.send(`SAY ${channel} ${names[i]}-${n}`));
    const seen = await Promise.all(clients.map((client) => lines(client, 30)));
    for (const received of seen) {
      expect(received).toEqual(seen[0]);
      expect(new Set(received).size).toBe(30);
    }
    for (let i = 0; i < 3; i++) {
      const own = seen[0].filter((line) => line.startsWith(`RECV ${names[i]} `)).map((line) => line.split(' ')[3]);
      expect(own).toEqual(Array.from({ length: 10 }, (_, n) => `${names[i]}-${n}`));
    }
    for (const client of clients) await client.expectSilence(100);
  });

  test('CREATE on one instance is listed at once on the others; the same name created on all at once succeeds once', async () => {
    const [a, b, c] = await Promise.all(servers.map((server) => loggedIn(server, unique('user'))));
    const channel = unique('fresh');
    a.send(`CREATE ${channel}`);
    await a.expectLine(`RESULT CREATE ${channel} 1`);
    b.send('CHANNELS');
    expect(listed(await b.readLine())).toContain(channel);
    c.send(`JOIN ${channel}`);
    await c.expectLine(`RESULT JOIN ${channel} 1`);

    for (let round = 0; round < 5; round++) {
      const raced = unique('race');
      for (const client of [a, b, c]) client.send(`CREATE ${raced}`);
      const answers = await Promise.all([a, b, c].map((client) => client.readLine()));
      expect(answers.filter((line) => line === `RESULT CREATE ${raced} 1`)).toHaveLength(1);
      expect(answers.filter((line) => line === `RESULT CREATE ${raced} 0`)).toHaveLength(2);
    }
  });

  test('a sender that half-closes right after SAY gets its own RECV before the server closes', async () => {
    const channel = unique('bye');
    for (let round = 0; round < 10; round++) {
      const client = await loggedIn(servers[round % 3], unique('leaver'));
      client.send(`${round === 0 ? 'CREATE' : 'JOIN'} ${channel}`);
      expect(await client.readLine()).toMatch(/ 1$/);
      if (round === 0) {
        client.send(`JOIN ${channel}`);
        await client.expectLine(`RESULT JOIN ${channel} 1`);
      }
      client.send(`SAY ${channel} last words`);
      client.end();
      await client.expectLine(`RECV ${client.name} ${channel} last words`);
      await client.expectClosed();
    }
  });

  test('a user logged in on one instance cannot log in on another until it leaves', async () => {
    const name = unique('solo');
    const first = await loggedIn(servers[0], name);
    const second = await LineClient.connect(servers[1].port, `${name}-2`);
    second.send(`LOGIN ${name} pw`);
    await second.expectLine('RESULT LOGIN 0');
    first.close();
    await eventually(
      async () => {
        second.send(`LOGIN ${name} pw`);
        await second.expectLine('RESULT LOGIN 1');
      },
      5000,
      'LOGIN after the first session closed',
    );
  });

  test('login failures of one account are counted across the instances', async () => {
    const name = unique('target');
    (await loggedIn(servers[0], name)).close();
    const guessers = await Promise.all(servers.map((server, i) => LineClient.connect(server.port, `guess${i}`)));
    for (let n = 0; n < 10; n++) {
      const guesser = guessers[n % 3];
      guesser.send(`LOGIN ${name} wrong${n}`);
      await guesser.expectLine('RESULT LOGIN 0');
    }
    await delay(200);
    guessers[2].send(`LOGIN ${name} pw`);
    await guessers[2].expectLine('RESULT LOGIN 0');
  });

  test('an instance with another hostname than the cluster’s is refused at start', async () => {
    await expect(instance(redis, 'stray', { extra: { hostname: 'other.test' } })).rejects.toThrow(
      `this instance's hostname "other.test" is not the cluster's ("cluster.test"): every instance of a cluster has the same hostname (hostname, CHAT_HOSTNAME)`,
    );
  });

  test('every log line of an instance carries its id, and /readyz names it', async () => {
    expect(logs.entries.length).toBeGreaterThan(0);
    for (const entry of logs.entries) expect(entry).toMatchObject({ instance: 'i1' });
    const ready = await httpGet(servers[0].http, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ details: { cluster: { status: 'up', instance: 'i1' } } });
    const metrics = await scrape(servers[0].http);
    expect(metrics.get('chat_cluster_ready')).toBe(1);
    expect(metrics.get('chat_bus_published_total')).toBeGreaterThan(0);
    expect(metrics.get('chat_bus_received_total')).toBeGreaterThan(0);
    expect(metrics.get('chat_bus_gaps_total')).toBe(0);
  });

  test('while Redis is down, commands that need it get their failure replies and /readyz says 503; then it all comes back', async () => {
    const channel = unique('outage');
    const a = await loggedIn(servers[0], unique('up'));
    const b = await loggedIn(servers[1], unique('up'));
    a.send(`CREATE ${channel}`);
    await a.expectLine(`RESULT CREATE ${channel} 1`);
    a.send(`JOIN ${channel}`);
    await a.expectLine(`RESULT JOIN ${channel} 1`);
    const idle = await LineClient.connect(servers[2].port, 'idle');

    await redis.kill9();
    a.send(`SAY ${channel} lost`);
    await a.expectLine('RESULT SAY 0', 5000);
    b.send(`JOIN ${channel}`);
    await b.expectLine(`RESULT JOIN ${channel} 0`, 5000);
    b.send(`CREATE ${unique('never')}`);
    expect(await b.readLine(5000)).toMatch(/^RESULT CREATE never\d+ 0$/);
    idle.send(`LOGIN ${unique('nobody')} pw`);
    await idle.expectLine('RESULT LOGIN 0', 5000);
    await eventually(async () => expect((await httpGet(servers[0].http, '/readyz')).status).toBe(503), 5000, '/readyz 503');
    expect((await scrape(servers[0].http)).get('chat_bus_errors_total')).toBeGreaterThan(0);

    await redis.restart();
    await eventually(async () => expect((await httpGet(servers[0].http, '/readyz')).status).toBe(200), 10000, '/readyz 200');
    await eventually(
      async () => {
        b.send(`JOIN ${channel}`);
        await b.expectLine(`RESULT JOIN ${channel} 1`);
      },
      10000,
      'JOIN after Redis came back',
    );
    a.send(`SAY ${channel} back`);
    await a.expectLine(`RECV ${a.name} ${channel} back`);
    await b.expectLine(`RECV ${a.name} ${channel} back`);
  });
});

describeCluster('cluster mode: starting', () => {
  test('an instance that cannot reach Redis does not start, and says why in one line', async () => {
    const closedPort = await freePort('127.0.0.1');
    const starting = TestServer.start(database, {
      database: { ...database, connectRetries: 0 },
      cluster: { redisUrl: `redis://127.0.0.1:${closedPort}`, instanceId: 'nowhere', leaseMs: 5000 },
    });
    await expect(starting).rejects.toThrow(
      `cannot reach Redis at 127.0.0.1:${closedPort}: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    );
  });
});

describeCluster('cluster mode: losing Redis for longer than the lease', () => {
  test('an instance cut off from Redis longer than its lease drops its clients, and takes logins again once Redis is back', async () => {
    const redis = await RedisServer.start({ appendonly: true });
    const server = await instance(redis, 'lonely', { leaseMs: 1200 });
    const name = unique('cut');
    const client = await loggedIn(server, name);
    await redis.kill9();
    await client.expectClosed(5000);
    await redis.restart();
    await eventually(
      async () => {
        const again = await LineClient.connect(server.port, `${name}-again`);
        again.send(`LOGIN ${name} pw`);
        try {
          await again.expectLine('RESULT LOGIN 1');
        } finally {
          again.close();
        }
      },
      10000,
      'LOGIN once Redis is back',
    );
    await server.stop();
    await redis.stop();
  });

  test('after a Redis restart that lost everything, the gap is counted and logins are claimed again', async () => {
    const redis = await RedisServer.start({ appendonly: false });
    const [one, two] = [await instance(redis, 'g1'), await instance(redis, 'g2')];
    const name = unique('kept');
    const channel = unique('gone');
    const client = await loggedIn(one, name);
    client.send(`CREATE ${channel}`);
    await client.expectLine(`RESULT CREATE ${channel} 1`);
    await redis.kill9();
    await redis.restart();
    await eventually(async () => expect((await scrape(one.http)).get('chat_bus_gaps_total')).toBeGreaterThan(0), 10000, 'a gap');
    await eventually(async () => expect((await httpGet(two.http, '/readyz')).status).toBe(200), 10000, '/readyz 200');
    await delay(500);
    const other = await LineClient.connect(two.port, `${name}-other`);
    other.send(`LOGIN ${name} pw`);
    await other.expectLine('RESULT LOGIN 0');
    client.send('CHANNELS');
    expect(listed(await client.readLine())).toContain(channel);
    await one.stop();
    await two.stop();
    await redis.stop();
  });
});

describeCluster('cluster mode with federation', () => {
  test('users of every instance join and talk in a peer server’s channels and the peer’s users in the cluster’s', async () => {
    const redis = await RedisServer.start({ appendonly: true });
    const [clusterPort, secondPort, peerPort] = [
      await freePort('127.0.0.2'),
      await freePort('127.0.0.2'),
      await freePort('127.0.0.3'),
    ];
    const peerAddress = { host: '127.0.0.3', port: peerPort, hostname: 'p.test' };
    const federated = (id: string, port: number) =>
      instance(redis, id, {
        extra: {
          host: '127.0.0.2',
          port,
          hostname: 'c.test',
          federation: { peers: [peerAddress], acceptFrom: 'listed', requestTimeoutMs: 5000 },
        },
      });
    const first = await federated('f1', clusterPort);
    const second = await federated('f2', secondPort);
    const embedded = testDatabases().find((candidate) => candidate.name !== 'postgres');
    const peer = await startFederated(embedded as NonNullable<typeof embedded>, {
      address: '127.0.0.3',
      port: peerPort,
      hostname: 'p.test',
      peers: [{ host: '127.0.0.2', port: clusterPort, hostname: 'c.test' }],
    });
    const alice = await loggedIn(first, unique('alice'), '127.0.0.2');
    const bob = await loggedIn(second, unique('bob'), '127.0.0.2');
    const carol = await loggedIn(peer, unique('carol'), '127.0.0.3');
    carol.send('CREATE pc');
    await carol.expectLine('RESULT CREATE pc 1');
    alice.send('CREATE cc');
    await alice.expectLine('RESULT CREATE cc 1');
    for (const [client, channel] of [
      [carol, 'pc'],
      [alice, 'cc'],
    ] as const) {
      client.send(`JOIN ${channel}`);
      await client.expectLine(`RESULT JOIN ${channel} 1`);
    }
    // Whichever instance has the link, users of both reach the peer's channel, and the peer's users the cluster's.
    for (const [client, channel] of [
      [alice, 'pc:p.test'],
      [bob, 'pc:p.test'],
      [bob, 'cc'],
      [carol, 'cc:c.test'],
    ] as const) {
      await eventually(
        async () => {
          client.send(`JOIN ${channel}`);
          await client.expectLine(`RESULT JOIN ${channel} 1`);
        },
        15000,
        `JOIN ${channel} by ${client.name}`,
      );
    }
    bob.send('CHANNELS');
    expect(listed(await bob.readLine())).toEqual(expect.arrayContaining(['cc', 'pc:p.test']));

    carol.send('SAY pc from-carol');
    for (const client of [alice, bob]) await client.expectLine(`RECV ${carol.name}@p.test pc:p.test from-carol`);
    await carol.expectLine(`RECV ${carol.name} pc from-carol`);
    bob.send('SAY pc:p.test from-bob');
    await carol.expectLine(`RECV ${bob.name}@c.test pc from-bob`);
    for (const client of [alice, bob]) await client.expectLine(`RECV ${bob.name} pc:p.test from-bob`);
    carol.send('SAY cc:c.test to-the-cluster');
    for (const client of [alice, bob]) await client.expectLine(`RECV ${carol.name}@p.test cc to-the-cluster`);
    await carol.expectLine(`RECV ${carol.name} cc:c.test to-the-cluster`);
    for (const client of [alice, bob, carol]) await client.expectSilence(200);

    await peer.stop();
    await second.stop();
    await first.stop();
    await redis.stop();
    embedded?.dispose();
  });
});
