/**
 * The reference: a fan-out server on Node's `net` alone, with no framework and no database. It
 * speaks the part of the protocol the benchmark uses — REGISTER, LOGIN, CREATE, JOIN, SAY → RECV —
 * so the same load runs against it and against the chat server, and the ratio between the two is
 * what the framework and the design cost. Accounts are not checked: REGISTER always succeeds and
 * LOGIN succeeds for any name not already online.
 *
 *   node -r ts-node/register/transpile-only bench/reference-server.ts [port] [host]
 */
import { createServer, Socket } from 'node:net';

interface Client {
  readonly socket: Socket;
  user?: string;
  pending: string;
}

const channels = new Map<string, Set<Client>>();
const online = new Set<string>();

function handle(client: Client, line: string): void {
  const space = line.indexOf(' ');
  const verb = space === -1 ? line : line.slice(0, space);
  const args = space === -1 ? '' : line.slice(space + 1);
  const second = args.indexOf(' ');
  const first = second === -1 ? args : args.slice(0, second);
  switch (verb) {
    case 'REGISTER':
      return reply(client, 'RESULT REGISTER 1');
    case 'LOGIN':
      if (client.user !== undefined || online.has(first)) return reply(client, 'RESULT LOGIN 0');
      client.user = first;
      online.add(first);
      return reply(client, 'RESULT LOGIN 1');
    case 'CREATE':
      if (client.user === undefined || channels.has(first)) return reply(client, `RESULT CREATE ${first} 0`);
      channels.set(first, new Set());
      return reply(client, `RESULT CREATE ${first} 1`);
    case 'JOIN': {
      const members = channels.get(first);
      if (client.user === undefined || !members) return reply(client, `RESULT JOIN ${first} 0`);
      members.add(client);
      return reply(client, `RESULT JOIN ${first} 1`);
    }
    case 'SAY': {
      const members = channels.get(first);
      if (second === -1 || !members?.has(client)) return reply(client, 'RESULT SAY 0');
      const out = Buffer.from(`RECV ${client.user} ${first} ${args.slice(second + 1)}\n`);
      for (const member of members) send(member.socket, out);
      return;
    }
  }
}

function reply(client: Client, text: string): void {
  send(client.socket, `${text}\n`);
}

/**
 * How a socket's output leaves (REFERENCE_WRITES; `npm run bench -- --scenarios reference`
 * measures each):
 * - `cork` (the default): each line is its own `write()`, the socket corked for the turn and
 *   uncorked once the turn's input has been handled, so the turn's lines leave in one system call;
 * - `turn`: a connection's lines of one turn are collected and written with one `write()` at the
 *   end of the turn;
 * - `direct`: each line is written at once, nothing batched.
 */
export type WriteStrategy = 'turn' | 'cork' | 'direct';
const strategy = (process.env.REFERENCE_WRITES ?? 'cork') as WriteStrategy;

/** Output collected this turn, per socket: one buffer, or several to join. */
const pending = new Map<Socket, Buffer | Buffer[]>();
const corked: Socket[] = [];

function send(socket: Socket, data: string | Buffer): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (strategy === 'direct') {
    socket.write(bytes);
  } else if (strategy === 'cork') {
    if (socket.writableCorked === 0) {
      socket.cork();
      if (corked.push(socket) === 1) setImmediate(uncorkAll);
    }
    socket.write(bytes);
  } else {
    const waiting = pending.get(socket);
    if (waiting === undefined) {
      if (pending.size === 0) setImmediate(writeTurn);
      pending.set(socket, bytes);
    } else if (Array.isArray(waiting)) {
      waiting.push(bytes);
    } else {
      pending.set(socket, [waiting, bytes]);
    }
  }
}

function uncorkAll(): void {
  for (const socket of corked.splice(0)) socket.uncork();
}

function writeTurn(): void {
  for (const [socket, waiting] of pending) socket.write(Array.isArray(waiting) ? Buffer.concat(waiting) : waiting);
  pending.clear();
}

function forget(client: Client): void {
  pending.delete(client.socket);
  if (client.user !== undefined) online.delete(client.user);
  for (const members of channels.values()) members.delete(client);
}

const server = createServer({ noDelay: true }, (socket) => {
  const client: Client = { socket, pending: '' };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const text = client.pending + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      handle(client, text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
      start = end + 1;
    }
    client.pending = text.slice(start);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => forget(client));
});

const port = Number(process.argv[2] ?? 4500);
const host = process.argv[3] ?? '127.0.0.1';
server.listen(port, host, () => {
  const address = server.address() as { address: string; port: number };
  process.stdout.write(`listening on ${address.address}:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
// Started with --expose-gc, SIGUSR2 runs a full collection: the capacity scenario samples memory after one.
process.on('SIGUSR2', () => globalThis.gc?.());
