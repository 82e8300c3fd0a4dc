import { Logger } from '@nestjs/common';
import { testDatabases } from './harness/databases';
import { channelsBecome, eventually, FakePeer, freePort, startFederated } from './harness/federation';
import { LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

// Each server has its own loopback address, so a peer is recognised by the address it connects from.
const A = '127.0.0.2';
const B = '127.0.0.3';
const C = '127.0.0.4';
const FAKE = '127.0.0.9';

const database = testDatabases()[0];
let servers: TestServer[] = [];
let clients: LineClient[] = [];
let fakes: FakePeer[] = [];

async function client(server: TestServer, address: string, name: string): Promise<LineClient> {
  const connected = await LineClient.connect(server.port, name, address);
  clients.push(connected);
  return connected;
}

async function loggedIn(server: TestServer, address: string, user: string): Promise<LineClient> {
  const connected = await client(server, address, user);
  await connected.registerAndLogin(user);
  return connected;
}

async function run(...commands: Array<[LineClient, string, string]>): Promise<void> {
  for (const [who, line, reply] of commands) {
    who.send(line);
    await who.expectLine(reply);
  }
}

async function fake(): Promise<FakePeer> {
  const peer = await FakePeer.listen(FAKE);
  fakes.push(peer);
  return peer;
}

async function start(spec: Parameters<typeof startFederated>[1]): Promise<TestServer> {
  const server = await startFederated(database, spec);
  servers.push(server);
  return server;
}

/** server1.com, linked to a fake peer quiet.example that never answers a request; a 300 ms request timeout. */
async function linkedToSilentPeer(): Promise<{ server1: TestServer; link: LineClient }> {
  const silent = await fake();
  const server1 = await start({
    address: A,
    port: await freePort(A),
    hostname: 'server1.com',
    peers: [{ host: FAKE, port: silent.port, hostname: 'quiet.example' }],
    requestTimeoutMs: 300,
  });
  const link = await silent.nextLink();
  clients.push(link);
  await link.expectLine('FEDERATE-OUT server1.com');
  link.send('FEDERATE-CONFIRM quiet.example');
  await link.expectLine('FEDCHANNELS ');
  return { server1, link };
}

/** Two servers on A and B that list each other under their names. */
async function linkedPair(nameA: string, nameB: string): Promise<[TestServer, TestServer]> {
  const [portA, portB] = [await freePort(A), await freePort(B)];
  const serverA = await start({ address: A, port: portA, hostname: nameA, peers: [{ host: B, port: portB, hostname: nameB }] });
  const serverB = await start({ address: B, port: portB, hostname: nameB, peers: [{ host: A, port: portA, hostname: nameA }] });
  return [serverA, serverB];
}

afterEach(async () => {
  for (const each of clients) each.close();
  for (const each of fakes) each.close();
  await Promise.all(servers.map((server) => server.stop()));
  clients = [];
  fakes = [];
  servers = [];
});

afterAll(() => database.dispose());

describe('the flow of docs/PROTOCOL.md §6.6, line by line', () => {
  test('the channel’s server (server2) answers FEDJOIN and FEDSAY as in the example', async () => {
    const server2 = await start({
      address: B,
      port: await freePort(B),
      hostname: 'server2.com',
      peers: [{ host: FAKE, port: 1, hostname: 'server1.com' }],
    });
    const alice = await loggedIn(server2, B, 'alice');
    await run([alice, 'CREATE helloworld', 'RESULT CREATE helloworld 1'], [alice, 'JOIN helloworld', 'RESULT JOIN helloworld 1']);

    const server1 = await LineClient.connect(server2.port, 'server1', B, FAKE);
    clients.push(server1);
    server1.send('FEDERATE-OUT server1.com');
    await server1.expectLine('FEDERATE-CONFIRM server2.com');
    await server1.expectLine('FEDCHANNELS helloworld');
    server1.send('FEDJOIN bob@server1.com helloworld');
    await server1.expectLine('FEDRESULT bob JOIN helloworld:server2.com 1');
    server1.send('FEDSAY bob@server1.com helloworld hi all');
    await alice.expectLine('RECV bob@server1.com helloworld hi all');
    await server1.expectLine('FEDRECV bob bob helloworld:server2.com hi all');
    await server1.expectSilence(200);
  });

  test('the user’s server (server1) sends FEDJOIN and FEDSAY and passes the answers on as in the example', async () => {
    const server2 = await fake();
    const server1 = await start({
      address: A,
      port: await freePort(A),
      hostname: 'server1.com',
      peers: [{ host: FAKE, port: server2.port, hostname: 'server2.com' }],
    });
    const link = await server2.nextLink();
    clients.push(link);
    await link.expectLine('FEDERATE-OUT server1.com');
    link.send('FEDERATE-CONFIRM server2.com');
    await link.expectLine('FEDCHANNELS ');
    link.send('FEDCHANNELS helloworld');

    const bob = await loggedIn(server1, A, 'bob');
    await channelsBecome(bob, 'RESULT CHANNELS helloworld:server2.com');
    bob.send('JOIN helloworld:server2.com');
    await link.expectLine('FEDJOIN bob@server1.com helloworld');
    link.send('FEDRESULT bob JOIN helloworld:server2.com 1');
    await bob.expectLine('RESULT JOIN helloworld:server2.com 1');
    bob.send('SAY helloworld:server2.com hi all');
    await link.expectLine('FEDSAY bob@server1.com helloworld hi all');
    link.send('FEDRECV bob bob helloworld:server2.com hi all');
    await bob.expectLine('RECV bob helloworld:server2.com hi all');
    // A refused FEDSAY comes back as FEDRESULT <user> SAY 0 and reaches the client as RESULT SAY 0.
    link.send('FEDRESULT bob SAY 0');
    await bob.expectLine('RESULT SAY 0');
  });
});

describe('federated servers', () => {
  test('two servers that list each other: the §5 example end to end, and FEDNEW both ways', async () => {
    const [server1, server2] = await linkedPair('server1.com', 'server2.com');
    const alice = await loggedIn(server2, B, 'alice');
    const bob = await loggedIn(server1, A, 'bob');
    await run([alice, 'CREATE helloworld', 'RESULT CREATE helloworld 1'], [alice, 'JOIN helloworld', 'RESULT JOIN helloworld 1']);
    await channelsBecome(bob, 'RESULT CHANNELS helloworld:server2.com');
    await run([bob, 'CREATE lobby', 'RESULT CREATE lobby 1']);
    await channelsBecome(alice, 'RESULT CHANNELS helloworld, lobby:server1.com');

    await run([bob, 'JOIN helloworld:server2.com', 'RESULT JOIN helloworld:server2.com 1']);
    bob.send('SAY helloworld:server2.com hi all');
    await bob.expectLine('RECV bob helloworld:server2.com hi all');
    await alice.expectLine('RECV bob@server1.com helloworld hi all');
    alice.send('SAY helloworld hello bob');
    await alice.expectLine('RECV alice helloworld hello bob');
    await bob.expectLine('RECV alice@server2.com helloworld:server2.com hello bob');
    // "JOIN fails if ... the user is already a member", across servers too.
    await run([bob, 'JOIN helloworld:server2.com', 'RESULT JOIN helloworld:server2.com 0']);
    // "The channel's server answers a refused FEDSAY ... with FEDRESULT <user> SAY 0."
    await run([bob, 'SAY nosuch:server2.com hi', 'RESULT SAY 0']);
  });

  // Plain peers get one FEDRECV per member; peers that agree `cast` one FEDCAST per server (§6.4).
  test.each([
    ['one FEDRECV per member', false],
    ['one FEDCAST per server', true],
  ])(
    'three servers, %s: users of A and C in a channel of B each see the others as their server names them',
    async (_, extensions) => {
      const [portA, portB, portC] = [await freePort(A), await freePort(B), await freePort(C)];
      const peer = (host: string, port: number, hostname: string) => ({ host, port, hostname, extensions });
      const serverA = await start({ address: A, port: portA, hostname: 'server-a', peers: [peer(B, portB, 'server-b')] });
      const serverB = await start({
        address: B,
        port: portB,
        hostname: 'server-b',
        peers: [peer(A, portA, 'server-a'), peer(C, portC, 'server-c')],
      });
      const serverC = await start({ address: C, port: portC, hostname: 'server-c', peers: [peer(B, portB, 'server-b')] });
      const bea = await loggedIn(serverB, B, 'bea');
      const alice = await loggedIn(serverA, A, 'alice');
      const carol = await loggedIn(serverC, C, 'carol');
      await run([bea, 'CREATE room', 'RESULT CREATE room 1'], [bea, 'JOIN room', 'RESULT JOIN room 1']);
      await channelsBecome(alice, 'RESULT CHANNELS room:server-b');
      await channelsBecome(carol, 'RESULT CHANNELS room:server-b');
      await run(
        [alice, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1'],
        [carol, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1'],
      );

      alice.send('SAY room:server-b hi from A');
      await alice.expectLine('RECV alice room:server-b hi from A');
      await bea.expectLine('RECV alice@server-a room hi from A');
      await carol.expectLine('RECV alice@server-a room:server-b hi from A');

      carol.send('SAY room:server-b hi from C');
      await carol.expectLine('RECV carol room:server-b hi from C');
      await bea.expectLine('RECV carol@server-c room hi from C');
      await alice.expectLine('RECV carol@server-c room:server-b hi from C');

      bea.send('SAY room hi from B');
      await bea.expectLine('RECV bea room hi from B');
      await alice.expectLine('RECV bea@server-b room:server-b hi from B');
      await carol.expectLine('RECV bea@server-b room:server-b hi from B');
    },
  );

  test('a server restart: the link, the channel list, durable remote memberships and the message flow come back', async () => {
    const [serverA, serverB] = await linkedPair('server-a', 'server-b');
    const bea = await loggedIn(serverB, B, 'bea');
    let alice = await loggedIn(serverA, A, 'alice');
    await run([bea, 'CREATE room', 'RESULT CREATE room 1'], [bea, 'JOIN room', 'RESULT JOIN room 1']);
    await channelsBecome(alice, 'RESULT CHANNELS room:server-b');
    await run([alice, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1']);

    await serverA.stop();
    await run([bea, 'CREATE fresh', 'RESULT CREATE fresh 1']);
    await serverA.startAgain();
    alice = await client(serverA, A, 'alice again');
    await run([alice, 'LOGIN alice pw', 'RESULT LOGIN 1']);
    await channelsBecome(alice, 'RESULT CHANNELS fresh:server-b, room:server-b', 20000);
    bea.send('SAY room welcome back');
    await bea.expectLine('RECV bea room welcome back');
    await alice.expectLine('RECV bea@server-b room:server-b welcome back');

    await serverB.stop();
    // "SAY to a channel of a peer whose link is down fails at once"; so does JOIN.
    await eventually(async () => {
      alice.send('SAY room:server-b anyone?');
      await alice.expectLine('RESULT SAY 0', 1000);
    });
    await run([alice, 'JOIN fresh:server-b', 'RESULT JOIN fresh:server-b 0']);
    await serverB.startAgain();
    // The membership on server-b survived its restart: no new JOIN is needed.
    await eventually(async () => {
      alice.send('SAY room:server-b back again');
      await alice.expectLine('RECV alice room:server-b back again', 1000);
    }, 20000);
  });

  test('a remote JOIN fails when the channel’s server does not answer within federation.requestTimeoutMs', async () => {
    const { server1, link } = await linkedToSilentPeer();
    const bob = await loggedIn(server1, A, 'bob');
    bob.send('JOIN void:quiet.example');
    await link.expectLine('FEDJOIN bob@server1.com void');
    await bob.expectLine('RESULT JOIN void:quiet.example 0', 2000);
    await run([bob, 'JOIN void:unknown.example', 'RESULT JOIN void:unknown.example 0']);
  });
});

describe('a client that half-closes after a remote request', () => {
  /** server1 (bob's) and server2 (the channel's), alice in `room` on server2, bob logged in on server1. */
  async function pair(): Promise<{ alice: LineClient; bob: LineClient }> {
    const [server1, server2] = await linkedPair('server1.com', 'server2.com');
    const alice = await loggedIn(server2, B, 'alice');
    await run([alice, 'CREATE room', 'RESULT CREATE room 1'], [alice, 'JOIN room', 'RESULT JOIN room 1']);
    const bob = await loggedIn(server1, A, 'bob');
    await channelsBecome(bob, 'RESULT CHANNELS room:server2.com');
    return { alice, bob };
  }

  test('gets its own RECV of a remote SAY, then the server’s FIN', async () => {
    const { alice, bob } = await pair();
    await run([bob, 'JOIN room:server2.com', 'RESULT JOIN room:server2.com 1']);
    bob.send('SAY room:server2.com hi');
    bob.end();
    await bob.expectLine('RECV bob room:server2.com hi');
    await bob.expectClosed();
    await alice.expectLine('RECV bob@server1.com room hi');
  });

  test('gets RESULT SAY 0 for a remote SAY the channel’s server refuses, then the server’s FIN', async () => {
    const { alice, bob } = await pair();
    bob.send('SAY room:server2.com not a member');
    bob.end();
    await bob.expectLine('RESULT SAY 0');
    await bob.expectClosed();
    await alice.expectSilence(50);
  });

  test('is closed about federation.requestTimeoutMs after its last remote request when the peer never answers', async () => {
    const { server1, link } = await linkedToSilentPeer();
    const bob = await loggedIn(server1, A, 'bob');
    // The JOIN waits inside its handler; the SAY after it is held open by the connection.
    bob.send('JOIN void:quiet.example');
    bob.send('SAY void:quiet.example anyone?');
    const ended = Date.now();
    bob.end();
    await link.expectLine('FEDJOIN bob@server1.com void');
    await bob.expectLine('RESULT JOIN void:quiet.example 0', 2000);
    await link.expectLine('FEDSAY bob@server1.com void anyone?');
    await bob.expectClosed(2000);
    const elapsed = Date.now() - ended;
    expect(bob.unread()).toEqual([]);
    // Two timeouts of 300 ms one after the other: the JOIN's, then the SAY's.
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('federation security', () => {
  async function channelServer(): Promise<{ server: TestServer; bea: LineClient }> {
    const server = await start({
      address: B,
      port: await freePort(B),
      hostname: 'server-b',
      peers: [{ host: FAKE, port: 1, hostname: 'server-x' }],
    });
    const bea = await loggedIn(server, B, 'bea');
    await run([bea, 'CREATE room', 'RESULT CREATE room 1'], [bea, 'JOIN room', 'RESULT JOIN room 1']);
    return { server, bea };
  }

  /** A hand-driven peer `server-x` on the fake address, its handshake done. */
  async function linkAsServerX(server: TestServer): Promise<LineClient> {
    const peer = await LineClient.connect(server.port, 'peer', B, FAKE);
    clients.push(peer);
    peer.send('FEDERATE-OUT server-x');
    await peer.expectLine('FEDERATE-CONFIRM server-b');
    await peer.expectLine('FEDCHANNELS room');
    return peer;
  }

  test('FED lines from a client connection are ignored', async () => {
    const { server, bea } = await channelServer();
    const mallory = await loggedIn(server, B, 'mallory');
    mallory.send('FEDSAY bea@server-b room forged');
    mallory.send('FEDRECV bea bea room:server-b forged');
    mallory.send('FEDJOIN eve@elsewhere room');
    await mallory.expectSilence(200);
    await bea.expectSilence(50);
  });

  test('a handshake from an address that is not a listed peer is ignored and the connection stays a client', async () => {
    const { server } = await channelServer();
    const stranger = await client(server, B, 'stranger');
    stranger.send('FEDERATE-OUT evil.example');
    await stranger.expectSilence(200);
    await run([stranger, 'CHANNELS', 'RESULT CHANNELS room']);
  });

  test('a link may speak only for its own users, and FEDRECV only for its own channels', async () => {
    const { server, bea } = await channelServer();
    const peer = await linkAsServerX(server);
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    peer.send('FEDJOIN eve@server-y room');
    peer.send('FEDSAY bea@server-b room forged');
    peer.send('FEDRECV bea mallory room:server-z forged');
    await peer.expectSilence(200);
    await bea.expectSilence(50);
    const logged = warnings.mock.calls.map(([message]) => String(message));
    warnings.mockRestore();
    expect(logged).toEqual([
      expect.stringContaining('refused a request for eve@server-y from server-x'),
      expect.stringContaining('refused a request for bea@server-b from server-x'),
      expect.stringContaining('refused FEDRECV for room:server-z from server-x'),
    ]);
    // Its own users it may speak for.
    peer.send('FEDJOIN xena@server-x room');
    await peer.expectLine('FEDRESULT xena JOIN room:server-b 1');
  });

  test('federation.acceptFrom widens where a configured peer may link from beyond its listed address', async () => {
    const port = await freePort(B);
    const server = await TestServer.start(await database.fresh(), {
      host: B,
      port,
      hostname: 'server-b',
      federation: { peers: [{ host: '127.0.0.7', port: 1, hostname: 'server-x' }], acceptFrom: [FAKE], requestTimeoutMs: 5000 },
    });
    servers.push(server);
    const allowed = await LineClient.connect(port, 'allowed', B, FAKE);
    const other = await LineClient.connect(port, 'other', B, '127.0.0.8');
    clients.push(allowed, other);
    allowed.send('FEDERATE-OUT server-x');
    await allowed.expectLine('FEDERATE-CONFIRM server-b');
    await allowed.expectLine('FEDCHANNELS ');
    other.send('FEDERATE-OUT server-x');
    await other.expectSilence(200);
  });

  test('a flood of lines on a link neither crashes nor stalls the server', async () => {
    const { server, bea } = await channelServer();
    const peer = await linkAsServerX(server);
    const flood = Array.from({ length: 5000 }, (_, index) => `FEDNEW chan${index}\nFEDSAY nobody@server-x room x\n`).join('');
    peer.write(flood);
    await run([bea, 'SAY room still answering', 'RECV bea room still answering']);
    await eventually(async () => {
      const replies = peer.unread().filter((line) => line === 'FEDRESULT nobody SAY 0').length;
      if (replies !== 5000) throw new Error(`${replies} of 5000 refusals so far`);
    });
  });

  test('garbage on a link is dropped and the link keeps working', async () => {
    const { server, bea } = await channelServer();
    const peer = await linkAsServerX(server);
    peer.write(Buffer.from([0xff, 0xfe, 0x0a]));
    peer.send('FEDJOIN');
    peer.send('FEDSAY xena@server-x');
    peer.send('FEDRECV a b');
    peer.send('REGISTER x y');
    peer.send(`FEDNEW ${'x'.repeat(10000)}`);
    peer.send('FEDJOIN xena@server-x room');
    await peer.expectLine('FEDRESULT xena JOIN room:server-b 1');
    peer.send('FEDSAY xena@server-x room still here');
    await bea.expectLine('RECV xena@server-x room still here');
  });
});

describe('interop with peers using the original spellings', () => {
  test.each(['FEDERATE-OUT', 'FEDERATEOUT', 'FEDOUT'])(
    'a bare %s is accepted from a listed address; FEDCHANNELS separated by "," is understood',
    async (spelling) => {
      const legacy = await fake();
      const server = await start({
        address: B,
        port: await freePort(B),
        hostname: 'server-b',
        peers: [{ host: FAKE, port: legacy.port }],
      });
      const bea = await loggedIn(server, B, 'bea');
      await run([bea, 'CREATE room', 'RESULT CREATE room 1']);
      const peer = await LineClient.connect(server.port, 'legacy', B, FAKE);
      clients.push(peer);
      peer.send(spelling);
      await peer.expectLine('FEDERATE-CONFIRM server-b');
      await peer.expectLine('FEDCHANNELS room');
      peer.send('FEDCHANNELS alpha,beta');
      const identity = `${FAKE}:${legacy.port}`;
      await channelsBecome(bea, `RESULT CHANNELS alpha:${identity}, beta:${identity}, room`);
    },
  );

  test.each(['FEDERATE-CONFIRM', 'FEDERATECONFIRM', 'FEDCONFIRM'])(
    'a bare %s completes a link this server opened',
    async (spelling) => {
      const legacy = await fake();
      const server = await start({
        address: A,
        port: await freePort(A),
        hostname: 'server-a',
        peers: [{ host: FAKE, port: legacy.port }],
      });
      const link = await legacy.nextLink();
      clients.push(link);
      await link.expectLine('FEDERATE-OUT server-a');
      link.send(spelling);
      await link.expectLine('FEDCHANNELS ');
      link.send('FEDCHANNELS old');
      const alice = await loggedIn(server, A, 'alice');
      await channelsBecome(alice, `RESULT CHANNELS old:${FAKE}:${legacy.port}`);
    },
  );
});
