import { Socket } from 'node:net';
import { Connection } from '../../src/transport/connection';
import { TEST_CONNECTION_OPTIONS } from './support/connection-options';
import { openSocketPair, SocketPair } from './support/socket-pair';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('Connection writes', () => {
  let pair: SocketPair;
  let client: Socket;
  let connection: Connection;
  let serverSide: Socket;
  const chunks: string[] = [];

  beforeEach(async () => {
    chunks.length = 0;
    pair = await openSocketPair();
    ({ client, serverSide } = pair);
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => chunks.push(chunk));
    connection = new Connection('c1', serverSide, TEST_CONNECTION_OPTIONS, {
      dispatch: async () => undefined,
      closed: async () => undefined,
    });
  });

  afterEach(() => pair.close());

  async function received(bytes: number): Promise<string> {
    const deadline = Date.now() + 5000;
    while (chunks.join('').length < bytes && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    return chunks.join('');
  }

  it('holds the lines of one turn and sends them together, in order, when the turn ends', async () => {
    const shared = 'RECV bob room hello\n';
    const write = jest.spyOn(serverSide, 'write');
    connection.deliver('RESULT SAY 0\n');
    connection.deliver(shared);
    connection.deliver(shared);
    expect(write).not.toHaveBeenCalled();
    await nextTurn();
    expect(write).toHaveBeenCalledTimes(1);
    expect(write).toHaveBeenCalledWith('RESULT SAY 0\nRECV bob room hello\nRECV bob room hello\n');
    const text = await received(13 + 2 * shared.length);
    expect(text).toBe('RESULT SAY 0\nRECV bob room hello\nRECV bob room hello\n');
    expect(chunks).toHaveLength(1);
  });

  it("writes a turn's lone line as the very string given, which many connections share", async () => {
    const shared = 'RECV bob room hello\n';
    const write = jest.spyOn(serverSide, 'write');
    connection.deliver(shared);
    await nextTurn();
    expect(write).toHaveBeenCalledWith(shared);
    expect(await received(shared.length)).toBe('RECV bob room hello\n');
  });

  it('sends lines that are not ASCII whole, and counts their bytes, not their characters', async () => {
    const line = `RECV bob room ${'é'.repeat(3000)}\n`;
    connection.deliver(line);
    connection.deliver(line);
    await nextTurn();
    expect(await received(2 * line.length)).toBe(line + line);
    expect(serverSide.bytesWritten).toBe(2 * Buffer.byteLength(line));
  });

  it('writes lines queued while a turn is being written in a turn of their own, and every turn after', async () => {
    const pairs = await Promise.all([openSocketPair(), openSocketPair(), openSocketPair()]);
    try {
      const [b, c, d] = pairs.map(
        (other, index) =>
          new Connection(`o${index}`, other.serverSide, TEST_CONNECTION_OPTIONS, {
            dispatch: async () => undefined,
            closed: async () => undefined,
          }),
      );
      const [writeB, writeC, writeD] = pairs.map((other) => jest.spyOn(other.serverSide, 'write'));
      const writeOwn = serverSide.write.bind(serverSide);
      const write = jest.spyOn(serverSide, 'write').mockImplementationOnce((text: string | Uint8Array) => {
        c.deliver('RESULT LOGIN 1\n');
        d.deliver('RESULT LOGIN 1\n');
        return writeOwn(text);
      });
      connection.deliver('RESULT SAY 0\n');
      b.deliver('RESULT SAY 0\n');
      await nextTurn();
      expect(write).toHaveBeenCalledTimes(1);
      expect(writeB).toHaveBeenCalledWith('RESULT SAY 0\n');
      expect(writeC).not.toHaveBeenCalled();
      expect(writeD).not.toHaveBeenCalled();
      await nextTurn();
      expect(writeC).toHaveBeenCalledWith('RESULT LOGIN 1\n');
      expect(writeD).toHaveBeenCalledWith('RESULT LOGIN 1\n');
      for (let turn = 0; turn < 3; turn++) {
        for (const member of [connection, b, c, d]) member.deliver(`RECV bob room ${turn}\n`);
        await nextTurn();
        for (const spy of [write, writeB, writeC, writeD]) expect(spy).toHaveBeenLastCalledWith(`RECV bob room ${turn}\n`);
      }
      for (const spy of [write, writeB, writeC, writeD]) expect(spy).toHaveBeenCalledTimes(4);
      expect(await received(13 + 3 * 16)).toBe('RESULT SAY 0\nRECV bob room 0\nRECV bob room 1\nRECV bob room 2\n');
    } finally {
      await Promise.all(pairs.map((other) => other.close()));
    }
  });

  it('does not count a large burst of one turn against a reader that keeps up', async () => {
    const line = `RECV bob room ${'x'.repeat(8000)}\n`;
    for (let index = 0; index < 12; index++) connection.deliver(line);
    expect(12 * line.length).toBeGreaterThan(TEST_CONNECTION_OPTIONS.sendQueueBytes);
    await nextTurn();
    expect(await received(12 * line.length)).toHaveLength(12 * line.length);
    expect(connection.overLimit).toBe(false);
    expect(serverSide.destroyed).toBe(false);
  });

  it('drops a reader whose unsent output stays over limits.sendQueueBytes after the turn', async () => {
    client.pause();
    const line = `RECV bob room ${'x'.repeat(60_000)}\n`;
    for (let round = 0; round < 200 && !serverSide.destroyed; round++) {
      connection.deliver(line);
      await nextTurn();
    }
    expect(serverSide.destroyed).toBe(true);
    expect(connection.overLimit).toBe(true);
    expect(connection.closeReason).toBe('too slow reading its output');
  });

  it('does not hand a reader it drops the turn that found it over the limit', async () => {
    client.pause();
    const write = jest.spyOn(serverSide, 'write');
    const line = `RECV bob room ${'x'.repeat(60_000)}\n`;
    let turns = 0;
    for (; turns < 200 && !serverSide.destroyed; turns++) {
      connection.deliver(line);
      await nextTurn();
    }
    expect(connection.closeReason).toBe('too slow reading its output');
    expect(write).toHaveBeenCalledTimes(turns - 1);
  });

  it('writes nothing after it has ended its side, and nothing fails for a line queued then', async () => {
    const failed = jest.fn();
    connection = new Connection('c2', serverSide, TEST_CONNECTION_OPTIONS, {
      dispatch: async () => undefined,
      closed: async () => undefined,
      failed,
    });
    const errors: Error[] = [];
    serverSide.on('error', (error) => errors.push(error));
    // The client keeps its side open, so the socket stays open with only the server's side ended.
    client.allowHalfOpen = true;
    const ended = new Promise((resolve) => serverSide.once('finish', resolve));
    const shutdown = connection.shutdown(5000);
    await ended;
    const write = jest.spyOn(serverSide, 'write');
    connection.deliver('RECV bob room late\n');
    await nextTurn();
    expect(serverSide.destroyed).toBe(false);
    expect(write).not.toHaveBeenCalled();
    client.end();
    await shutdown;
    expect(errors).toEqual([]);
    expect(failed).not.toHaveBeenCalled();
  });

  describe('the reply the server just chose to send', () => {
    // Larger than what the loopback socket buffers take, so most of it waits in the process.
    const largeReply = `RESULT CHANNELS ${'x'.repeat(16 * 1024 * 1024)}\n`;

    it('is never what drops a reader, even one that has not read it yet', async () => {
      client.pause();
      connection.deliver(largeReply);
      await nextTurn();
      expect(serverSide.writableLength).toBeGreaterThan(TEST_CONNECTION_OPTIONS.sendQueueBytes);
      expect(connection.overLimit).toBe(false);
      expect(serverSide.destroyed).toBe(false);
    });

    it('drains while more lines follow it to a reader that reads', async () => {
      connection.deliver(largeReply);
      await nextTurn();
      for (let index = 0; index < 20; index++) {
        connection.deliver('RECV bob room hello\n');
        await nextTurn();
      }
      expect(await received(largeReply.length + 20 * 20)).toHaveLength(largeReply.length + 20 * 20);
      expect(connection.overLimit).toBe(false);
    });

    it('does not excuse a reader that keeps asking for it without reading', async () => {
      client.pause();
      for (let round = 0; round < 3 && !serverSide.destroyed; round++) {
        connection.deliver(largeReply);
        await nextTurn();
      }
      expect(connection.overLimit).toBe(true);
      expect(connection.closeReason).toBe('too slow reading its output');
    });
  });
});
