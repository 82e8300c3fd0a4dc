import { Logger } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerSettings } from '../../src/config/settings';
import { testDatabases } from './harness/databases';
import { channelsBecome, eventually, FakePeer, freePort, startFederated } from './harness/federation';
import { delay, LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';
import { makeCertificate, TestCertificate } from './harness/tls-certificates';

// Each server has its own loopback address, so a peer is recognised by the address it connects from.
const A = '127.0.0.2';
const B = '127.0.0.3';
const FAKE = '127.0.0.9';
const SECRET = 'peer-secret-0123456789abcdef';

const database = testDatabases()[0];
let servers: TestServer[] = [];
let clients: LineClient[] = [];
let fakes: FakePeer[] = [];
let logged: string[] = [];

beforeEach(() => {
  logged = [];
  for (const level of ['warn', 'log'] as const) {
    jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void logged.push(String(args[0])));
  }
});

afterEach(async () => {
  jest.restoreAllMocks();
  for (const each of clients) each.close();
  for (const each of fakes) each.close();
  await Promise.all(servers.map((server) => server.stop()));
  clients = [];
  fakes = [];
  servers = [];
});

const certificates = mkdtempSync(join(tmpdir(), 'chat-link-tls-'));

afterAll(() => {
  rmSync(certificates, { recursive: true, force: true });
  return database.dispose();
});

async function start(address: string, hostname: string, peers: PeerSettings[], port?: number): Promise<TestServer> {
  const server = await startFederated(database, { address, port: port ?? (await freePort(address)), hostname, peers });
  servers.push(server);
  hosts.set(server, address);
  return server;
}

async function fake(): Promise<FakePeer> {
  const peer = await FakePeer.listen(FAKE);
  fakes.push(peer);
  return peer;
}

/** Which loopback address each server listens on. */
const hosts = new Map<TestServer, string>();

async function connect(server: TestServer, name: string, from: string): Promise<LineClient> {
  const client = await LineClient.connect(server.port, name, hosts.get(server), from);
  clients.push(client);
  return client;
}

async function loggedIn(server: TestServer, user: string): Promise<LineClient> {
  const client = await connect(server, user, hosts.get(server) as string);
  await client.registerAndLogin(user);
  return client;
}

async function run(client: LineClient, line: string, reply: string): Promise<void> {
  client.send(line);
  await client.expectLine(reply);
}

/** Waits until a log line containing `text` was written. */
async function loggedLine(text: string): Promise<void> {
  await eventually(
    () => (logged.some((line) => line.includes(text)) ? Promise.resolve() : Promise.reject(new Error(`not logged: ${text}`))),
    10000,
    'the log line',
  );
}

/** The proof as docs/PROTOCOL.md §6.2 defines it, computed here independently of the server. */
function proof(
  role: 'confirm' | 'auth',
  dialer: string,
  acceptor: string,
  nonces: [string, string],
  caps: [string, string],
): string {
  return createHmac('sha256', SECRET)
    .update(['chat-link-v1', role, dialer, acceptor, ...nonces, ...caps].join('\n'))
    .digest('hex');
}

/** `key=value` words of a handshake line, after its verb and hostname. */
function params(line: string): Map<string, string> {
  return new Map(
    line
      .split(' ')
      .slice(2)
      .map((word) => word.split('=') as [string, string]),
  );
}

/** server-b with a room bea is in, listing `peers`. */
async function channelServer(peers: PeerSettings[]): Promise<{ server: TestServer; bea: LineClient }> {
  const server = await start(B, 'server-b', peers);
  const bea = await loggedIn(server, 'bea');
  await run(bea, 'CREATE room', 'RESULT CREATE room 1');
  await run(bea, 'JOIN room', 'RESULT JOIN room 1');
  return { server, bea };
}

describe('who a peer is comes from the configuration (docs/PROTOCOL.md §6.1)', () => {
  test('a link claiming this server’s name, another peer’s, an unknown or an invalid name is refused, logged and closed; the real link keeps working', async () => {
    const [portA, portB] = [await freePort(A), await freePort(B)];
    const { bea } = await channelServerAt(portB, [
      { host: A, port: portA, hostname: 'server-a' },
      { host: FAKE, port: 1, hostname: 'server-x' },
    ]);
    const serverA = await start(A, 'server-a', [{ host: B, port: portB, hostname: 'server-b' }], portA);
    const alice = await loggedIn(serverA, 'alice');
    await channelsBecome(alice, 'RESULT CHANNELS room:server-b');
    await run(alice, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1');

    const claims: Array<[string, string]> = [
      ['server-b', "it claimed this server's own name server-b"],
      ['server-a', 'server-a is configured at another address'],
      ['mallory.example', '"mallory.example" is not the name of a configured peer'],
      [`${'x'.repeat(300)}`, 'an invalid hostname'],
      ['evil\u001b[2J\u0007', 'an invalid hostname'],
    ];
    for (const [claim, reason] of claims) {
      const intruder = await LineClient.connect(portB, 'intruder', B, FAKE);
      clients.push(intruder);
      intruder.send(`FEDERATE-OUT ${claim}`);
      await intruder.expectClosed();
      expect(intruder.unread()).toEqual([]);
      await loggedLine(`refused a link from ${FAKE}: ${reason}`);
    }
    alice.send('SAY room:server-b still linked');
    await bea.expectLine('RECV alice@server-a room still linked');
    await alice.expectLine('RECV alice room:server-b still linked');
  });

  test('200 short-lived links under made-up names leave no channel behind', async () => {
    const { server, bea } = await channelServer([{ host: FAKE, port: 1, hostname: 'server-x' }]);
    for (let index = 0; index < 200; index++) {
      const intruder = await connect(server, `intruder${index}`, FAKE);
      intruder.send(`FEDERATE-OUT made-up-${index}.example`);
      intruder.send(`FEDCHANNELS a${index}, b${index}`);
      intruder.send(`FEDNEW c${index}`);
      await intruder.expectClosed();
    }
    await run(bea, 'CHANNELS', 'RESULT CHANNELS room');
    await loggedLine('"made-up-199.example" is not the name of a configured peer');
  });

  test('a peer this server dialed that confirms under another name is refused, then accepted when it gives its configured name', async () => {
    const peer = await fake();
    await start(A, 'server-a', [{ host: FAKE, port: peer.port, hostname: 'server-x' }]);
    const first = await peer.nextLink();
    clients.push(first);
    await first.expectLine('FEDERATE-OUT server-a');
    first.send('FEDERATE-CONFIRM mallory.example');
    await first.expectClosed();
    await loggedLine('it announced "mallory.example", but the configuration names it server-x');
    const second = await peer.nextLink();
    clients.push(second);
    await second.expectLine('FEDERATE-OUT server-a');
    second.send('FEDERATE-CONFIRM server-x');
    await second.expectLine('FEDCHANNELS ');
  });

  test('a peer listed by its address alone holds that address, or its bare host, as its name', async () => {
    const { server } = await channelServer([{ host: FAKE, port: 7001 }]);
    const other = await connect(server, 'named', FAKE);
    other.send('FEDERATE-OUT server2.com');
    await other.expectClosed();
    await loggedLine('"server2.com" is not the name of a configured peer');
    for (const name of [`${FAKE}:7001`, FAKE]) {
      const link = await connect(server, 'listed', FAKE);
      link.send(`FEDERATE-OUT ${name}`);
      await link.expectLine('FEDERATE-CONFIRM server-b');
      await link.expectLine('FEDCHANNELS room');
      link.send(`FEDJOIN xena@${name} room`);
      await link.expectLine('FEDRESULT xena JOIN room:server-b 1');
    }
  });

  test('one live link per peer: a plain peer linking again replaces its old link', async () => {
    const { server, bea } = await channelServer([{ host: FAKE, port: 1, hostname: 'server-x' }]);
    const first = await connect(server, 'first', FAKE);
    first.send('FEDERATE-OUT server-x');
    await first.expectLine('FEDERATE-CONFIRM server-b');
    const second = await connect(server, 'second', FAKE);
    second.send('FEDERATE-OUT server-x');
    await second.expectLine('FEDERATE-CONFIRM server-b');
    await second.expectLine('FEDCHANNELS room');
    await first.expectClosed();
    second.send('FEDJOIN xena@server-x room');
    await second.expectLine('FEDRESULT xena JOIN room:server-b 1');
    second.send('FEDSAY xena@server-x room from the newer link');
    await bea.expectLine('RECV xena@server-x room from the newer link');
  });
});

describe('the authenticated handshake (docs/PROTOCOL.md §6.2)', () => {
  test('two servers with the same secret link and talk; each logs the link as proven', async () => {
    const [portA, portB] = [await freePort(A), await freePort(B)];
    const { bea } = await channelServerAt(portB, [{ host: A, port: portA, hostname: 'server-a', secret: SECRET }]);
    const serverA = await start(A, 'server-a', [{ host: B, port: portB, hostname: 'server-b', secret: SECRET }], portA);
    const alice = await loggedIn(serverA, 'alice');
    await channelsBecome(alice, 'RESULT CHANNELS room:server-b');
    await run(alice, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1');
    alice.send('SAY room:server-b signed in');
    await bea.expectLine('RECV alice@server-a room signed in');
    await loggedLine('link to server-b is up');
    expect(logged.filter((line) => /link to server-[ab] is up/.test(line)).every((line) => line.includes('proven'))).toBe(true);
  });

  test('the accepting side: its FEDERATE-CONFIRM carries a fresh nonce and its proof, and FEDAUTH with the dialer’s proof completes the link', async () => {
    const { server } = await channelServer([{ host: FAKE, port: 1, hostname: 'server-x', secret: SECRET }]);
    const link = await connect(server, 'server-x', FAKE);
    const dialerNonce = randomBytes(16).toString('hex');
    link.send(`FEDERATE-OUT server-x ext=1 caps=cast nonce=${dialerNonce}`);
    const confirm = await link.readLine();
    expect(confirm).toMatch(/^FEDERATE-CONFIRM server-b ext=1 caps=cast nonce=[0-9a-f]{32} proof=[0-9a-f]{64}$/);
    expect(confirm).not.toContain(SECRET);
    const words = params(confirm);
    const nonces: [string, string] = [dialerNonce, words.get('nonce') as string];
    expect(words.get('proof')).toBe(proof('confirm', 'server-x', 'server-b', nonces, ['cast', 'cast']));
    link.send(`FEDAUTH ${proof('auth', 'server-x', 'server-b', nonces, ['cast', 'cast'])}`);
    await link.expectLine('FEDCHANNELS room');
    link.send('FEDJOIN xena@server-x room');
    await link.expectLine('FEDRESULT xena JOIN room:server-b 1');
  });

  test('the dialing side: it offers a nonce, checks the acceptor’s proof and answers with its own FEDAUTH', async () => {
    const peer = await fake();
    await start(A, 'server-a', [{ host: FAKE, port: peer.port, hostname: 'server-x', secret: SECRET }]);
    const link = await peer.nextLink();
    clients.push(link);
    const out = await link.readLine();
    expect(out).toMatch(/^FEDERATE-OUT server-a ext=1 caps=cast nonce=[0-9a-f]{32}$/);
    const nonces: [string, string] = [params(out).get('nonce') as string, randomBytes(16).toString('hex')];
    const mine = proof('confirm', 'server-a', 'server-x', nonces, ['cast', 'cast']);
    link.send(`FEDERATE-CONFIRM server-x ext=1 caps=cast nonce=${nonces[1]} proof=${mine}`);
    await link.expectLine(`FEDAUTH ${proof('auth', 'server-a', 'server-x', nonces, ['cast', 'cast'])}`);
    await link.expectLine('FEDCHANNELS ');
  });

  test('a wrong secret: no link; each side refuses the other and says why', async () => {
    const [portA, portB] = [await freePort(A), await freePort(B)];
    await channelServerAt(portB, [{ host: A, port: portA, hostname: 'server-a', secret: `${SECRET}-other` }]);
    const serverA = await start(A, 'server-a', [{ host: B, port: portB, hostname: 'server-b', secret: SECRET }], portA);
    await loggedLine(`refused the link to ${B}:${portB}: server-b did not prove the shared secret`);
    await loggedLine(`refused the link to ${A}:${portA}: server-a did not prove the shared secret`);
    const alice = await loggedIn(serverA, 'alice');
    await delay(1500);
    await run(alice, 'CHANNELS', 'RESULT CHANNELS ');
    expect(logged.filter((line) => line.includes(' is up ('))).toEqual([]);
  });

  test('a replayed handshake is refused on either side', async () => {
    const { server } = await channelServer([{ host: FAKE, port: 1, hostname: 'server-x', secret: SECRET }]);
    // A genuine handshake, recorded.
    const genuine = await connect(server, 'genuine', FAKE);
    const dialerNonce = randomBytes(16).toString('hex');
    const out = `FEDERATE-OUT server-x ext=1 caps=cast nonce=${dialerNonce}`;
    genuine.send(out);
    const confirm = await genuine.readLine();
    const auth = `FEDAUTH ${proof('auth', 'server-x', 'server-b', [dialerNonce, params(confirm).get('nonce') as string], ['cast', 'cast'])}`;
    genuine.send(auth);
    await genuine.expectLine('FEDCHANNELS room');
    // Its lines sent again on a new connection: the accepting side's nonce is new, so the proof is stale.
    const replay = await connect(server, 'replay', FAKE);
    replay.send(out);
    const challenge = await replay.readLine();
    expect(params(challenge).get('nonce')).not.toBe(params(confirm).get('nonce'));
    replay.send(auth);
    await replay.expectClosed();
    await loggedLine('server-x did not prove the shared secret');
    genuine.send('FEDJOIN xena@server-x room');
    await genuine.expectLine('FEDRESULT xena JOIN room:server-b 1');

    // The dialing side: a recorded FEDERATE-CONFIRM answers an old nonce.
    const peer = await fake();
    await start(A, 'server-a', [{ host: FAKE, port: peer.port, hostname: 'server-x', secret: SECRET }]);
    const first = await peer.nextLink();
    clients.push(first);
    const offered = await first.readLine();
    const nonces: [string, string] = [params(offered).get('nonce') as string, randomBytes(16).toString('hex')];
    const recorded = `FEDERATE-CONFIRM server-x ext=1 caps=cast nonce=${nonces[1]} proof=${proof('confirm', 'server-a', 'server-x', nonces, ['cast', 'cast'])}`;
    first.send(recorded);
    await first.expectLine(`FEDAUTH ${proof('auth', 'server-a', 'server-x', nonces, ['cast', 'cast'])}`);
    first.close();
    const second = await peer.nextLink();
    clients.push(second);
    expect(params(await second.readLine()).get('nonce')).not.toBe(nonces[0]);
    second.send(recorded);
    await second.expectClosed();
    await loggedLine(`refused the link to ${FAKE}:${peer.port}: server-x did not prove the shared secret`);
  });

  test('a secret on one side only: no link, and the side with the secret says why', async () => {
    const [portA, portB] = [await freePort(A), await freePort(B)];
    const { bea } = await channelServerAt(portB, [{ host: A, port: portA, hostname: 'server-a' }]);
    const serverA = await start(A, 'server-a', [{ host: B, port: portB, hostname: 'server-b', secret: SECRET }], portA);
    // server-a dialed: server-b answered without a proof.
    await loggedLine(`refused the link to ${B}:${portB}: server-b did not prove the shared secret`);
    // server-b dialed: its plain FEDERATE-OUT offered none.
    await loggedLine(
      `refused a link from ${B}: server-b is configured with a shared secret and its FEDERATE-OUT offered no proof`,
    );
    const alice = await loggedIn(serverA, 'alice');
    await delay(1000);
    await run(alice, 'CHANNELS', 'RESULT CHANNELS ');
    await run(bea, 'CHANNELS', 'RESULT CHANNELS room');
  });

  test('with a secret configured, a newcomer without proof cannot displace the proven link', async () => {
    const { server } = await channelServer([{ host: FAKE, port: 1, hostname: 'server-x', secret: SECRET }]);
    const proven = await connect(server, 'proven', FAKE);
    const dialerNonce = randomBytes(16).toString('hex');
    proven.send(`FEDERATE-OUT server-x ext=1 nonce=${dialerNonce}`);
    const confirm = await proven.readLine();
    expect(confirm).toMatch(/^FEDERATE-CONFIRM server-b ext=1 nonce=[0-9a-f]{32} proof=[0-9a-f]{64}$/);
    proven.send(
      `FEDAUTH ${proof('auth', 'server-x', 'server-b', [dialerNonce, params(confirm).get('nonce') as string], ['', ''])}`,
    );
    await proven.expectLine('FEDCHANNELS room');
    const intruder = await connect(server, 'intruder', FAKE);
    intruder.send('FEDERATE-OUT server-x');
    await intruder.expectClosed();
    await loggedLine('server-x is configured with a shared secret and its FEDERATE-OUT offered no proof');
    proven.send('FEDJOIN xena@server-x room');
    await proven.expectLine('FEDRESULT xena JOIN room:server-b 1');
  });
});

/** server-b on a port chosen beforehand (its peers must know it), with a room bea is in. */
async function channelServerAt(port: number, peers: PeerSettings[]): Promise<{ server: TestServer; bea: LineClient }> {
  const server = await start(B, 'server-b', peers, port);
  const bea = await loggedIn(server, 'bea');
  await run(bea, 'CREATE room', 'RESULT CREATE room 1');
  await run(bea, 'JOIN room', 'RESULT JOIN room 1');
  return { server, bea };
}

describe('TLS links with pinned certificates (docs/PROTOCOL.md §6.3)', () => {
  /** A server listening for plain TCP and for TLS, with its own certificate, linked to `peers`. */
  async function startTls(
    address: string,
    hostname: string,
    certificate: TestCertificate,
    ports: [number, number],
    peers: PeerSettings[],
  ) {
    const server = await TestServer.start(await database.fresh(), {
      host: address,
      port: ports[0],
      hostname,
      tls: { certFile: certificate.certFile, keyFile: certificate.keyFile, port: ports[1] },
      federation: { peers, acceptFrom: 'listed', requestTimeoutMs: 5000 },
    });
    servers.push(server);
    hosts.set(server, address);
    return server;
  }

  test('two servers pinning each other’s certificate link over TLS; a wrong fingerprint or plain TCP is refused and logged', async () => {
    const [certA, certB, stranger] = await Promise.all(
      ['server-a', 'server-b', 'stranger'].map((name) => makeCertificate(certificates, name)),
    );
    const portsA: [number, number] = [await freePort(A), await freePort(A)];
    const portsB: [number, number] = [await freePort(B), await freePort(B)];
    const serverB = await startTls(B, 'server-b', certB, portsB, [
      { host: A, port: portsA[1], hostname: 'server-a', tls: { fingerprint: certA.fingerprint } },
    ]);
    const bea = await loggedIn(serverB, 'bea');
    await run(bea, 'CREATE room', 'RESULT CREATE room 1');
    await run(bea, 'JOIN room', 'RESULT JOIN room 1');
    const serverA = await startTls(A, 'server-a', certA, portsA, [
      { host: B, port: portsB[1], hostname: 'server-b', tls: { fingerprint: certB.fingerprint } },
    ]);
    const alice = await loggedIn(serverA, 'alice');
    await channelsBecome(alice, 'RESULT CHANNELS room:server-b');
    await run(alice, 'JOIN room:server-b', 'RESULT JOIN room:server-b 1');
    alice.send('SAY room:server-b over TLS');
    await bea.expectLine('RECV alice@server-a room over TLS');
    await loggedLine('link to server-b is up');
    expect(logged.find((line) => line.startsWith('link to server-b is up'))).toContain('proven, TLS');

    // server-b claimed over plain TCP from its own address: refused, since server-a pins its TLS certificate.
    const plain = await connect(serverA, 'plain', B);
    plain.send('FEDERATE-OUT server-b');
    await plain.expectClosed();
    await loggedLine(
      `refused a link from ${B}: server-b must link over TLS with certificate ${certB.fingerprint}; got plain TCP`,
    );

    // A server that pins the wrong certificate for its peer neither dials it nor accepts it.
    const portsC: [number, number] = [await freePort('127.0.0.4'), await freePort('127.0.0.4')];
    await startTls('127.0.0.4', 'server-c', stranger, portsC, [
      { host: B, port: portsB[1], hostname: 'server-b', tls: { fingerprint: certA.fingerprint } },
    ]);
    await loggedLine(
      `cannot link to ${B}:${portsB[1]}: certificate fingerprint mismatch: expected ${certA.fingerprint}, got ${certB.fingerprint}`,
    );
  });
});
