import { Logger } from '@nestjs/common';
import { Settings } from '../../src/config/settings';
import { testDatabases } from './harness/databases';
import { channelsBecome, eventually, FakePeer, freePort } from './harness/federation';
import { LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

// What a channel's server sends the server of its members is checked against what waits there
// and who is a member (docs/PROTOCOL.md §6.4). Our server is server-a on its own loopback address;
// the channel's server is a fake peer, server-x, driven line by line.
const A = '127.0.0.2';
const FAKE = '127.0.0.9';

describe.each(testDatabases())('lines from a channel’s server, checked ($name)', (database) => {
  let server: TestServer;
  let link: LineClient;
  let others: Array<{ close(): void }> = [];
  let warnings: jest.SpyInstance;

  afterEach(async () => {
    warnings?.mockRestore();
    for (const each of others) each.close();
    others = [];
    await server?.stop();
  });

  afterAll(() => database.dispose());

  /** server-a linked to server-x, which has the channel `bchan`; limits as given. */
  async function linked(limits: Partial<Settings['limits']> = {}, requestTimeoutMs = 500): Promise<void> {
    const peer = await FakePeer.listen(FAKE);
    others.push(peer);
    server = await TestServer.start(await database.fresh(), {
      host: A,
      port: await freePort(A),
      hostname: 'server-a',
      federation: { peers: [{ host: FAKE, port: peer.port, hostname: 'server-x' }], acceptFrom: 'listed', requestTimeoutMs },
      limits,
    });
    link = await peer.nextLink();
    others.push(link);
    await link.expectLine('FEDERATE-OUT server-a');
    link.send('FEDERATE-CONFIRM server-x');
    await link.expectLine('FEDCHANNELS ');
    link.send('FEDCHANNELS bchan');
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  }

  async function user(name: string): Promise<LineClient> {
    const client = await LineClient.connect(server.port, name, A);
    others.push(client);
    await client.registerAndLogin(name);
    return client;
  }

  /** `client` joins `channel` of server-x, the fake peer answering. */
  async function joins(client: LineClient, channel: string): Promise<void> {
    await channelsBecome(client, 'RESULT CHANNELS bchan:server-x');
    client.send(`JOIN ${channel}:server-x`);
    await link.expectLine(`FEDJOIN ${client.name}@server-a ${channel}`);
    link.send(`FEDRESULT ${client.name} JOIN ${channel}:server-x 1`);
    await client.expectLine(`RESULT JOIN ${channel}:server-x 1`);
  }

  function logged(): string[] {
    return warnings.mock.calls.map(([message]) => String(message));
  }

  /** The link still carries a real line: a message from server-x's zed to `member`. */
  async function linkStillWorks(member: LineClient): Promise<void> {
    link.send(`FEDRECV ${member.name} zed@server-x bchan:server-x still here`);
    await member.expectLine('RECV zed@server-x bchan:server-x still here');
  }

  test('FEDRECV naming a local user bare as its sender is refused unless it echoes that user’s own SAY', async () => {
    await linked();
    const alice = await user('alice');
    const bob = await user('bob');
    await user('admin');
    await joins(alice, 'bchan');
    await joins(bob, 'bchan');
    link.send('FEDRECV alice admin bchan:server-x please send me your password');
    await alice.expectSilence(200);
    expect(logged()).toEqual([expect.stringMatching(/refused FEDRECV from admin from server-x: .*no such SAY/)]);
    expect(logged().join('\n')).not.toContain('password');

    // The echo of alice's own SAY, to her and to another member, is delivered.
    alice.send('SAY bchan:server-x hi all');
    await link.expectLine('FEDSAY alice@server-a bchan hi all');
    link.send('FEDRECV bob alice bchan:server-x hi all');
    link.send('FEDRECV alice alice bchan:server-x hi all');
    await bob.expectLine('RECV alice bchan:server-x hi all');
    await alice.expectLine('RECV alice bchan:server-x hi all');
    await linkStillWorks(alice);
  });

  test('FEDRECV for a user who is not a member of that channel through that server is refused', async () => {
    await linked();
    const alice = await user('alice');
    const carol = await user('carol');
    await joins(alice, 'bchan');
    link.send('FEDRECV carol zed@server-x bchan:server-x not for you');
    link.send('FEDRECV carol z\x1bed@server-x bchan:server-x not a user name either');
    await carol.expectSilence(200);
    expect(logged()).toEqual([
      expect.stringContaining('refused FEDRECV for carol in bchan:server-x from server-x: carol is not a member'),
    ]);
    await linkStillWorks(alice);
  });

  test('FEDRESULT alice SAY 0 with no SAY of alice waiting gives alice nothing', async () => {
    await linked();
    const alice = await user('alice');
    await joins(alice, 'bchan');
    link.send('FEDRESULT alice SAY 0');
    await alice.expectSilence(200);
    expect(logged()).toEqual([expect.stringContaining('refused FEDRESULT alice SAY from server-x: no SAY of alice')]);
    await linkStillWorks(alice);
  });

  test('FEDRESULT … JOIN with no such JOIN waiting neither answers nor makes a member', async () => {
    await linked();
    const alice = await user('alice');
    const bob = await user('bob');
    await joins(alice, 'bchan');
    link.send('FEDRESULT bob JOIN bchan:server-x 1');
    await bob.expectSilence(200);
    link.send('FEDRECV bob zed@server-x bchan:server-x hello');
    await bob.expectSilence(200);
    expect(logged()).toEqual([
      expect.stringContaining('refused FEDRESULT bob JOIN bchan:server-x 1 from server-x: no such JOIN is waiting'),
      expect.stringContaining('refused FEDRECV for bob in bchan:server-x from server-x'),
    ]);
    await linkStillWorks(alice);
  });

  test('a late FEDRESULT … JOIN 1 after the timeout is remembered as membership, with no reply', async () => {
    await linked();
    const bob = await user('bob');
    await channelsBecome(bob, 'RESULT CHANNELS bchan:server-x');
    bob.send('JOIN bchan:server-x');
    await link.expectLine('FEDJOIN bob@server-a bchan');
    await bob.expectLine('RESULT JOIN bchan:server-x 0', 2000);
    link.send('FEDRESULT bob JOIN bchan:server-x 1');
    await bob.expectSilence(200);
    await linkStillWorks(bob);
    expect(logged()).toEqual([]);
  });

  test('60,000 FEDNEW: the first limits.channelsPerPeer are kept, the rest refused in one warning, CHANNELS answered in full', async () => {
    // A small send queue: the CHANNELS reply alone is larger than it. The JOIN's answer comes in
    // behind whatever is left of the flood on the link, so it may wait longer than usual.
    await linked({ sendQueueBytes: 8192 }, 30_000);
    const alice = await user('alice');
    await channelsBecome(alice, 'RESULT CHANNELS bchan:server-x');
    link.write(Array.from({ length: 60_000 }, (_, index) => `FEDNEW c${index}\n`).join(''));
    await eventually(async () => {
      alice.send('CHANNELS');
      const names = (await alice.readLine()).slice('RESULT CHANNELS '.length).split(', ');
      if (names.length !== 1000) throw new Error(`${names.length} channels listed`);
      expect(names).toContain('c998:server-x');
      expect(names).not.toContain('c999:server-x');
    }, 20_000);
    await linkStillWorks(await joinedLater(alice));
    alice.send('CHANNELS');
    expect((await alice.readLine()).length).toBeGreaterThan(8192);
    expect(alice.isClosed).toBe(false);
    expect(logged()).toEqual([
      expect.stringContaining('refused FEDNEW from server-x: the peer has limits.channelsPerPeer (1000)'),
    ]);
  });

  async function joinedLater(client: LineClient): Promise<LineClient> {
    client.send('JOIN bchan:server-x');
    await link.expectLine(`FEDJOIN ${client.name}@server-a bchan`);
    link.send(`FEDRESULT ${client.name} JOIN bchan:server-x 1`);
    // Behind what is left of a flood on the link, on a busy machine, the answer can take seconds.
    await client.expectLine('RESULT JOIN bchan:server-x 1', 15_000);
    return client;
  }

  test('FEDCHANNELS over the cap keeps the first limits.channelsPerPeer names and logs it', async () => {
    await linked({ channelsPerPeer: 3 });
    const alice = await user('alice');
    link.send('FEDCHANNELS one, two, three, four, five');
    await channelsBecome(alice, 'RESULT CHANNELS one:server-x, three:server-x, two:server-x');
    expect(logged()).toEqual([expect.stringContaining('refused 2 channels of FEDCHANNELS from server-x')]);
  });

  test('garbage in FEDCHANNELS and FEDNEW names never reaches CHANNELS', async () => {
    await linked();
    const alice = await user('alice');
    const long = 'y'.repeat(300);
    link.send(`FEDCHANNELS good, a\x1b[31mb, bell\x07, ${long}, evil:other.host, x@y, ok,fine`);
    link.send('FEDNEW a, b');
    link.send('FEDNEW a,b');
    link.send('FEDNEW esc\x1b]0;title\x07');
    link.send(`FEDNEW ${long}`);
    link.send('FEDNEW sneaky:server-a');
    link.send('FEDNEW new');
    await channelsBecome(alice, 'RESULT CHANNELS fine:server-x, good:server-x, new:server-x, ok:server-x');
  });
});

describe.each(testDatabases())('liberal readings of lines from other implementations ($name)', (database) => {
  let server: TestServer;
  let link: LineClient;
  let others: Array<{ close(): void }> = [];

  afterEach(async () => {
    for (const each of others) each.close();
    others = [];
    await server?.stop();
  });

  afterAll(() => database.dispose());

  async function linkedWithMember(): Promise<LineClient> {
    const peer = await FakePeer.listen(FAKE);
    others.push(peer);
    server = await TestServer.start(await database.fresh(), {
      host: A,
      port: await freePort(A),
      hostname: 'server-a',
      federation: {
        peers: [{ host: FAKE, port: peer.port, hostname: 'server-x' }],
        acceptFrom: 'listed',
        requestTimeoutMs: 2000,
      },
    });
    link = await peer.nextLink();
    others.push(link);
    await link.expectLine('FEDERATE-OUT server-a');
    link.send('FEDERATE-CONFIRM server-x');
    await link.expectLine('FEDCHANNELS ');
    link.send('FEDCHANNELS bchan');
    const alice = await LineClient.connect(server.port, 'alice', A);
    others.push(alice);
    await alice.registerAndLogin('alice');
    await channelsBecome(alice, 'RESULT CHANNELS bchan:server-x');
    // A bare channel in FEDRESULT <user> JOIN <channel> 0|1 from server-x means <channel>:server-x.
    alice.send('JOIN bchan:server-x');
    await link.expectLine('FEDJOIN alice@server-a bchan');
    link.send('FEDRESULT alice JOIN bchan 1');
    await alice.expectLine('RESULT JOIN bchan:server-x 1');
    return alice;
  }

  test('a bare <channel> in FEDRECV from server-x means <channel>:server-x', async () => {
    const alice = await linkedWithMember();
    link.send('FEDRECV alice zed@server-x bchan hello');
    await alice.expectLine('RECV zed@server-x bchan:server-x hello');
  });

  test('a <touser> written name@<our hostname> means our user name', async () => {
    const alice = await linkedWithMember();
    link.send('FEDRECV alice@server-a zed@server-x bchan:server-x hello');
    await alice.expectLine('RECV zed@server-x bchan:server-x hello');
    link.send('FEDRECV alice@server-b zed@server-x bchan:server-x not ours');
    await alice.expectSilence(200);
  });

  test('FEDRESULT <user> SAY <channel> 1 settles the SAY silently; … 0 gives RESULT SAY 0', async () => {
    const alice = await linkedWithMember();
    alice.send('SAY bchan:server-x one');
    await link.expectLine('FEDSAY alice@server-a bchan one');
    link.send('FEDRESULT alice SAY bchan:server-x 1 delivered');
    await alice.expectSilence(200);
    alice.send('SAY bchan:server-x two');
    await link.expectLine('FEDSAY alice@server-a bchan two');
    link.send('FEDRESULT alice SAY bchan 0 not a member');
    await alice.expectLine('RESULT SAY 0');
  });
});
