import { CuttableProxy } from './harness/cuttable-proxy';
import { testDatabases } from './harness/databases';
import { eventually, freePort, startFederated } from './harness/federation';
import { httpGet, sample, scrape } from './harness/http-probe';
import { LineClient } from './harness/line-client';
import { LEVEL, LogCapture } from './harness/log-capture';
import { TestServer } from './harness/test-server';

async function withHttp(
  database: { fresh(): Promise<{ url?: string; dataDir: string }> },
  logs?: LogCapture,
): Promise<TestServer> {
  return TestServer.start(await database.fresh(), { http: { port: await freePort('127.0.0.1') } }, { logDestination: logs });
}

async function loggedIn(port: number, name: string): Promise<LineClient> {
  const client = await LineClient.connect(port, name);
  await client.registerAndLogin(name, 'pw');
  return client;
}

for (const database of testDatabases()) {
  describe(`health and metrics over HTTP [${database.name}]`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await withHttp(database);
    });

    afterAll(async () => {
      await server.stop();
      database.dispose();
    });

    // "/healthz: the process is alive."
    test('/healthz answers 200 with status ok', async () => {
      const answer = await httpGet(server.http, '/healthz');
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok' });
    });

    // "/readyz: listening, and the database is reachable."
    test('/readyz answers 200 with the transport and the database up', async () => {
      const answer = await httpGet(server.http, '/readyz');
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 'ok',
        details: { transport: { status: 'up' }, database: { status: 'up' } },
      });
    });

    test('an unknown path answers 404', async () => {
      const answer = await httpGet(server.http, '/nothing-here');
      expect(answer.status).toBe(404);
    });

    test('/metrics is in Prometheus text format and includes the event-loop lag', async () => {
      const answer = await httpGet(server.http, '/metrics');
      expect(answer.status).toBe(200);
      expect(answer.contentType).toContain('text/plain');
      expect(answer.body).toContain('# TYPE chat_commands_total counter');
      expect(answer.body).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
      expect(answer.body).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    });

    // "/metrics … connections, logged-in users, commands by verb and outcome, RECV deliveries, bytes in and out"
    test('metrics move when traffic flows', async () => {
      const before = await scrape(server.http);
      const alice = await loggedIn(server.port, 'alice');
      const bob = await loggedIn(server.port, 'bob');
      try {
        alice.send('CREATE lobby');
        await alice.expectLine('RESULT CREATE lobby 1');
        for (const client of [alice, bob]) {
          client.send('JOIN lobby');
          await client.expectLine('RESULT JOIN lobby 1');
        }
        alice.send('SAY lobby hello there');
        await alice.expectLine('RECV alice lobby hello there');
        await bob.expectLine('RECV alice lobby hello there');
        bob.send('SAY nowhere hi');
        await bob.expectLine('RESULT SAY 0');

        const during = await scrape(server.http);
        expect(sample(during, 'chat_connections')).toBe(sample(before, 'chat_connections') + 2);
        expect(sample(during, 'chat_users_logged_in')).toBe(2);
        expect(sample(during, 'chat_connections_opened_total') - sample(before, 'chat_connections_opened_total')).toBe(2);
        const moved = (key: string) => sample(during, key) - sample(before, key);
        expect(moved('chat_commands_total{verb="LOGIN",outcome="ok"}')).toBe(2);
        expect(moved('chat_commands_total{verb="JOIN",outcome="ok"}')).toBe(2);
        expect(moved('chat_commands_total{verb="SAY",outcome="ok"}')).toBe(1);
        expect(moved('chat_commands_total{verb="SAY",outcome="failed"}')).toBe(1);
        expect(moved('chat_recv_deliveries_total')).toBe(2);
        expect(moved('chat_received_bytes_total')).toBeGreaterThan('SAY lobby hello there\n'.length);
        expect(moved('chat_sent_bytes_total')).toBeGreaterThanOrEqual(2 * 'RECV alice lobby hello there\n'.length);
      } finally {
        alice.close();
        bob.close();
      }
      await eventually(async () => {
        const after = await scrape(server.http);
        expect(sample(after, 'chat_connections')).toBe(sample(before, 'chat_connections'));
        expect(sample(after, 'chat_users_logged_in')).toBe(0);
      });
    });
  });
}

describe('HTTP is off by default', () => {
  const database = testDatabases()[0];
  afterAll(() => database.dispose());

  test('with http.port 0 the server serves the line protocol and no HTTP', async () => {
    const server = await TestServer.start(await database.fresh());
    try {
      expect(() => server.http).toThrow('not running with http.port set');
      const client = await LineClient.connect(server.port);
      client.send('CHANNELS');
      await client.expectLine('RESULT CHANNELS ');
      client.close();
    } finally {
      await server.stop();
    }
  });
});

describe('the address HTTP listens on', () => {
  const database = testDatabases()[0];
  afterAll(() => database.dispose());

  // Health and metrics are unauthenticated: loopback unless http.host says otherwise, whatever `host` is.
  test('without http.host, HTTP stays on 127.0.0.1 while the line protocol listens on host', async () => {
    const server = await TestServer.start(await database.fresh(), {
      host: '127.0.0.3',
      http: { port: await freePort('127.0.0.1') },
    });
    try {
      expect(server.http.address).toBe('127.0.0.1');
      expect((await httpGet(server.http, '/healthz')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test('http.host sets the address of health and metrics, apart from host', async () => {
    const server = await TestServer.start(await database.fresh(), {
      host: '127.0.0.1',
      http: { port: await freePort('127.0.0.2'), host: '127.0.0.2' },
    });
    try {
      expect(server.http.address).toBe('127.0.0.2');
      expect((await httpGet(server.http, '/readyz')).status).toBe(200);
      const client = await LineClient.connect(server.port);
      client.send('CHANNELS');
      await client.expectLine('RESULT CHANNELS ');
      client.close();
    } finally {
      await server.stop();
    }
  });
});

describe('readiness during a shutdown', () => {
  const database = testDatabases()[0];
  afterAll(() => database.dispose());

  test('/readyz turns 503 as soon as a shutdown begins, while commands in progress finish', async () => {
    // A slow bcrypt keeps the REGISTER in progress while the shutdown waits for it.
    const server = await TestServer.start(await database.fresh(), {
      bcryptCost: 13,
      http: { port: await freePort('127.0.0.1') },
    });
    const { http } = server;
    const client = await LineClient.connect(server.port);
    client.send('REGISTER slow pw');
    await eventually(async () => expect(sample(await scrape(http), 'chat_connections')).toBe(1));
    const stopping = server.stop();
    const answer = await httpGet(http, '/readyz');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { transport: { status: 'down', message: 'not listening' } } });
    await client.expectLine('RESULT REGISTER 1', 10000);
    await stopping;
    client.close();
  });
});

describe('federation links in the metrics', () => {
  const database = testDatabases()[0];
  afterAll(() => database.dispose());

  test('chat_federation_links_up counts the peers with a live link', async () => {
    const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
    const a = await startFederated(database, {
      address: '127.0.0.2',
      port: portA,
      hostname: 'a.test',
      peers: [{ host: '127.0.0.3', port: portB, hostname: 'b.test' }],
    });
    const b = await TestServer.start(await database.fresh(), {
      host: '127.0.0.3',
      port: portB,
      hostname: 'b.test',
      federation: {
        peers: [{ host: '127.0.0.2', port: portA, hostname: 'a.test' }],
        acceptFrom: 'listed',
        requestTimeoutMs: 5000,
      },
      http: { port: await freePort('127.0.0.3') },
    });
    try {
      await eventually(
        async () => expect(sample(await scrape(b.http), 'chat_federation_links_up')).toBe(1),
        10000,
        'the link to come up',
      );
      await a.stop();
      await eventually(
        async () => expect(sample(await scrape(b.http), 'chat_federation_links_up')).toBe(0),
        10000,
        'the link to go down',
      );
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('logs', () => {
  const database = testDatabases()[0];
  afterAll(() => database.dispose());

  // "One line per connection open and close and per error, and never a password."
  test('one line when a connection opens and one when it closes, with its id, address and user', async () => {
    const logs = new LogCapture();
    const server = await TestServer.start(await database.fresh(), { logLevel: 'info' }, { logDestination: logs });
    try {
      const client = await loggedIn(server.port, 'carol');
      client.close();
      await eventually(async () => expect(logs.entries.map((entry) => entry.msg)).toContain('connection closed'));
      const lines = logs.entries.filter((entry) => entry.context === 'LineServer' && entry.msg.startsWith('connection'));
      expect(lines).toEqual([
        expect.objectContaining({
          level: LEVEL.info,
          msg: 'connection opened',
          conn: expect.stringMatching(/^c\d+$/),
          remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        }),
        expect.objectContaining({
          level: LEVEL.info,
          msg: 'connection closed',
          user: 'carol',
          reason: 'closed by the other side',
          bytesIn: expect.any(Number),
        }),
      ]);
      expect(lines[0].conn).toBe(lines[1].conn);
    } finally {
      await server.stop();
    }
  });

  test('the level comes from the configuration: at warn, routine lines are not written', async () => {
    const logs = new LogCapture();
    const server = await TestServer.start(await database.fresh(), { logLevel: 'warn' }, { logDestination: logs });
    try {
      const client = await loggedIn(server.port, 'dave');
      client.close();
      const probe = await LineClient.connect(server.port);
      probe.send('CHANNELS');
      await probe.expectLine('RESULT CHANNELS ');
      probe.close();
      expect(logs.entries.filter((entry) => entry.level < LEVEL.warn)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test('a connection closed for going over a limit is logged as a warning with the reason', async () => {
    const logs = new LogCapture();
    const server = await TestServer.start(
      await database.fresh(),
      { logLevel: 'info', limits: { unauthenticatedIdleSeconds: 1 } },
      { logDestination: logs },
    );
    try {
      const idle = await LineClient.connect(server.port);
      await idle.expectClosed(5000);
      await eventually(async () =>
        expect(logs.atLeast(LEVEL.warn)).toEqual([
          expect.objectContaining({ msg: 'connection closed', reason: 'not logged in within the time allowed' }),
        ]),
      );
    } finally {
      await server.stop();
    }
  });
});

for (const database of testDatabases().filter(({ name }) => name === 'postgres')) {
  describe('readiness follows the database [postgres]', () => {
    afterAll(() => database.dispose());

    // "readiness goes false when the database is down and true again once it is back"
    test('/readyz turns 503 while the database is unreachable and 200 once it is back', async () => {
      const { proxy, url } = await CuttableProxy.inFrontOf((await database.fresh()).url as string);
      const logs = new LogCapture();
      const server = await TestServer.start(
        { url, dataDir: './unused' },
        { logLevel: 'info', http: { port: await freePort('127.0.0.1') } },
        { logDestination: logs },
      );
      try {
        expect((await httpGet(server.http, '/readyz')).status).toBe(200);
        const errorsBefore = sample(await scrape(server.http), 'chat_database_errors_total');

        await proxy.cut();
        const down = await httpGet(server.http, '/readyz');
        expect(down.status).toBe(503);
        expect(JSON.parse(down.body)).toMatchObject({
          status: 'error',
          error: { database: { status: 'down' } },
          info: { transport: { status: 'up' } },
        });
        expect((await httpGet(server.http, '/healthz')).status).toBe(200);
        const client = await LineClient.connect(server.port);
        client.send('REGISTER during outage');
        await client.expectLine('RESULT REGISTER 0', 10000);
        expect(sample(await scrape(server.http), 'chat_database_errors_total')).toBeGreaterThan(errorsBefore);

        await proxy.open();
        await eventually(
          async () => expect((await httpGet(server.http, '/readyz')).status).toBe(200),
          15000,
          '/readyz to answer 200 again',
        );
        client.send('REGISTER after outage');
        await client.expectLine('RESULT REGISTER 1', 10000);
        client.close();
        const health = logs.entries.filter((entry) => entry.context === 'Health').map((entry) => [entry.level, entry.msg]);
        expect(health).toEqual([
          [LEVEL.warn, 'not ready'],
          [LEVEL.info, 'ready again'],
        ]);
      } finally {
        await server.stop();
        await proxy.cut();
      }
    });
  });
}
