/**
 * Soak: at least 100,000 random and mutated lines from clients and from a peer link against a real
 * server process, then a check that the process is alive and every connection still answers.
 *   npm run soak -- [lines] [clients]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerProcess, startChatServerProcess } from '../bench/server-process';

const TOTAL_LINES = Number(process.argv[2] ?? 100_000);
const CLIENTS = Number(process.argv[3] ?? 20);
const PEER_ADDRESS = '127.0.0.9';
const DRAIN_TIMEOUT_MS = 180_000;

const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(values: readonly T[]): T => values[rand(values.length)];
const NAMES = ['ann', 'ben', 'Ann', '日本', '😀', 'x'.repeat(40), 'a@b', 'c:d', 'e,f', ''];
const CHANNELS = ['lobby', 'Lobby', '日本語', 'x'.repeat(70), 'ch:host', 'soak-peer', ''];

function clientLine(): string {
  switch (rand(8)) {
    case 0:
      return `REGISTER ${pick(NAMES)} ${pick(['pw', 'p'.repeat(80), 'tab\tpw', ''])}`;
    case 1:
      return `LOGIN ${pick(NAMES)} pw`;
    case 2:
      return `CREATE ${pick(CHANNELS)}`;
    case 3:
      return `JOIN ${pick(CHANNELS)}`;
    case 4:
    case 5:
      return `SAY ${pick(CHANNELS)} ${'m'.repeat(rand(200))} ${pick(['', ' ', '😀', 'RECV x y z'])}`;
    case 6:
      return 'CHANNELS';
    default:
      return pick(['FEDSAY ann@x lobby hi', 'FEDERATE-OUT evil', 'channels', 'QUIT', 'SAY', '']);
  }
}

function linkLine(): string {
  const user = `${pick(NAMES)}@${pick(['soak-peer', 'other', ''])}`;
  switch (rand(6)) {
    case 0:
      return `FEDJOIN ${user} ${pick(CHANNELS)}`;
    case 1:
      return `FEDSAY ${user} ${pick(CHANNELS)} ${'m'.repeat(rand(100))}`;
    case 2:
      return `FEDRECV ${pick(NAMES)} ${user} ${pick(CHANNELS)}:soak-peer hi`;
    case 3:
      return `FEDNEW ${pick(CHANNELS)}`;
    case 4:
      return `FEDCHANNELS ${Array.from({ length: rand(5) }, () => pick(CHANNELS)).join(pick([', ', ',']))}`;
    default:
      return `FEDRESULT ${pick(NAMES)} ${pick(['JOIN', 'SAY', 'X'])} ${pick(CHANNELS)}:soak-peer ${rand(3)}`;
  }
}

/** Flips, cuts, repeats or garbles a line as bytes; most lines still end in LF. */
function mutate(line: string): Buffer {
  let bytes = Buffer.from(line);
  switch (rand(7)) {
    case 0:
      if (bytes.length > 0) bytes[rand(bytes.length)] = rand(256);
      break;
    case 1:
      bytes = bytes.subarray(0, rand(bytes.length + 1));
      break;
    case 2:
      bytes = Buffer.concat([bytes, Buffer.alloc(rand(12000), 0x41)]);
      break;
    case 3:
      bytes = Buffer.from(Array.from({ length: rand(64) }, () => rand(256)));
      break;
    case 4:
      bytes = Buffer.concat([bytes, Buffer.from(pick(['\r', '\0', '\xff', '\r\r']), 'latin1')]);
      break;
    default:
      break;
  }
  return Buffer.concat([bytes, Buffer.from(rand(20) === 0 ? '' : '\n')]);
}

interface Peer {
  socket: Socket;
  /** The end of what arrived, enough to match a reply split across reads. */
  tail: string;
  /** Set when the line a probe waits for has arrived. */
  expecting?: RegExp;
  answered: boolean;
  closedByServer: boolean;
}

function open(port: number, localAddress?: string): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const peer: Peer = { socket, tail: '', answered: false, closedByServer: false };
    socket.on('data', (chunk: Buffer) => {
      const text = peer.tail + chunk.toString('latin1');
      if (peer.expecting?.test(text)) peer.answered = true;
      peer.tail = text.slice(-200);
    });
    socket.on('close', () => (peer.closedByServer = true));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(peer));
    socket.once('error', reject);
  });
}

async function answers(peer: Peer, probe: string, pattern: RegExp, timeoutMs = 10000): Promise<boolean> {
  peer.tail = '';
  peer.answered = false;
  peer.expecting = pattern;
  peer.socket.write(`\n${probe}\n`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (peer.answered) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** A new connection, or undefined once the server has crashed (the results say how). */
async function reconnect(server: ServerProcess): Promise<Peer | undefined> {
  try {
    return await open(server.port);
  } catch (error) {
    // The refused connection can come before the exit that explains it.
    for (let waited = 0; waited < 2000 && !server.crash(); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    if (server.crash()) return undefined;
    throw error;
  }
}

function startServer(dir: string): Promise<ServerProcess> {
  return startChatServerProcess(dir, [
    'host: 127.0.0.1',
    'hostname: soak.local',
    `database:\n  dataDir: ${join(dir, 'data')}`,
    // The hand-driven peer is configured by name; port 1 answers nobody, so it is never dialled in.
    `federation:\n  peers: [{ address: "${PEER_ADDRESS}:1", hostname: soak-peer }]\n  acceptFrom: [${PEER_ADDRESS}]`,
    'limits:\n  exemptLoopback: true',
    'bcryptCost: 4',
    'logLevel: info',
  ]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-soak-'));
  const server = await startServer(dir);
  const { port } = server;
  const started = Date.now();

  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => open(port)));
  clients.forEach((peer, index) =>
    peer.socket.write(`REGISTER soak${index} pw\nLOGIN soak${index} pw\nCREATE lobby\nJOIN lobby\n`),
  );
  const link = await open(port, PEER_ADDRESS);
  link.socket.write('FEDERATE-OUT soak-peer\n');

  let sent = 0;
  let bytes = 0;
  let reconnects = 0;
  while (sent < TOTAL_LINES && !server.crash()) {
    for (let index = 0; index < clients.length; index++) {
      if (clients[index].closedByServer) {
        const reopened = await reconnect(server);
        if (!reopened) break;
        clients[index] = reopened;
        reconnects++;
      }
      const batch = Buffer.concat(Array.from({ length: 20 }, () => mutate(clientLine())));
      clients[index].socket.write(batch);
      bytes += batch.length;
      sent += 20;
    }
    const batch = Buffer.concat(Array.from({ length: 50 }, () => mutate(linkLine())));
    if (!link.closedByServer) link.socket.write(batch);
    bytes += batch.length;
    sent += 50;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const sending = (Date.now() - started) / 1000;

  // A connection is stuck if it has not answered once the server has had time to work through
  // everything already sent (it is read at the server's own pace).
  let stuck = 0;
  await Promise.all(
    clients.map(async (peer) => {
      if (peer.closedByServer) return;
      // A short, fixed reply: CHANNELS may have grown past the receive window by now.
      if (!(await answers(peer, 'JOIN soak-probe', /RESULT JOIN soak-probe 0/, DRAIN_TIMEOUT_MS))) stuck++;
    }),
  );
  const drained = (Date.now() - started) / 1000 - sending;
  const linkAlive =
    !link.closedByServer && (await answers(link, 'FEDJOIN probe@soak-peer lobby', /FEDRESULT probe JOIN lobby:soak\.local [01]/));
  const crash = server.crash();
  const rss = crash ? 0 : server.rssKb();

  console.log('soak results');
  console.log(
    `  lines sent            ${sent} (${(bytes / 1048576).toFixed(1)} MiB) in ${sending.toFixed(1)} s (${Math.round(sent / sending)} lines/s)`,
  );
  console.log(`  all answered after    ${drained.toFixed(1)} s more (the server works through what it was sent)`);
  console.log(`  client connections    ${CLIENTS}, reconnected after a server close: ${reconnects}`);
  console.log(`  peer link             ${linkAlive ? 'alive and answering' : 'NOT answering'}`);
  console.log(`  server crashed        ${crash ? `YES (${crash})` : 'no'}`);
  console.log(`  stuck connections     ${stuck}`);
  console.log(`  server RSS at the end ${(rss / 1024).toFixed(1)} MiB`);

  for (const peer of [...clients, link]) peer.socket.destroy();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(crash || stuck > 0 || !linkAlive ? 1 : 0);
}

void main();
