/**
 * Soak: at least 100,000 lines against a real server process, then a check that the process is
 * alive and every connection still answers. Alongside the random and mutated lines from clients
 * and from a peer link run three abuse patterns, each from its own loopback address: a login spray
 * (while the accounts' owners keep logging in from elsewhere), users creating channels as fast as
 * they can (then one CHANNELS that must arrive whole), and clients sending FED lines (which must
 * get no answer and only a summary in the log).
 *   npm run soak -- [lines] [clients]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ServerProcess, startChatServerProcess } from '../bench/server-process';

const TOTAL_LINES = Number(process.argv[2] ?? 100_000);
const CLIENTS = Number(process.argv[3] ?? 20);
const PEER_ADDRESS = '127.0.0.9';
const SPRAY_ADDRESS = '127.0.0.30';
const OWNER_ADDRESS = '127.0.0.31';
const GROWTH_ADDRESS = '127.0.0.32';
const FED_ADDRESS = '127.0.0.33';
const READER_ADDRESS = '127.0.0.34';
const DRAIN_TIMEOUT_MS = 180_000;
const REPLY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** Whatever happens, the run ends (the server killed) after this long. */
const RUN_TIMEOUT_MS = 20 * 60_000;

/** Shares of the line budget; the random lines, the peer link and the FED lines from clients have the rest. */
const SPRAY_SHARE = 0.05;
const GROWTH_SHARE = 0.05;
const SPRAY_CONNECTIONS = 3;
/** LOGINs a spray connection has sent and not yet had answered. */
const SPRAY_WINDOW = 16;
/** Accounts that exist for the spray to guess at (the growth users' too), and names that do not. */
const SPRAY_MEMBERS = 16;
const SPRAY_GHOSTS = 200;
/** The owner and the victim log in in turn, this long apart; the victim is also guessed at by the spray. */
const OWNERS = ['owner', 'victim'] as const;
const OWNER_PASSWORD = 'right-password';
const OWNER_LOGIN_INTERVAL_MS = 100;
const GROWTH_USERS = 4;
const GROWTH_WINDOW = 16;
const GROWN_CHANNEL = /^g\d+-\d+$/;
const FED_CONNECTIONS = 4;
const FED_BATCH = 20;
/** A client's refused FED lines are summarized in the log about once per this window. */
const FED_LOG_WINDOW_S = 10;

/** Written to the configuration, and what the checks hold the server to. */
const LIMITS = {
  // The login limits per address must apply to the spray, and every address here is loopback: no
  // exemption, and room enough for the flood from 127.0.0.1 instead.
  exemptLoopback: false,
  commandsPerSecond: 1_000_000,
  commandBurst: 1_000_000,
  maxQueuedCommands: 1_000_000,
  connectionsPerAddress: 100_000,
  registrationsPerMinute: 1_000_000,
  loginFailuresPerMinute: 10,
  loginFailuresPerAddressPerMinute: 60,
  channelsPerUser: 1000,
  maxChannels: 100_000,
};

const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(values: readonly T[]): T => values[rand(values.length)];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
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

/** A FED line as a client connection might send it, well formed, so only the connection's kind refuses it. */
function clientFedLine(): string {
  const user = `${pick(['ann', 'ben'])}@${pick(['soak-peer', 'soak.local', 'evil'])}`;
  switch (rand(10)) {
    case 0:
      return `FEDSAY ${user} lobby hi`;
    case 1:
      return `FEDRECV ann ${user} lobby:soak-peer hi`;
    case 2:
      return `FEDERATE-CONFIRM ${pick(['soak-peer', 'evil'])}`;
    case 3:
      return `FEDNEW ${pick(['lobby', 'fed-new'])}`;
    case 4:
      return `FEDJOIN ${user} lobby`;
    case 5:
      return 'FEDCHANNELS lobby, fed-new';
    case 6:
      return `FEDRESULT ann JOIN lobby:soak-peer ${rand(2)}`;
    case 7:
      return `FEDERATE-OUT ${pick(['soak-peer', 'evil'])}`;
    case 8:
      return `FEDAUTH ${'0'.repeat(64)}`;
    default:
      return `FEDCAST ${user} lobby:soak-peer hi`;
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

/** Every socket the run opens, so that all of them are closed at the end whatever happened. */
const SOCKETS = new Set<Socket>();

function dial(port: number, localAddress?: string): Socket {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  SOCKETS.add(socket);
  socket.on('close', () => SOCKETS.delete(socket));
  return socket;
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
    const socket = dial(port, localAddress);
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
    await sleep(20);
  }
  return false;
}

/** A new connection, or undefined once the server has crashed (the results say how). */
async function reconnect<T>(server: ServerProcess, opening: () => Promise<T>): Promise<T | undefined> {
  try {
    return await opening();
  } catch (error) {
    // The refused connection can come before the exit that explains it.
    for (let waited = 0; waited < 2000 && !server.crash(); waited += 50) await sleep(50);
    if (server.crash()) return undefined;
    throw error;
  }
}

/** A connection read as whole lines, however long, for the patterns that wait for their replies. */
interface LineConnection {
  socket: Socket;
  lines: string[];
  /** The start of a line whose LF has not arrived yet. */
  partial: Buffer[];
  /** Bytes received in all. */
  received: number;
  closed: boolean;
  wake?: () => void;
}

function openLines(port: number, localAddress: string): Promise<LineConnection> {
  return new Promise((resolve, reject) => {
    const socket = dial(port, localAddress);
    const connection: LineConnection = { socket, lines: [], partial: [], received: 0, closed: false };
    socket.on('data', (chunk: Buffer) => {
      connection.received += chunk.length;
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
        connection.lines.push(Buffer.concat([...connection.partial, chunk.subarray(start, end)]).toString());
        connection.partial = [];
        start = end + 1;
      }
      if (start < chunk.length) connection.partial.push(chunk.subarray(start));
      connection.wake?.();
    });
    socket.on('close', () => {
      connection.closed = true;
      connection.wake?.();
    });
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(connection));
    socket.once('error', reject);
  });
}

/** The next line, or undefined when none came within `timeoutMs` or the server closed the connection. */
function nextLine(connection: LineConnection, timeoutMs = REPLY_TIMEOUT_MS): Promise<string | undefined> {
  if (connection.lines.length > 0 || connection.closed) return Promise.resolve(connection.lines.shift());
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      connection.wake = undefined;
      resolve(connection.lines.shift());
    };
    const timer = setTimeout(finish, timeoutMs);
    connection.wake = finish;
  });
}

/** Ends our side and waits for the server to close its own, so it has logged the user out. */
async function hangUp(connection: LineConnection): Promise<void> {
  connection.socket.end();
  for (let waited = 0; waited < REPLY_TIMEOUT_MS && !connection.closed; waited += 10) await sleep(10);
  connection.socket.destroy();
}

/** The line budget all patterns spend together, and what the abuse patterns need to know of the run. */
interface Run {
  readonly server: ServerProcess;
  lines: number;
  bytes: number;
  /** The owners keep logging in until the flood has been worked through. */
  ownersDone: boolean;
  /** Patterns that ended with an error: the run fails. */
  errors: string[];
}

/** Whether a pattern that has sent `sent` of its `share` of the budget is to stop. */
const spent = (run: Run, sent: number, share: number) => sent >= TOTAL_LINES * share || run.server.crash() !== undefined;

/** A pattern that throws is reported with the results, not left unhandled while the run goes on. */
function reported(run: Run, pattern: string, running: Promise<void>): Promise<void> {
  return running.catch((error: unknown) => {
    run.errors.push(`${pattern}: ${String(error)}`);
  });
}

function send(run: Run, socket: Socket, data: string | Buffer, lines = 1): void {
  socket.write(data);
  run.bytes += Buffer.byteLength(data);
  run.lines += lines;
}

/** Registers `names` (password `password`) on one connection; throws unless every one was created. */
async function register(port: number, localAddress: string, names: readonly string[], password: string): Promise<void> {
  const connection = await openLines(port, localAddress);
  connection.socket.write(names.map((name) => `REGISTER ${name} ${password}\n`).join(''));
  for (const name of names) {
    const reply = await nextLine(connection);
    if (reply !== 'RESULT REGISTER 1') throw new Error(`setting up: REGISTER ${name} got ${reply ?? 'no reply'}`);
  }
  await hangUp(connection);
}

interface SprayFigures {
  sent: number;
  answered: number;
  failed: number;
  /** Spray connections the server closed (and that were opened again). */
  closed: number;
  started: number;
  lastAnswer: number;
}

/** Wrong-password LOGINs over `names` from SPRAY_ADDRESS, every fifth at the victim, as fast as the replies come. */
async function sprayLogins(run: Run, names: readonly string[], figures: SprayFigures): Promise<void> {
  figures.started = performance.now();
  await Promise.all(Array.from({ length: SPRAY_CONNECTIONS }, () => sprayFrom(run, names, figures)));
}

async function sprayFrom(run: Run, names: readonly string[], figures: SprayFigures): Promise<void> {
  let connection = await openLines(run.server.port, SPRAY_ADDRESS);
  let waiting = 0;
  for (;;) {
    for (; waiting < SPRAY_WINDOW && !spent(run, figures.sent, SPRAY_SHARE); waiting++) {
      const name = figures.sent % 5 === 0 ? 'victim' : pick(names);
      send(run, connection.socket, `LOGIN ${name} guess${figures.sent++}\n`);
    }
    if (waiting === 0) break;
    const reply = await nextLine(connection);
    if (reply !== undefined) {
      waiting--;
      figures.answered++;
      if (reply === 'RESULT LOGIN 0') figures.failed++;
      figures.lastAnswer = performance.now();
    } else if (connection.closed && !run.server.crash()) {
      figures.closed++;
      const reopened = await reconnect(run.server, () => openLines(run.server.port, SPRAY_ADDRESS));
      if (!reopened) break;
      connection = reopened;
      waiting = 0;
    } else {
      break;
    }
  }
  connection.socket.destroy();
}

interface OwnerFigures {
  logins: Record<(typeof OWNERS)[number], number>;
  failures: string[];
  latenciesMs: number[];
}

/** The owner and the victim log in in turn from OWNER_ADDRESS, each time on a fresh connection. */
async function ownersLogIn(run: Run, figures: OwnerFigures): Promise<void> {
  while (!run.ownersDone) {
    for (const name of OWNERS) await ownerLogsIn(run, name, figures);
    await sleep(OWNER_LOGIN_INTERVAL_MS);
  }
}

async function ownerLogsIn(run: Run, name: (typeof OWNERS)[number], figures: OwnerFigures): Promise<void> {
  figures.logins[name]++;
  const connection = await reconnect(run.server, () => openLines(run.server.port, OWNER_ADDRESS));
  if (!connection) {
    figures.failures.push(`${name}: the server is gone`);
    return;
  }
  const sent = performance.now();
  send(run, connection.socket, `LOGIN ${name} ${OWNER_PASSWORD}\n`);
  const reply = await nextLine(connection);
  figures.latenciesMs.push(performance.now() - sent);
  if (reply !== 'RESULT LOGIN 1') figures.failures.push(`${name}: ${reply ?? 'no reply'}`);
  await hangUp(connection);
}

interface GrowthFigures {
  sent: number;
  created: number;
  refused: number;
  started: number;
  lastAnswer: number;
  /** Growth connections the server closed; they are not opened again (they would have to log in). */
  closed: number;
}

/** Logs in the growth users from GROWTH_ADDRESS, one connection each. */
async function growthUsers(port: number): Promise<LineConnection[]> {
  const names = Array.from({ length: GROWTH_USERS }, (_, index) => `grow${index}`);
  await register(port, GROWTH_ADDRESS, names, 'pw');
  return Promise.all(
    names.map(async (name) => {
      const connection = await openLines(port, GROWTH_ADDRESS);
      connection.socket.write(`LOGIN ${name} pw\n`);
      const reply = await nextLine(connection);
      if (reply !== 'RESULT LOGIN 1') throw new Error(`setting up: LOGIN ${name} got ${reply ?? 'no reply'}`);
      return connection;
    }),
  );
}

/** Each user CREATEs `g<user>-<n>` as fast as the replies come, past its quota until its share is spent. */
async function growChannels(run: Run, users: readonly LineConnection[], figures: GrowthFigures): Promise<void> {
  figures.started = performance.now();
  await Promise.all(users.map((connection, user) => growFrom(run, connection, user, figures)));
}

async function growFrom(run: Run, connection: LineConnection, user: number, figures: GrowthFigures): Promise<void> {
  let next = 0;
  let waiting = 0;
  for (;;) {
    for (; waiting < GROWTH_WINDOW && !spent(run, figures.sent, GROWTH_SHARE); waiting++) {
      send(run, connection.socket, `CREATE g${user}-${next++}\n`);
      figures.sent++;
    }
    if (waiting === 0) break;
    const reply = await nextLine(connection);
    if (reply === undefined) {
      if (connection.closed) figures.closed++;
      break;
    }
    waiting--;
    figures.lastAnswer = performance.now();
    if (/^RESULT CREATE \S+ 1$/.test(reply)) figures.created++;
    else figures.refused++;
  }
}

interface ChannelsReading {
  /** The whole `RESULT CHANNELS …` line arrived. */
  complete: boolean;
  /** The connection still answered after it. */
  stillOpen: boolean;
  bytes: number;
  ms: number;
  listed: number;
  grown: number;
}

/** One CHANNELS from a fresh client, read to its LF however long it is. */
async function readChannels(server: ServerProcess): Promise<ChannelsReading> {
  const connection = await reconnect(server, () => openLines(server.port, READER_ADDRESS));
  if (!connection) return { complete: false, stillOpen: false, bytes: 0, ms: 0, listed: 0, grown: 0 };
  const started = performance.now();
  connection.socket.write('CHANNELS\n');
  const reply = await nextLine(connection, DRAIN_TIMEOUT_MS);
  const ms = performance.now() - started;
  const complete = reply?.startsWith('RESULT CHANNELS ') === true;
  const names = complete ? reply.slice('RESULT CHANNELS '.length).split(', ') : [];
  connection.socket.write('JOIN soak-probe\n');
  const stillOpen = (await nextLine(connection)) === 'RESULT JOIN soak-probe 0';
  connection.socket.destroy();
  return {
    complete,
    stillOpen,
    bytes: reply === undefined ? connection.received : Buffer.byteLength(reply) + 1,
    ms,
    listed: names.filter((name) => name !== '').length,
    grown: names.filter((name) => GROWN_CHANNEL.test(name)).length,
  };
}

/** The server's log lines about one address's connections, read from its output as it is written. */
interface LogWatch {
  readonly address: string;
  /** The server's ids of that address's connections, from their `connection opened` lines. */
  readonly connections: Set<string>;
  lines: number;
  bytes: number;
}

function watchLog(server: ServerProcess, address: string): LogWatch {
  const watch: LogWatch = { address, connections: new Set(), lines: 0, bytes: 0 };
  let partial = '';
  const onData = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() as string;
    for (const line of lines) countLogLine(watch, line);
  };
  server.child.stdout?.on('data', onData);
  server.child.stderr?.on('data', onData);
  return watch;
}

/** Counts a line about the watched connections; their own `connection opened` and `closed` lines are not counted. */
function countLogLine(watch: LogWatch, line: string): void {
  let entry: { conn?: unknown; remote?: unknown; msg?: unknown } = {};
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    // A line that is not JSON is still counted when it names the address.
  }
  const remote = typeof entry.remote === 'string' ? entry.remote : '';
  const fromWatched = remote.startsWith(`${watch.address}:`);
  if (fromWatched && entry.msg === 'connection opened' && typeof entry.conn === 'string') {
    watch.connections.add(entry.conn);
    return;
  }
  if (entry.msg === 'connection opened' || entry.msg === 'connection closed') return;
  const words = line.split(/[^\w.-]+/);
  if (fromWatched || line.includes(watch.address) || words.some((word) => watch.connections.has(word))) {
    watch.lines++;
    watch.bytes += Buffer.byteLength(line) + 1;
  }
}

interface FedFigures {
  sent: number;
  /** FED connections the server closed (and that were opened again). */
  closed: number;
  /** Bytes the server sent on FED connections: there should be none. */
  answered: number;
  started: number;
}

/** One batch of FED lines on every FED connection, opening again any the server closed. */
async function sendClientFed(run: Run, connections: LineConnection[], figures: FedFigures): Promise<void> {
  for (let index = 0; index < connections.length; index++) {
    if (connections[index].closed) {
      figures.answered += connections[index].received;
      const reopened = await reconnect(run.server, () => openLines(run.server.port, FED_ADDRESS));
      if (!reopened) return;
      connections[index] = reopened;
      figures.closed++;
    }
    send(run, connections[index].socket, Array.from({ length: FED_BATCH }, () => `${clientFedLine()}\n`).join(''), FED_BATCH);
    figures.sent += FED_BATCH;
  }
}

/** `chat_login_failures_total` by reason, or undefined when the server does not report it. */
async function loginFailures(httpPort: number): Promise<Record<string, number> | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const found: Record<string, number> = {};
    for (const match of text.matchAll(/^chat_login_failures_total\{reason="(\w+)"\} (\d+)/gm)) found[match[1]] = Number(match[2]);
    return Object.keys(found).length > 0 ? found : undefined;
  } catch {
    return undefined;
  }
}

function startServer(dir: string, httpPort: number): Promise<ServerProcess> {
  return startChatServerProcess(dir, [
    'host: 127.0.0.1',
    'hostname: soak.local',
    `database:\n  dataDir: ${join(dir, 'data')}`,
    // The hand-driven peer is configured by name; port 1 answers nobody, so it is never dialled in.
    `federation:\n  peers: [{ address: "${PEER_ADDRESS}:1", hostname: soak-peer }]\n  acceptFrom: [${PEER_ADDRESS}]`,
    `http:\n  port: ${httpPort}`,
    `limits:\n${Object.entries(LIMITS)
      .map(([key, value]) => `  ${key}: ${value}`)
      .join('\n')}`,
    'bcryptCost: 4',
    'logLevel: info',
    'logFormat: json',
  ]);
}

/** SIGTERM, and SIGKILL if that has not ended the server in time. */
async function stopServer(server: ServerProcess): Promise<void> {
  const stopped = server.stop();
  const timer = setTimeout(() => server.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await stopped;
  clearTimeout(timer);
}

/** Everything the results print and the checks read. */
interface Results {
  run: Run;
  /** Seconds until the random lines were all sent, then until every pattern had its answers. */
  sending: number;
  drained: number;
  flood: FloodFigures;
  linkAlive: boolean;
  stuck: number;
  spray: SprayFigures;
  sprayNames: number;
  loginFailures?: Record<string, number>;
  owners: OwnerFigures;
  growth: GrowthFigures;
  channels: ChannelsReading;
  fed: FedFigures;
  fedLog: LogWatch;
  fedSeconds: number;
  crash?: string;
  rssKb: number;
}

const createdAtMost = GROWTH_USERS * LIMITS.channelsPerUser;
const fedLogAllowed = (results: Results) => Math.floor(FED_CONNECTIONS * (results.fedSeconds / FED_LOG_WINDOW_S + 2));
const ownerLogins = (owners: OwnerFigures) => owners.logins.owner + owners.logins.victim;

/** The names of the checks that failed. */
function failedChecks(results: Results): string[] {
  const { owners, growth, channels } = results;
  const checks = {
    crash: !results.crash,
    'stuck connections': results.stuck === 0,
    'peer link': results.linkAlive,
    'legitimate logins': ownerLogins(owners) > 0 && owners.failures.length === 0,
    'channel quota': growth.created <= createdAtMost,
    'CHANNELS reply': channels.complete && channels.stillOpen && channels.grown === growth.created,
    'FED log lines': results.fedLog.lines <= fedLogAllowed(results),
    'FED answers': results.fed.answered === 0,
    'patterns ran': results.run.errors.length === 0,
  };
  return Object.entries(checks)
    .filter(([, passed]) => !passed)
    .map(([name]) => name);
}

const seconds = (fromMs: number, toMs: number) => Math.max((toMs - fromMs) / 1000, 0.001);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const max = (values: readonly number[]) => values.reduce((a, b) => Math.max(a, b), 0);

function printResults(results: Results, failed: readonly string[]): void {
  const { run, sending, flood, spray, growth, fed } = results;
  console.log('soak results');
  console.log(
    `  lines sent            ${run.lines} (${(run.bytes / 1048576).toFixed(1)} MiB) in ${sending.toFixed(1)} s (${Math.round(run.lines / sending)} lines/s)`,
  );
  console.log(
    `    by pattern          random ${flood.clientLines}, peer link ${flood.linkLines}, login spray ${spray.sent}, channel growth ${growth.sent}, FED from clients ${fed.sent}, legitimate logins ${ownerLogins(results.owners)}`,
  );
  console.log(`  all answered after    ${results.drained.toFixed(1)} s more (the server works through what it was sent)`);
  console.log(`  client connections    ${CLIENTS}, reconnected after a server close: ${flood.reconnects}`);
  console.log(`  peer link             ${results.linkAlive ? 'alive and answering' : 'NOT answering'}`);
  printLogins(results);
  printChannels(results);
  printClientFed(results);
  console.log(`  server crashed        ${results.crash ? `YES (${results.crash})` : 'no'}`);
  console.log(`  stuck connections     ${results.stuck}`);
  console.log(`  server RSS at the end ${(results.rssKb / 1024).toFixed(1)} MiB`);
  for (const error of run.errors) console.log(`  pattern error         ${error}`);
  console.log(`  failed checks         ${failed.length > 0 ? failed.join(', ') : 'none'}`);
}

function printLogins({ spray, sprayNames, loginFailures, owners }: Results): void {
  const spraySeconds = seconds(spray.started, spray.lastAnswer);
  console.log(
    `  login spray           ${spray.sent} wrong passwords from ${SPRAY_ADDRESS} over ${sprayNames} names, every 5th at victim, in ${spraySeconds.toFixed(1)} s`,
  );
  console.log(
    `                        ${spray.answered} answered (${spray.failed} RESULT LOGIN 0), ${Math.round(spray.answered / spraySeconds)} answered/s, connections closed by the server ${spray.closed}`,
  );
  // The server counts by reason only, over all addresses; only the spray fails LOGINs here.
  const checked = loginFailures?.credentials;
  console.log(
    loginFailures && checked !== undefined
      ? `  password checks       ${checked} (${(checked / spraySeconds).toFixed(1)}/s over the spray; ${LIMITS.loginFailuresPerAddressPerMinute} failures a minute allowed from one address), refused unchecked: ${loginFailures.account ?? 0} for the account, ${loginFailures.address ?? 0} for the address`
      : '  password checks       not told (no chat_login_failures_total)',
  );
  const first = owners.failures.length > 0 ? ` (first: ${owners.failures[0]})` : '';
  console.log(
    `  legitimate logins     ${ownerLogins(owners)} from ${OWNER_ADDRESS} (owner ${owners.logins.owner}, victim ${owners.logins.victim}), failed ${owners.failures.length}${first}, latency median ${median(owners.latenciesMs).toFixed(1)} ms, max ${max(owners.latenciesMs).toFixed(1)} ms`,
  );
}

function printChannels({ growth, channels }: Results): void {
  console.log(
    `  channel growth        ${growth.created} created by ${GROWTH_USERS} users from ${GROWTH_ADDRESS} (at most ${createdAtMost}), ${growth.refused} refused, in ${seconds(growth.started, growth.lastAnswer).toFixed(1)} s; connections closed by the server ${growth.closed}`,
  );
  console.log(
    `  CHANNELS at the end   ${channels.complete ? 'complete' : 'INCOMPLETE'}: ${channels.bytes} bytes read in ${channels.ms.toFixed(1)} ms, ${channels.listed} channels (${channels.grown} grown), connection ${channels.stillOpen ? 'still open' : 'CLOSED'}`,
  );
}

function printClientFed(results: Results): void {
  const { fed, fedLog } = results;
  console.log(
    `  FED from clients      ${fed.sent} lines on ${FED_CONNECTIONS} connections from ${FED_ADDRESS}, ${fed.answered} bytes answered, connections closed by the server ${fed.closed}`,
  );
  console.log(
    `  log about them        ${fedLog.lines} lines, ${fedLog.bytes} bytes (at most ${fedLogAllowed(results)} lines in ${results.fedSeconds.toFixed(1)} s): ${((fedLog.bytes / Math.max(fed.sent, 1)) * 1000).toFixed(1)} bytes per 1000 FED lines`,
  );
}

interface FloodFigures {
  clientLines: number;
  linkLines: number;
  reconnects: number;
}

/** Random and mutated lines from the clients and the peer link, with FED lines from clients, until their share is spent. */
async function flood(
  run: Run,
  clients: Peer[],
  link: Peer,
  fedClients: LineConnection[],
  fed: FedFigures,
): Promise<FloodFigures> {
  const figures: FloodFigures = { clientLines: 0, linkLines: 0, reconnects: 0 };
  while (!spent(run, figures.clientLines + figures.linkLines + fed.sent, 1 - SPRAY_SHARE - GROWTH_SHARE)) {
    for (let index = 0; index < clients.length; index++) {
      if (clients[index].closedByServer) {
        const reopened = await reconnect(run.server, () => open(run.server.port));
        if (!reopened) break;
        clients[index] = reopened;
        figures.reconnects++;
      }
      send(run, clients[index].socket, Buffer.concat(Array.from({ length: 20 }, () => mutate(clientLine()))), 20);
      figures.clientLines += 20;
    }
    const batch = Buffer.concat(Array.from({ length: 50 }, () => mutate(linkLine())));
    if (!link.closedByServer) link.socket.write(batch);
    run.bytes += batch.length;
    run.lines += 50;
    figures.linkLines += 50;
    await sendClientFed(run, fedClients, fed);
    await sleep(5);
  }
  return figures;
}

/**
 * Connections that have not answered once the server has had time to work through everything
 * already sent (it is read at the server's own pace).
 */
async function stuckClients(clients: readonly Peer[]): Promise<number> {
  let stuck = 0;
  await Promise.all(
    clients.map(async (peer) => {
      if (peer.closedByServer) return;
      // A short, fixed reply: CHANNELS may have grown past the receive window by now.
      if (!(await answers(peer, 'JOIN soak-probe', /RESULT JOIN soak-probe 0/, DRAIN_TIMEOUT_MS))) stuck++;
    }),
  );
  return stuck;
}

/** The accounts the patterns need; the names the spray guesses at, existing and not. */
async function setUp(port: number): Promise<{ growers: LineConnection[]; sprayNames: string[] }> {
  const members = Array.from({ length: SPRAY_MEMBERS }, (_, index) => `member${index}`);
  await register(port, OWNER_ADDRESS, [...OWNERS, ...members], OWNER_PASSWORD);
  const growers = await growthUsers(port);
  const ghosts = Array.from({ length: SPRAY_GHOSTS }, (_, index) => `ghost${index}`);
  return { growers, sprayNames: [...members, ...growers.map((_, index) => `grow${index}`), ...ghosts] };
}

async function soak(server: ServerProcess, httpPort: number): Promise<Results> {
  const { port } = server;
  const fedLog = watchLog(server, FED_ADDRESS);
  const { growers, sprayNames } = await setUp(port);
  const run: Run = { server, lines: 0, bytes: 0, ownersDone: false, errors: [] };
  const started = Date.now();
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => open(port)));
  clients.forEach((peer, index) =>
    peer.socket.write(`REGISTER soak${index} pw\nLOGIN soak${index} pw\nCREATE lobby\nJOIN lobby\n`),
  );
  const link = await open(port, PEER_ADDRESS);
  link.socket.write('FEDERATE-OUT soak-peer\n');
  const fedClients = await Promise.all(Array.from({ length: FED_CONNECTIONS }, () => openLines(port, FED_ADDRESS)));

  const spray: SprayFigures = { sent: 0, answered: 0, failed: 0, closed: 0, started: 0, lastAnswer: 0 };
  const owners: OwnerFigures = { logins: { owner: 0, victim: 0 }, failures: [], latenciesMs: [] };
  const growth: GrowthFigures = { sent: 0, created: 0, refused: 0, closed: 0, started: 0, lastAnswer: 0 };
  const fed: FedFigures = { sent: 0, closed: 0, answered: 0, started: performance.now() };
  const spraying = reported(run, 'login spray', sprayLogins(run, sprayNames, spray));
  const growing = reported(run, 'channel growth', growChannels(run, growers, growth));
  const ownersLoggingIn = reported(run, 'legitimate logins', ownersLogIn(run, owners));
  const floodFigures = await flood(run, clients, link, fedClients, fed);
  const sending = (Date.now() - started) / 1000;

  const [stuck] = await Promise.all([stuckClients(clients), spraying, growing]);
  const drained = (Date.now() - started) / 1000 - sending;
  const linkAlive =
    !link.closedByServer && (await answers(link, 'FEDJOIN probe@soak-peer lobby', /FEDRESULT probe JOIN lobby:soak\.local [01]/));
  run.ownersDone = true;
  await ownersLoggingIn;
  const channels = await readChannels(server);
  const failures = await loginFailures(httpPort);

  fed.answered += fedClients.reduce((sum, connection) => sum + connection.received, 0);
  for (const connection of fedClients) connection.socket.destroy();
  // The server may write the last summary of a connection when it closes.
  await sleep(500);
  const crash = server.crash();
  return {
    run,
    sending,
    drained,
    flood: floodFigures,
    linkAlive,
    stuck,
    spray,
    sprayNames: sprayNames.length + 1,
    loginFailures: failures,
    owners,
    growth,
    channels,
    fed,
    fedLog,
    fedSeconds: (performance.now() - fed.started) / 1000,
    crash,
    rssKb: crash ? 0 : server.rssKb(),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-soak-'));
  const httpPort = await freePort();
  let server: ServerProcess;
  try {
    server = await startServer(dir, httpPort);
  } catch (error) {
    console.error('soak:', error);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  const watchdog = setTimeout(() => {
    console.error(`soak: not finished after ${RUN_TIMEOUT_MS / 60_000} minutes; stopping`);
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  let passed = false;
  try {
    const results = await soak(server, httpPort);
    const failed = failedChecks(results);
    printResults(results, failed);
    passed = failed.length === 0;
  } catch (error) {
    console.error('soak:', error);
  } finally {
    for (const socket of SOCKETS) socket.destroy();
    await stopServer(server);
    clearTimeout(watchdog);
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(passed ? 0 : 1);
}

void main();
