import { createServer, Server, Socket } from 'node:net';
import { BenchClient } from '../../bench/bench-client';
import { closeRoom, measureRateInTurns, Room } from '../../bench/fanout';

/**
 * A fan-out server of a few lines: every `SAY <channel> <text>` goes to every connection as
 * `RECV u <channel> <text>`. `said` keeps the name of the server of every SAY, in the order they
 * came, shared by all the servers of a test.
 */
async function tinyServer(name: string, said: string[]): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let pending = '';
    socket.on('data', (chunk) => {
      const lines = (pending + chunk.toString('latin1')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [verb, channel, ...text] = line.split(' ');
        if (verb !== 'SAY') continue;
        said.push(name);
        for (const member of sockets) member.write(`RECV u ${channel} ${text.join(' ')}\n`);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** Consecutive repeats made one: `a a b b a` is `a b a`. */
const runs = (names: readonly string[]) => names.filter((name, index) => index === 0 || names[index - 1] !== name);

describe('the fixed rate in turns', () => {
  const servers: Array<{ server: Server; sockets: Socket[] }> = [];
  const rooms: Room[] = [];

  afterEach(async () => {
    for (const room of rooms.splice(0)) closeRoom(room);
    for (const { server, sockets } of servers.splice(0)) {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function open(name: string, members: number, said: string[]): Promise<Room> {
    const opened = await tinyServer(name, said);
    servers.push(opened);
    const clients = await Promise.all(
      Array.from({ length: members }, (_, index) => BenchClient.connect(`${name}${index}`, opened.port)),
    );
    const room = { members: clients, channels: clients.map(() => 'room') };
    rooms.push(room);
    return room;
  }

  it('gives each room the same time in turns that always go round in one order, and pools each room’s latencies', async () => {
    const said: string[] = [];
    const first = await open('a', 3, said);
    const second = await open('b', 4, said);

    const [a, b] = await measureRateInTurns([first, second], [1, 2], { kind: 'rate', perSecond: 100, seconds: 0.4 }, 0.1);

    // Four turns each, a b | a b | a b | a b: the servers took the SAYs in this order, never mixed,
    // and neither had two turns in a row.
    expect(runs(said)).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    for (const [result, members, senders] of [
      [a, 3, 1],
      [b, 4, 2],
    ] as const) {
      expect(result).toMatchObject({ members, senders, mode: '100/s', lost: 0 });
      // About 10 messages in each of the four turns of 0.1 s (more when a busy machine fires timers late).
      expect(result.messages).toBeGreaterThanOrEqual(30);
      expect(result.messages).toBeLessThanOrEqual(60);
      expect(result.deliveries).toBe(result.messages * members);
      expect(result.latencyMs.p50).toBeGreaterThan(0);
      expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    }
    expect(said.filter((name) => name === 'a')).toHaveLength(a.messages);
    expect(said.filter((name) => name === 'b')).toHaveLength(b.messages);
  });

  it('reads the CPU of the processes serving a room, and none for a room without them', async () => {
    const said: string[] = [];
    const served = { ...(await open('d', 2, said)), processIds: [process.pid] };
    const unknown = await open('e', 2, said);

    const [withProcesses, without] = await measureRateInTurns(
      [served, unknown],
      [1, 1],
      { kind: 'rate', perSecond: 100, seconds: 0.2 },
      0.1,
    );

    expect(without.cpuMicrosPerDelivery).toBeUndefined();
    if (process.platform !== 'linux') return;
    // These servers run in this process, with the clients: its CPU is theirs and the clients' together.
    expect(withProcesses.cpuMicrosPerDelivery?.main).toBeGreaterThanOrEqual(0);
    expect(withProcesses.cpuMicrosPerDelivery?.others).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(withProcesses.cpuMicrosPerDelivery?.main)).toBe(true);
  });

  it('takes a single turn when the time is shorter than a turn', async () => {
    const said: string[] = [];
    const only = await open('c', 2, said);

    const [result] = await measureRateInTurns([only], [1], { kind: 'rate', perSecond: 100, seconds: 0.05 }, 1);

    expect(result.lost).toBe(0);
    expect(result.messages).toBeGreaterThanOrEqual(3);
    expect(result.messages).toBeLessThanOrEqual(10);
    expect(result.deliveries).toBe(result.messages * 2);
  });
});
