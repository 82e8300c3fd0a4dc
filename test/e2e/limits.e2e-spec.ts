import { connect } from 'node:net';
import { PeerAddress, parsePeer } from '../../src/config/settings';
import { testDatabases } from './harness/databases';
import { freePort } from './harness/federation';
import { httpGet } from './harness/http-probe';
import { LEVEL, LogCapture } from './harness/log-capture';
import { delay, LineClient } from './harness/line-client';
import { SettingsOverrides, TestServer } from './harness/test-server';

const database = testDatabases()[0];
let server: TestServer;
let clients: LineClient[] = [];

async function startWith(overrides: SettingsOverrides): Promise<void> {
  server = await TestServer.start(await database.fresh(), overrides);
}

async function client(name: string): Promise<LineClient> {
  const connected = await LineClient.connect(server.port, name);
  clients.push(connected);
  return connected;
}

/** A client connecting from `address` (127.0.0.0/8: loopback, but not the test runner's 127.0.0.1). */
async function clientFrom(address: string, name: string): Promise<LineClient> {
  const connected = await LineClient.connect(server.port, name, '127.0.0.1', address);
  clients.push(connected);
  return connected;
}

async function loggedIn(user: string): Promise<LineClient> {
  const connected = await client(user);
  await connected.registerAndLogin(user);
  return connected;
}

afterEach(async () => {
  for (const each of clients) each.close();
  clients = [];
  await server.stop();
});

afterAll(() => database.dispose());

describe('command rate (limits.commandsPerSecond / limits.commandBurst)', () => {
  // "further commands are delayed (token bucket)"
  test('commands beyond the burst are delayed, not dropped, and answered in order', async () => {
    await startWith({ limits: { commandsPerSecond: 20, commandBurst: 5 } });
    const flood = await client('flood');
    const started = Date.now();
    for (let index = 0; index < 25; index++) flood.send(`JOIN c${index}`);
    for (let index = 0; index < 25; index++) await flood.expectLine(`RESULT JOIN c${index} 0`);
    // 20 commands over the burst at 20 a second cannot all be answered in much less than a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  // "over 1000 waiting → connection closed"
  test('a client with more than limits.maxQueuedCommands commands waiting is disconnected', async () => {
    await startWith({ limits: { commandsPerSecond: 1, commandBurst: 1, maxQueuedCommands: 50 } });
    const flood = await client('flood');
    flood.write('CHANNELS\n'.repeat(100));
    await flood.expectClosed();
    const other = await client('other');
    other.send('CHANNELS');
    await other.expectLine('RESULT CHANNELS ');
  });

  // "when true, 127.0.0.0/8 and ::1 skip the rate, per-address and registration limits"
  test('limits.exemptLoopback lets a loopback client past the rate limit', async () => {
    await startWith({ limits: { commandsPerSecond: 1, commandBurst: 1, maxQueuedCommands: 50, exemptLoopback: true } });
    const bench = await client('bench');
    bench.write('CHANNELS\n'.repeat(100));
    for (let index = 0; index < 100; index++) await bench.expectLine('RESULT CHANNELS ');
  });
});

describe('connections per address (limits.connectionsPerAddress)', () => {
  test('a connection over the limit is closed at once; others keep working', async () => {
    await startWith({ limits: { connectionsPerAddress: 3 } });
    const open = [await client('one'), await client('two'), await client('three')];
    const fourth = await client('four');
    await fourth.expectClosed();
    open[0].send('CHANNELS');
    await open[0].expectLine('RESULT CHANNELS ');
    open[1].close();
    await delay(100);
    const again = await client('again');
    again.send('CHANNELS');
    await again.expectLine('RESULT CHANNELS ');
  });
});

describe('the connection cap (limits.maxConnections)', () => {
  test("beyond the cap a client is closed at once; /readyz, the metrics and a peer's link keep working", async () => {
    const peer = parsePeer(`127.0.0.1:${await freePort('127.0.0.1')}`) as PeerAddress;
    await startWith({
      limits: { maxConnections: 3 },
      http: { port: await freePort('127.0.0.1') },
      federation: { peers: [peer], acceptFrom: 'listed', requestTimeoutMs: 5000 },
    });
    // Clients come from 127.0.0.2; the peer's address is 127.0.0.1.
    const fromClient = async (name: string) => {
      const connected = await LineClient.connect(server.port, name, '127.0.0.1', '127.0.0.2');
      clients.push(connected);
      return connected;
    };
    const open = [await fromClient('one'), await fromClient('two'), await fromClient('three')];
    const over = [await fromClient('four'), await fromClient('five')];
    for (const each of over) await each.expectClosed(2000);
    expect((await httpGet(server.http, '/readyz')).status).toBe(200);
    const metrics = (await httpGet(server.http, '/metrics')).body;
    expect(metrics).toContain('chat_connections_refused_total{reason="capacity"} 2');

    const link = await LineClient.connect(server.port, 'peer', '127.0.0.1', '127.0.0.1');
    clients.push(link);
    link.send(`FEDERATE-OUT 127.0.0.1:${peer.port}`);
    expect(await link.readLine(5000)).toMatch(/^FEDERATE-CONFIRM /);

    open[0].send('CHANNELS');
    await open[0].expectLine('RESULT CHANNELS ');
    // The link counts too: with it, three are open. Two clients leave, and there is room for one.
    open[1].close();
    open[2].close();
    await delay(200);
    const again = await fromClient('again');
    again.send('CHANNELS');
    await again.expectLine('RESULT CHANNELS ');
  });
});

describe('idle connections (limits.unauthenticatedIdleSeconds)', () => {
  test('a connection that does not log in is closed after the idle time; a logged-in one stays', async () => {
    await startWith({ limits: { unauthenticatedIdleSeconds: 1 } });
    const idle = await client('idle');
    const member = await loggedIn('member');
    await idle.expectClosed(3000);
    await delay(500);
    member.send('CHANNELS');
    await member.expectLine('RESULT CHANNELS ');
  });

  test('a slow drip of bytes does not keep a connection that never logs in: the time counts from its start', async () => {
    await startWith({ limits: { unauthenticatedIdleSeconds: 1 } });
    const drip = await client('drip');
    const opened = Date.now();
    // A byte every 200 ms (and a command now and then, answered), never a LOGIN.
    const timer = setInterval(() => drip.write('C'), 200);
    try {
      drip.send('CHANNELS');
      await drip.expectLine('RESULT CHANNELS ');
      await drip.expectClosed(3000);
    } finally {
      clearInterval(timer);
    }
    expect(Date.now() - opened).toBeLessThan(2500);
  });
});

describe('slow readers (limits.sendQueueBytes)', () => {
  test('a client that stops reading is disconnected; the others are not held up', async () => {
    await startWith({
      limits: { sendQueueBytes: 65536, commandsPerSecond: 1_000_000, commandBurst: 1_000_000, maxQueuedCommands: 1_000_000 },
    });
    const talker = await loggedIn('talker');
    await (async () => {
      talker.send('CREATE room');
      talker.send('JOIN room');
      await talker.expectLine('RESULT CREATE room 1');
      await talker.expectLine('RESULT JOIN room 1');
    })();
    // The slow reader logs in and joins, then never reads again.
    const socket = connect({ port: server.port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('REGISTER sleepy pw\nLOGIN sleepy pw\nJOIN room\n');
    await delay(300);
    socket.pause();
    const check = await client('check');
    check.send('LOGIN sleepy pw');
    await check.expectLine('RESULT LOGIN 0');
    const message = 'x'.repeat(8000);
    for (let round = 0; round < 40; round++) {
      for (let index = 0; index < 50; index++) talker.send(`SAY room ${message}`);
      for (let index = 0; index < 50; index++) await talker.expectLine(`RECV talker room ${message}`, 10000);
    }
    // Disconnected means logged out: sleepy can log in elsewhere.
    const awake = await client('awake');
    awake.send('LOGIN sleepy pw');
    await awake.expectLine('RESULT LOGIN 1');
    socket.destroy();
  });
});

describe('login attempts (limits.loginFailuresPerMinute)', () => {
  test('after too many failures an account fails fast, even with the right password; other accounts are unaffected', async () => {
    await startWith({ limits: { loginFailuresPerMinute: 3 } });
    const setup = await client('setup');
    setup.send('REGISTER target right');
    setup.send('REGISTER bystander right');
    await setup.expectLine('RESULT REGISTER 1');
    await setup.expectLine('RESULT REGISTER 1');
    const attacker = await client('attacker');
    for (let attempt = 0; attempt < 3; attempt++) {
      attacker.send('LOGIN target wrong');
      await attacker.expectLine('RESULT LOGIN 0');
    }
    attacker.send('LOGIN target right');
    await attacker.expectLine('RESULT LOGIN 0');
    attacker.send('LOGIN bystander right');
    await attacker.expectLine('RESULT LOGIN 1');
  });

  test('the failures lock the account for the guessing address only: its owner logs in from another address', async () => {
    const logs = new LogCapture();
    server = await TestServer.start(
      await database.fresh(),
      { logLevel: 'warn', limits: { loginFailuresPerMinute: 3 }, http: { port: await freePort('127.0.0.1') } },
      { logDestination: logs },
    );
    const owner = await clientFrom('127.0.0.3', 'owner');
    owner.send('REGISTER target right');
    await owner.expectLine('RESULT REGISTER 1');
    const attacker = await clientFrom('127.0.0.2', 'attacker');
    for (let attempt = 0; attempt < 5; attempt++) {
      attacker.send(`LOGIN target guess${attempt}`);
      await attacker.expectLine('RESULT LOGIN 0');
    }
    attacker.send('LOGIN target right');
    await attacker.expectLine('RESULT LOGIN 0');
    owner.send('LOGIN target right');
    await owner.expectLine('RESULT LOGIN 1');

    // Logged: the first failure, then the first refusal, each with a count of the rest; never a password.
    const lines = logs
      .atLeast(LEVEL.warn)
      .map((entry) => entry.msg)
      .filter((msg) => msg.startsWith('LOGIN as'));
    expect(lines).toEqual([
      'LOGIN as "target" from 127.0.0.2 failed: wrong password',
      'LOGIN as "target" from 127.0.0.2 refused: 3 failures for this account from this address in the last minute (limits.loginFailuresPerMinute)',
    ]);
    expect(logs.raw.join('')).not.toMatch(/guess|right/);
    const metrics = (await httpGet(server.http, '/metrics')).body;
    expect(metrics).toContain('chat_login_failures_total{reason="credentials"} 3');
    expect(metrics).toContain('chat_login_failures_total{reason="account"} 3');
  });
});

describe('login spraying (limits.loginFailuresPerAddressPerMinute)', () => {
  test('an address that fails across many accounts fails fast on every account; other addresses are unaffected', async () => {
    await startWith({ limits: { loginFailuresPerAddressPerMinute: 4 } });
    const owner = await clientFrom('127.0.0.3', 'owner');
    owner.send('REGISTER owner right');
    await owner.expectLine('RESULT REGISTER 1');
    const sprayer = await clientFrom('127.0.0.2', 'sprayer');
    for (const name of ['ann', 'ben', 'owner', 'cat']) {
      sprayer.send(`LOGIN ${name} password1`);
      await sprayer.expectLine('RESULT LOGIN 0');
    }
    // The fifth guess is refused unchecked, even the right password; a second connection changes nothing.
    sprayer.send('LOGIN owner right');
    await sprayer.expectLine('RESULT LOGIN 0');
    const again = await clientFrom('127.0.0.2', 'sprayer-again');
    again.send('LOGIN owner right');
    await again.expectLine('RESULT LOGIN 0');
    owner.send('LOGIN owner right');
    await owner.expectLine('RESULT LOGIN 1');
  });

  test('limits.exemptLoopback lifts the per-address count, not the per-account one', async () => {
    await startWith({ limits: { loginFailuresPerAddressPerMinute: 2, loginFailuresPerMinute: 3, exemptLoopback: true } });
    const setup = await clientFrom('127.0.0.3', 'setup');
    setup.send('REGISTER owner right');
    await setup.expectLine('RESULT REGISTER 1');
    const sprayer = await clientFrom('127.0.0.2', 'sprayer');
    for (const name of ['ann', 'ben', 'cat', 'dan']) {
      sprayer.send(`LOGIN ${name} password1`);
      await sprayer.expectLine('RESULT LOGIN 0');
    }
    sprayer.send('LOGIN owner right');
    await sprayer.expectLine('RESULT LOGIN 1');
  });

  test('hashing is shared between addresses: a LOGIN is not queued behind another address’s flood', async () => {
    // Cost 10 makes each check take tens of milliseconds, so the flood's checks pile up.
    await startWith({
      bcryptCost: 10,
      limits: { loginFailuresPerMinute: 1_000_000, loginFailuresPerAddressPerMinute: 1_000_000 },
    });
    const owner = await clientFrom('127.0.0.3', 'owner');
    owner.send('REGISTER owner right');
    await owner.expectLine('RESULT REGISTER 1', 10_000);
    const flood = await Promise.all(Array.from({ length: 40 }, (_, index) => clientFrom('127.0.0.2', `flood${index}`)));
    let floodAnswers = 0;
    let stop = false;
    const floods = flood.map(async (each) => {
      while (!stop) {
        each.send('LOGIN owner wrong');
        await each.expectLine('RESULT LOGIN 0', 60_000);
        floodAnswers++;
      }
    });
    // Let every flood connection get a check queued.
    while (floodAnswers < 80) await delay(20);
    const before = floodAnswers;
    owner.send('LOGIN owner right');
    await owner.expectLine('RESULT LOGIN 1', 30_000);
    const overtaken = floodAnswers - before;
    stop = true;
    await Promise.all(floods);
    // First come, first served, the owner's check would wait for the 40 already queued. Shared,
    // it waits for the checks running and at most one more of the flood's.
    expect(overtaken).toBeLessThan(12);
  }, 120_000);
});

describe('registrations (limits.registrationsPerMinute)', () => {
  test('an address over the registration rate gets RESULT REGISTER 0', async () => {
    await startWith({ limits: { registrationsPerMinute: 2 } });
    const registrar = await client('registrar');
    registrar.send('REGISTER first pw');
    registrar.send('REGISTER second pw');
    registrar.send('REGISTER third pw');
    await registrar.expectLine('RESULT REGISTER 1');
    await registrar.expectLine('RESULT REGISTER 1');
    await registrar.expectLine('RESULT REGISTER 0');
    registrar.send('LOGIN third pw');
    await registrar.expectLine('RESULT LOGIN 0');
  });
});
