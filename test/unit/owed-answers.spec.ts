import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { Settings } from '../../src/config/settings';
import { ChannelEvents } from '../../src/modules/channels/channel-events';
import { ChannelsService } from '../../src/modules/channels/channels.service';
import { Federation } from '../../src/modules/federation/federation.service';
import { PeerLinks } from '../../src/modules/federation/peer-links';
import { LocalPresence } from '../../src/modules/presence/presence';
import { Connection } from '../../src/transport/connection';
import { TEST_CONNECTION_OPTIONS } from './support/connection-options';
import { Frame } from '../../src/transport/line-framer';
import { Reply, serialize } from '../../src/transport/replies';
import { Session } from '../../src/transport/session';

interface Owed {
  readonly promise: Promise<void>;
  settle(): void;
  fail(): void;
}

function owed(): Owed {
  let settle!: () => void;
  let fail!: () => void;
  const promise = new Promise<void>((resolve, reject) => {
    settle = resolve;
    fail = () => reject(new Error('refused'));
  });
  return { promise, settle, fail };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Connection: answers owed after a command was handled', () => {
  let server: Server;
  let client: Socket;
  let serverSide: Socket;
  let connection: Connection;
  let received: string;
  /** What each command line does when handled: registers a hold, by default. */
  let onCommand: (connection: Connection, line: string) => void;

  beforeEach(async () => {
    received = '';
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer({ allowHalfOpen: true, noDelay: true }, resolve);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => (received += chunk));
    client.on('error', () => undefined);
    serverSide = await accepted;
    const dispatch = async (session: Connection, frame: Frame): Promise<void> => {
      if (frame.kind === 'line') onCommand(session, frame.bytes.toString('utf8'));
    };
    connection = new Connection('c1', serverSide, TEST_CONNECTION_OPTIONS, { dispatch, closed: async () => undefined });
  });

  afterEach(async () => {
    client.destroy();
    serverSide.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Whether the server has sent its FIN within `ms`. */
  async function finWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const fin = new Promise<boolean>((resolve) => client.once('end', () => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([fin, late]).finally(() => clearTimeout(timer));
  }

  it('after a half-close, sends its FIN only once the owed answer is delivered', async () => {
    const answer = owed();
    onCommand = (session) => session.awaitSettled(answer.promise);
    client.end('SAY room:elsewhere hi\n');
    expect(await finWithin(200)).toBe(false);
    connection.deliver('RECV bob room:elsewhere hi\n');
    answer.settle();
    expect(await finWithin(2000)).toBe(true);
    expect(received).toBe('RECV bob room:elsewhere hi\n');
  });

  it('waits for every hold, and a refused one releases it as well', async () => {
    const first = owed();
    const second = owed();
    const holds = [first, second];
    onCommand = (session) => session.awaitSettled((holds.shift() as Owed).promise);
    client.end('SAY a:elsewhere one\nSAY b:elsewhere two\n');
    await delay(50);
    first.fail();
    expect(await finWithin(200)).toBe(false);
    second.settle();
    expect(await finWithin(2000)).toBe(true);
  });

  it('without a hold, ends right after the last command', async () => {
    onCommand = () => undefined;
    client.end('CHANNELS\n');
    expect(await finWithin(2000)).toBe(true);
  });

  it("a later command's reply waits for the answer owed to an earlier one, so outcomes arrive in command order", async () => {
    const echo = owed();
    onCommand = (session, line) => {
      if (line === 'SAY load one') session.awaitSettled(echo.promise);
      else void session.answer(Reply.result('SAY', false));
    };
    client.write('SAY load one\nSAY load two\n');
    await delay(100);
    expect(received).toBe('');
    connection.deliver('RECV alice load one\n');
    echo.settle();
    await delay(100);
    expect(received).toBe('RECV alice load one\nRESULT SAY 0\n');
  });

  it('a reply waits for no hold when none is owed', async () => {
    onCommand = (session) => void session.answer(Reply.result('SAY', false));
    client.write('SAY load two\n');
    await delay(100);
    expect(received).toBe('RESULT SAY 0\n');
  });

  it('a client gone at once (a FIN, like a half-close) is closed once the hold settles, and later holds are ignored', async () => {
    const answer = owed();
    onCommand = (session) => session.awaitSettled(answer.promise);
    const serverClosed = new Promise((resolve) => serverSide.once('close', resolve));
    client.write('SAY room:elsewhere hi\n');
    await delay(50);
    client.destroy();
    await delay(50);
    expect(serverSide.destroyed).toBe(false);
    answer.settle();
    await serverClosed;
    connection.awaitSettled(new Promise<void>(() => undefined));
    await expect(connection.shutdown(1000)).resolves.toBeUndefined();
  });

  it('shutdown delivers an answer that settles within the grace, then closes', async () => {
    const answer = owed();
    onCommand = (session) => session.awaitSettled(answer.promise);
    client.write('SAY room:elsewhere hi\n');
    await delay(50);
    const shutdown = connection.shutdown(2000);
    expect(await finWithin(100)).toBe(false);
    connection.deliver('RESULT SAY 0\n');
    answer.settle();
    expect(await finWithin(2000)).toBe(true);
    client.end();
    await shutdown;
    expect(received).toBe('RESULT SAY 0\n');
  });

  it('shutdown does not wait past its grace for an answer that never comes', async () => {
    onCommand = (session) => session.awaitSettled(new Promise<void>(() => undefined));
    client.write('SAY room:elsewhere hi\n');
    await delay(50);
    const started = Date.now();
    await connection.shutdown(200);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1500);
    expect(serverSide.destroyed).toBe(true);
  });
});

describe('Federation: a remote SAY holds its sender until its outcome', () => {
  const REQUEST_TIMEOUT_MS = 300;
  let federation: Federation;
  let presence: LocalPresence;
  let linkLines: string[];
  let link: Session;
  let linkUp: boolean;
  let bob: Session;
  let held: Promise<unknown>[];
  let lines: string[];

  function session(id: string, role: Session['role'], deliver: (line: string) => void): Session {
    return {
      id,
      remoteAddress: '127.0.0.1',
      role,
      send: (reply) => deliver(serialize(reply)),
      close: () => undefined,
      awaitSettled: (promise) => void held.push(promise),
    };
  }

  /** Whether the hold registered at `index` has settled by now. */
  async function settled(index: number): Promise<boolean> {
    const marker = Symbol('pending');
    return (await Promise.race([held[index], Promise.resolve(marker)])) !== marker;
  }

  beforeEach(async () => {
    jest.useFakeTimers();
    linkLines = [];
    lines = [];
    held = [];
    linkUp = true;
    link = session('d1', 'link', (line) => linkLines.push(line));
    link.peer = 'server2.com';
    const links = {
      hostname: 'server1.com',
      linkTo: (host: string) => (linkUp && host === 'server2.com' ? link : undefined),
      relayLinkTo: (host: string) => (linkUp && host === 'server2.com' ? link : undefined),
      listen: () => undefined,
    } as unknown as PeerLinks;
    presence = new LocalPresence();
    const settings = { hostname: 'server1.com', federation: { requestTimeoutMs: REQUEST_TIMEOUT_MS } } as Settings;
    const channels = { useRemoteChannels: () => undefined, localNames: () => [] } as unknown as ChannelsService;
    federation = new Federation(links, presence, settings, channels, new ChannelEvents(), null);
    await federation.onModuleInit();
    bob = session('c1', 'client', (line) => lines.push(line));
    await presence.attach(bob, 'bob');
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  const room = { name: 'room', host: 'server2.com' };

  it('is settled by the sender’s own FEDRECV, and only by the matching one', async () => {
    expect(federation.say('bob', room, 'hi')).toBe(true);
    expect(linkLines).toEqual(['FEDSAY bob@server1.com room hi\n']);
    expect(held).toHaveLength(1);
    federation.peerRecv(link, 'bob', 'alice@server2.com', 'room:server2.com', 'hi');
    federation.peerRecv(link, 'bob', 'bob', 'room:server2.com', 'other message');
    federation.peerRecv(link, 'bob', 'bob', 'lobby:server2.com', 'hi');
    expect(await settled(0)).toBe(false);
    federation.peerRecv(link, 'bob', 'bob', 'room:server2.com', 'hi');
    expect(await settled(0)).toBe(true);
    expect(lines.at(-1)).toBe('RECV bob room:server2.com hi\n');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('is settled by FEDRESULT <user> SAY 0, after RESULT SAY 0 is delivered', async () => {
    expect(federation.say('bob', room, 'one')).toBe(true);
    expect(federation.say('bob', room, 'two')).toBe(true);
    federation.peerResult(link, 'bob', 'SAY', '0');
    expect(lines).toEqual(['RESULT SAY 0\n']);
    expect(await settled(0)).toBe(true);
    expect(await settled(1)).toBe(false);
    federation.peerResult(link, 'bob', 'SAY', '0');
    expect(await settled(1)).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('is settled, with nothing said, when the link goes down', async () => {
    expect(federation.say('bob', room, 'hi')).toBe(true);
    federation.linkDown('server3.com');
    expect(await settled(0)).toBe(false);
    federation.linkDown('server2.com');
    expect(await settled(0)).toBe(true);
    expect(lines).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('is settled, with nothing said, after federation.requestTimeoutMs', async () => {
    expect(federation.say('bob', room, 'hi')).toBe(true);
    jest.advanceTimersByTime(REQUEST_TIMEOUT_MS - 1);
    expect(await settled(0)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await settled(0)).toBe(true);
    expect(lines).toEqual([]);
  });

  it('leaves no timer behind when the sender’s connection closes', async () => {
    expect(federation.say('bob', room, 'one')).toBe(true);
    expect(federation.say('bob', room, 'two')).toBe(true);
    expect(jest.getTimerCount()).toBe(2);
    federation.sessionClosed(bob);
    await presence.detach(bob);
    expect(jest.getTimerCount()).toBe(0);
    expect(await settled(0)).toBe(true);
    expect(await settled(1)).toBe(true);
  });

  it('holds nothing when the link is down (the SAY fails at once)', () => {
    linkUp = false;
    expect(federation.say('bob', room, 'hi')).toBe(false);
    expect(held).toHaveLength(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
