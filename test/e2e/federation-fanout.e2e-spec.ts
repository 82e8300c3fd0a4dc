import { Logger } from '@nestjs/common';
import { PeerSettings } from '../../src/config/settings';
import { testDatabases } from './harness/databases';
import { channelsBecome, FakePeer, freePort } from './harness/federation';
import { LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

// One line per server, not per member: over a link that negotiated the `cast` capability, a
// message of a channel goes to each server with members in it as ONE
// `FEDCAST <fromuser> <channel>:<channelhost> <message…>`; over any other link, as one FEDRECV per
// member, exactly as before. Our server is on its own loopback address, the fake peer server-x on another.
const OURS = '127.0.0.2';
const FAKE = '127.0.0.9';

const database = testDatabases()[0];
let servers: TestServer[] = [];
let others: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const each of others) each.close();
  others = [];
  await Promise.all(servers.map((each) => each.stop()));
  servers = [];
});

afterAll(() => database.dispose());

async function start(hostname: string, peer: PeerSettings, host = OURS, port?: number): Promise<TestServer> {
  const server = await TestServer.start(await database.fresh(), {
    host,
    port: port ?? (await freePort(host)),
    hostname,
    federation: { peers: [peer], acceptFrom: 'listed', requestTimeoutMs: 2000 },
  });
  servers.push(server);
  return server;
}

async function user(at: TestServer, name: string): Promise<LineClient> {
  const client = await LineClient.connect(at.port, name, OURS);
  others.push(client);
  await client.registerAndLogin(name);
  return client;
}

async function run(client: LineClient, line: string, reply: string): Promise<void> {
  client.send(line);
  await client.expectLine(reply);
}

describe('the channel’s server sending', () => {
  /** server-b with `room` (bea in it) dials server-x, which confirms as given; xena, yuri and zoe of server-x join. */
  async function roomWithThreeRemoteMembers(confirm: string): Promise<{ link: LineClient; bea: LineClient }> {
    const fake = await FakePeer.listen(FAKE);
    others.push(fake);
    const serverB = await start('server-b', { host: FAKE, port: fake.port, hostname: 'server-x', extensions: true });
    const link = await fake.nextLink();
    others.push(link);
    await link.expectLine('FEDERATE-OUT server-b ext=1 caps=cast');
    link.send(confirm);
    await link.expectLine('FEDCHANNELS ');
    const bea = await user(serverB, 'bea');
    await run(bea, 'CREATE room', 'RESULT CREATE room 1');
    await run(bea, 'JOIN room', 'RESULT JOIN room 1');
    await link.expectLine('FEDNEW room');
    for (const name of ['xena', 'yuri', 'zoe']) {
      link.send(`FEDJOIN ${name}@server-x room`);
      await link.expectLine(`FEDRESULT ${name} JOIN room:server-b 1`);
    }
    return { link, bea };
  }

  test('over a link that negotiated cast: exactly one FEDCAST per message for three members there', async () => {
    const { link, bea } = await roomWithThreeRemoteMembers('FEDERATE-CONFIRM server-x ext=1 caps=cast');
    bea.send('SAY room hello  all');
    await bea.expectLine('RECV bea room hello  all');
    await link.expectLine('FEDCAST bea@server-b room:server-b hello  all');
    // A member of server-x speaking: its server sees the sender bare.
    link.send('FEDSAY xena@server-x room hi from x');
    await bea.expectLine('RECV xena@server-x room hi from x');
    await link.expectLine('FEDCAST xena room:server-b hi from x');
    await link.expectSilence(300);
  });

  test('over a link that did not negotiate it: one FEDRECV per member, as before', async () => {
    const { link, bea } = await roomWithThreeRemoteMembers('FEDERATE-CONFIRM server-x');
    bea.send('SAY room hello');
    await bea.expectLine('RECV bea room hello');
    const lines = [await link.readLine(), await link.readLine(), await link.readLine()];
    expect(lines.sort()).toEqual([
      'FEDRECV xena bea@server-b room:server-b hello',
      'FEDRECV yuri bea@server-b room:server-b hello',
      'FEDRECV zoe bea@server-b room:server-b hello',
    ]);
    await link.expectSilence(300);
  });

  test('a member of that server who joins between two messages gets the second one', async () => {
    const { link, bea } = await roomWithThreeRemoteMembers('FEDERATE-CONFIRM server-x');
    bea.send('SAY room one');
    await bea.expectLine('RECV bea room one');
    expect(new Set([await link.readLine(), await link.readLine(), await link.readLine()]).size).toBe(3);
    link.send('FEDJOIN walt@server-x room');
    await link.expectLine('FEDRESULT walt JOIN room:server-b 1');
    bea.send('SAY room two');
    await bea.expectLine('RECV bea room two');
    const lines = [await link.readLine(), await link.readLine(), await link.readLine(), await link.readLine()];
    expect(lines.sort()).toEqual([
      'FEDRECV walt bea@server-b room:server-b two',
      'FEDRECV xena bea@server-b room:server-b two',
      'FEDRECV yuri bea@server-b room:server-b two',
      'FEDRECV zoe bea@server-b room:server-b two',
    ]);
    await link.expectSilence(300);
  });
});

describe('the members’ server receiving', () => {
  /** server-a accepts a link from server-x offering cast (or not); alice and bob join room:server-x, carol does not. */
  async function members(offer: string): Promise<{ link: LineClient; alice: LineClient; bob: LineClient; carol: LineClient }> {
    const serverA = await start('server-a', { host: FAKE, port: 1, hostname: 'server-x' });
    const link = await LineClient.connect(serverA.port, 'server-x', OURS, FAKE);
    others.push(link);
    link.send(`FEDERATE-OUT server-x${offer}`);
    await link.expectLine(`FEDERATE-CONFIRM server-a${offer}`);
    await link.expectLine('FEDCHANNELS ');
    link.send('FEDCHANNELS room');
    const [alice, bob, carol] = [await user(serverA, 'alice'), await user(serverA, 'bob'), await user(serverA, 'carol')];
    await channelsBecome(carol, 'RESULT CHANNELS room:server-x');
    for (const member of [alice, bob]) {
      member.send('JOIN room:server-x');
      await link.expectLine(`FEDJOIN ${member.name}@server-a room`);
      link.send(`FEDRESULT ${member.name} JOIN room:server-x 1`);
      await member.expectLine('RESULT JOIN room:server-x 1');
    }
    return { link, alice, bob, carol };
  }

  test('a FEDCAST reaches every local member of that channel, and only them', async () => {
    const { link, alice, bob, carol } = await members(' ext=1 caps=cast');
    link.send('FEDCAST zed@server-x room:server-x hello  members');
    await alice.expectLine('RECV zed@server-x room:server-x hello  members');
    await bob.expectLine('RECV zed@server-x room:server-x hello  members');
    await carol.expectSilence(200);
    // A bare channel from server-x means its own.
    link.send('FEDCAST zed@server-x room again');
    await alice.expectLine('RECV zed@server-x room:server-x again');
    await bob.expectLine('RECV zed@server-x room:server-x again');
  });

  test('a FEDCAST naming a local user bare is delivered only as the echo of that user’s own SAY', async () => {
    const { link, alice, bob, carol } = await members(' ext=1 caps=cast');
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    link.send('FEDCAST carol room:server-x forged');
    await alice.expectSilence(200);
    alice.send('SAY room:server-x hi');
    await link.expectLine('FEDSAY alice@server-a room hi');
    link.send('FEDCAST alice room:server-x hi');
    await alice.expectLine('RECV alice room:server-x hi');
    await bob.expectLine('RECV alice room:server-x hi');
    await carol.expectSilence(100);
    const logged = warnings.mock.calls.map(([message]) => String(message));
    warnings.mockRestore();
    expect(logged).toEqual([expect.stringContaining('refused FEDCAST from carol from server-x')]);
  });

  test('a FEDCAST over a link that did not negotiate cast is refused and logged', async () => {
    const { link, alice } = await members('');
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    link.send('FEDCAST zed@server-x room:server-x not negotiated');
    await alice.expectSilence(200);
    const logged = warnings.mock.calls.map(([message]) => String(message));
    warnings.mockRestore();
    expect(logged).toEqual([
      expect.stringContaining('refused FEDCAST for room:server-x from server-x: the link did not negotiate cast'),
    ]);
    link.send('FEDRECV alice zed@server-x room:server-x one by one');
    await alice.expectLine('RECV zed@server-x room:server-x one by one');
  });
});

describe('two servers of ours', () => {
  test('negotiate cast, and a message reaches the other server’s members once each', async () => {
    const [portA, portB] = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
    const info = jest.spyOn(Logger.prototype, 'log');
    const serverA = await start(
      'server-a',
      { host: '127.0.0.3', port: portB, hostname: 'server-b', extensions: true },
      '127.0.0.2',
      portA,
    );
    await start('server-b', { host: '127.0.0.2', port: portA, hostname: 'server-a', extensions: true }, '127.0.0.3', portB);
    const bea = await LineClient.connect(portB, 'bea', '127.0.0.3');
    others.push(bea);
    await bea.registerAndLogin('bea');
    await run(bea, 'CREATE room', 'RESULT CREATE room 1');
    await run(bea, 'JOIN room', 'RESULT JOIN room 1');
    const members = [await user(serverA, 'alice'), await user(serverA, 'amy'), await user(serverA, 'ann')];
    for (const member of members) {
      await channelsBecome(member, 'RESULT CHANNELS room:server-b');
      await run(member, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1');
    }
    bea.send('SAY room hello');
    await bea.expectLine('RECV bea room hello');
    for (const member of members) await member.expectLine('RECV bea@server-b room:server-b hello');
    members[0].send('SAY room:server-b hi back');
    for (const member of members) await member.expectLine('RECV alice room:server-b hi back');
    await bea.expectLine('RECV alice@server-a room hi back');
    for (const member of members) await member.expectSilence(200);
    const logged = info.mock.calls.map(([message]) => String(message));
    info.mockRestore();
    expect(logged).toEqual(expect.arrayContaining([expect.stringMatching(/^link to server-b is up .*caps cast/)]));
  });
});
