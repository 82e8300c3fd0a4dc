/**
 * The reference: a fan-out server on Node's `net` alone, with no framework and no database. It
 * speaks the part of the protocol the benchmark uses — REGISTER, LOGIN, CREATE, JOIN, SAY → RECV —
 * so the same load runs against it and against the chat server, and the ratio between the two is
 * what the framework and the design cost. Accounts are not checked: REGISTER always succeeds and
 * LOGIN succeeds for any name not already online.
 *
 *   node -r ts-node/register/transpile-only bench/reference-server.ts [port] [host]
 *
 * The bench compiles it and runs it on plain `node`, as the chat server runs (`startReferenceProcess`).
 */
import { createServer, Socket } from 'node:net';

/**
 * How a socket's output leaves (REFERENCE_WRITES; `npm run bench -- --scenarios reference`
 * measures each, and BENCHMARKS.md says why `turn` is the default):
 * - `turn`: a connection's lines of one turn of the event loop are joined into one string, written
 *   with one `write()` once the turn's input has been handled;
 * - `cork`: a RECV is encoded once and every member's socket is handed the same bytes with a
 *   `write()` per line, the socket corked for the turn and uncorked at its end;
 * - `direct`: each line is written at once, one system call per line.
 */
export type WriteStrategy = 'turn' | 'cork' | 'direct';
const strategy = (process.env.REFERENCE_WRITES ?? 'turn') as WriteStrategy;

interface Client {
  readonly socket: Socket;
  user?: string;
  /** Input after the last complete line. */
  input: string;
  /** This turn's output not yet written (`turn`). */
  output: string;
}

const channels = new Map<string, Set<Client>>();
const online = new Set<string>();
/** Clients given output this turn, to write (`turn`) or uncork (`cork`) at its end. */
const written: Client[] = [];

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
      return deliver(members, `RECV ${client.user} ${first} ${args.slice(second + 1)}\n`);
    }
  }
}

function reply(client: Client, text: string): void {
  deliver([client], `${text}\n`);
}

function deliver(clients: Iterable<Client>, line: string): void {
  if (strategy === 'turn') {
    for (const client of clients) {
      if (client.output === '') endTurnLater(client);
      client.output += line;
    }
    return;
  }
  const bytes = Buffer.from(line);
  for (const client of clients) {
    if (strategy === 'cork' && client.socket.writableCorked === 0) {
      client.socket.cork();
      endTurnLater(client);
    }
    client.socket.write(bytes);
  }
}

function endTurnLater(client: Client): void {
  if (written.push(client) === 1) setImmediate(endTurn);
}

function endTurn(): void {
  for (const client of written) {
    if (strategy === 'cork') {
      client.socket.uncork();
    } else {
      client.socket.write(client.output);
      client.output = '';
    }
  }
  written.length = 0;
}

function forget(client: Client): void {
  if (client.user !== undefined) online.delete(client.user);
  for (const members of channels.values()) members.delete(client);
}

const server = createServer({ noDelay: true }, (socket) => {
  const client: Client = { socket, input: '', output: '' };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const text = client.input + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      handle(client, text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
      start = end + 1;
    }
    client.input = text.slice(start);
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
