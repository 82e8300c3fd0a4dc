import { createServer, Server, Socket } from 'node:net';
import { BenchClient, readStamp } from '../../bench/bench-client';

/** A server that hands each accepted socket to the test, in order. */
async function listening(): Promise<{ server: Server; port: number; accepted: () => Promise<Socket> }> {
  const waiting: Socket[] = [];
  const wanted: Array<(socket: Socket) => void> = [];
  const server = createServer((socket) => {
    const take = wanted.shift();
    if (take) take(socket);
    else waiting.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const accepted = () => {
    const socket = waiting.shift();
    return socket ? Promise.resolve(socket) : new Promise<Socket>((resolve) => wanted.push(resolve));
  };
  return { server, port, accepted };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('a RECV stamp', () => {
  const read = (line: string) => {
    const bytes = Buffer.from(`${line}\n`, 'latin1');
    const got: number[][] = [];
    const ok = readStamp(bytes, 0, bytes.length - 1, 7, (sender, sequence, said, now) => got.push([sender, sequence, said, now]));
    return { ok, got };
  };

  it('is the sender, sequence and time that end the line, with the time of the read', () => {
    expect(read('RECV u3 room 3.41.98765')).toEqual({ ok: true, got: [[3, 41, 98765, 7]] });
  });

  it('is not read from a message that does not end in three numbers after a space', () => {
    for (const line of ['RECV u room hello', 'RECV u room 1.2', 'RECV u room x1.2.3', 'RECV u room 1..3', 'RECV u room 1.2.']) {
      expect(read(line)).toEqual({ ok: false, got: [] });
    }
  });
});

describe('the bench client', () => {
  let server: Server;
  let port: number;
  let accepted: () => Promise<Socket>;
  const clients: BenchClient[] = [];
  const sockets: Socket[] = [];

  beforeEach(async () => {
    ({ server, port, accepted } = await listening());
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function open(name: string): Promise<{ client: BenchClient; socket: Socket }> {
    const client = await BenchClient.connect(name, port);
    clients.push(client);
    const socket = await accepted();
    sockets.push(socket);
    return { client, socket };
  }

  it('gives replies whole and in order, however the bytes are split between reads', async () => {
    const { client, socket } = await open('a');
    socket.write('RESULT REGISTER 1\nRESULT LO');
    await pause();
    socket.write('GIN 1\n');
    expect(await client.reply()).toBe('RESULT REGISTER 1');
    expect(await client.reply()).toBe('RESULT LOGIN 1');
  });

  it('keeps each connection its own lines though every read lands in one shared buffer', async () => {
    const first = await open('first');
    const second = await open('second');
    const seen: Record<string, string[]> = { first: [], second: [] };
    first.client.onLine = (line) => seen.first.push(line);
    second.client.onLine = (line) => seen.second.push(line);
    first.socket.write('RECV u room 0.1.');
    second.socket.write('RECV v room 1.1.22\nRECV v room 1.2.');
    await pause();
    first.socket.write('11\n');
    second.socket.write('33\n');
    await pause();
    expect(seen.first).toEqual(['RECV u room 0.1.11']);
    expect(seen.second).toEqual(['RECV v room 1.1.22', 'RECV v room 1.2.33']);
  });

  it('reads RECV stamps from the bytes, skips other lines, and finishes a stamp cut between reads', async () => {
    const { client, socket } = await open('e');
    const stamps: number[][] = [];
    client.onStamp = (sender, sequence, said) => stamps.push([sender, sequence, said]);
    socket.write('RECV u0 room 0.0.1700000000123\nRESULT SAY 0\nRECV u0 room hello\nRECV u1 room:other.host 12.');
    await pause();
    socket.write('345.99\nRECV u0 room 0.1.5\n');
    await pause();
    expect(stamps).toEqual([
      [0, 0, 1700000000123],
      [12, 345, 99],
      [0, 1, 5],
    ]);
  });

  it('checks an exchange against the replies expected and names what came instead', async () => {
    const { client, socket } = await open('c');
    socket.on('data', () => socket.write('RESULT JOIN room 0\n'));
    await expect(client.exchange(['JOIN room'], ['RESULT JOIN room 1'])).rejects.toThrow(
      'c: expected "RESULT JOIN room 1", got "RESULT JOIN room 0"',
    );
  });

  it('fails a wait for a reply once the connection is gone', async () => {
    const { client, socket } = await open('d');
    socket.destroy();
    await pause();
    await expect(client.reply(1_000)).rejects.toThrow('d: connection closed while waiting for a reply');
  });
});
