import { Socket } from 'node:net';
import { Connection } from '../../src/transport/connection';
import { Frame } from '../../src/transport/line-framer';
import { TEST_CONNECTION_OPTIONS } from './support/connection-options';
import { openSocketPair, SocketPair } from './support/socket-pair';

/** What an idle logged-in connection keeps: no login deadline, no storage left over from its commands. */
describe('Connection at rest', () => {
  let pair: SocketPair;
  let client: Socket;
  let serverSide: Socket;
  const handled: string[] = [];

  beforeEach(async () => {
    handled.length = 0;
    pair = await openSocketPair();
    ({ client, serverSide } = pair);
  });

  afterEach(async () => {
    jest.useRealTimers();
    await pair.close();
  });

  function open(unauthenticatedIdleMs: number, idleFlushMs = 0): Connection {
    return new Connection(
      'c1',
      serverSide,
      { ...TEST_CONNECTION_OPTIONS, unauthenticatedIdleMs, idleFlushMs },
      {
        dispatch: async (_connection, frame: Frame) => {
          if (frame.kind === 'line') handled.push(frame.bytes.toString());
        },
        closed: async () => undefined,
      },
    );
  }

  it('drops its login deadline once a user logs in', () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const connection = open(1000);
    expect(jest.getTimerCount()).toBe(1);
    connection.user = 'alice';
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(2000);
    expect(serverSide.destroyed).toBe(false);
    expect(connection.user).toBe('alice');
  });

  it('is still dropped at the deadline when nobody logs in', () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const connection = open(1000);
    jest.advanceTimersByTime(1000);
    expect(serverSide.destroyed).toBe(true);
    expect(connection.closeReason).toBe('not logged in within the time allowed');
  });

  it('handles every line it was sent and then shuts down cleanly', async () => {
    const connection = open(60_000);
    client.write('ONE\nTWO\nTHREE\n');
    const deadline = Date.now() + 5000;
    while (handled.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(handled).toEqual(['ONE', 'TWO', 'THREE']);
    client.on('end', () => client.end());
    await connection.shutdown(1000);
    expect(serverSide.destroyed).toBe(true);
  });

  async function handledBecomes(expected: string[]): Promise<void> {
    const deadline = Date.now() + 5000;
    while (handled.length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(handled).toEqual(expected);
  }

  const framerOf = (connection: Connection) => (connection as unknown as { framer?: object }).framer;

  it('keeps a line framer only while a line is incomplete, and frames a line sent in parts', async () => {
    const connection = open(60_000);
    client.write('ONE\nTW');
    await handledBecomes(['ONE']);
    expect(framerOf(connection)).toBeDefined();
    client.write('O\nTHR');
    client.write('EE\n');
    await handledBecomes(['ONE', 'TWO', 'THREE']);
    expect(framerOf(connection)).toBeUndefined();
  });

  it('remembers that its peer ends lines with LF once it keeps no framer: a partial line is never flushed', async () => {
    open(60_000, 50);
    client.write('ONE\n');
    await handledBecomes(['ONE']);
    client.write('TW');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(handled).toEqual(['ONE']);
    client.write('O\n');
    await handledBecomes(['ONE', 'TWO']);
  });

  it('flushes the partial line of a peer that never sent an LF after the idle time', async () => {
    open(60_000, 50);
    client.write('ONE');
    await handledBecomes(['ONE']);
    client.write('TWO');
    await handledBecomes(['ONE', 'TWO']);
  });

  it("shares its socket's listeners with every other connection, and still tells its own socket's close apart", async () => {
    const other = await openSocketPair();
    try {
      const closedAt: string[] = [];
      const handlers = {
        dispatch: async () => undefined,
        closed: async () => undefined,
        socketClosed: (c: Connection) => void closedAt.push(c.id),
      };
      new Connection('c1', serverSide, TEST_CONNECTION_OPTIONS, handlers);
      new Connection('c2', other.serverSide, TEST_CONNECTION_OPTIONS, handlers);
      for (const event of ['data', 'end', 'close', 'error']) {
        expect(serverSide.listeners(event)).toHaveLength(event === 'end' ? other.serverSide.listeners(event).length : 1);
        expect(serverSide.listeners(event)).toEqual(other.serverSide.listeners(event));
      }
      other.client.destroy();
      const deadline = Date.now() + 5000;
      while (closedAt.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(closedAt).toEqual(['c2']);
    } finally {
      await other.close();
    }
  });
});
