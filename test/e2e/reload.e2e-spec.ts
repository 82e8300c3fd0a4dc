import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATE_ENV } from './harness/databases';
import { delay, LineClient } from './harness/line-client';
import { started, stopped } from './harness/running';

/**
 * SIGHUP reloads the configuration of a running `node dist/main.js`, as IRC servers do: limits,
 * log level and peers change at once, what needs a restart is named, and a configuration that
 * does not load is refused with one line while the running one stays (docs/PROTOCOL.md §5).
 */

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

jest.setTimeout(60_000);

interface LogEntry {
  readonly level: number;
  readonly msg: string;
}

class RunningServer {
  private output = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    started(
      this,
      () => `chat server pid ${child.pid}`,
      () => child.kill('SIGKILL'),
    );
    void this.exited.then(() => stopped(this));
  }

  get logs(): LogEntry[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogEntry);
  }

  /** The first log entry matching `pattern` after the first `skip` matches, within `timeoutMs`. */
  async logged(pattern: RegExp, skip = 0, timeoutMs = 10_000): Promise<LogEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.filter((entry) => pattern.test(entry.msg))[skip];
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`the server exited (${this.child.exitCode}):\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`nothing logged matching ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await delay(50);
    }
  }

  async port(): Promise<number> {
    return Number(/listening on [\d.]+:(\d+)/.exec((await this.logged(/^listening on /)).msg)?.[1]);
  }
}

/** A peer that records the first line of each connection made to it. */
class RecordingPeer {
  readonly firstLines: string[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        if (text.includes('\n')) return;
        text += chunk.toString();
        if (text.includes('\n')) this.firstLines.push(text.slice(0, text.indexOf('\n')));
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    started(
      this,
      () => 'recording peer',
      () => this.close(),
    );
    return (this.server.address() as AddressInfo).port;
  }

  close(): void {
    stopped(this);
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
  }
}

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('SIGHUP reloads the configuration', () => {
  let scratch: string;
  let server: RunningServer | undefined;
  let peer: RecordingPeer | undefined;
  let client: LineClient | undefined;

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'chat-reload-'));
  });

  afterEach(async () => {
    client?.close();
    peer?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  async function command(line: string, reply: string): Promise<void> {
    client?.send(line);
    await client?.expectLine(reply, 5000);
  }

  test('limits, log level and peers change at once; a restart-only key is named; a bad file is refused and the old configuration stays', async () => {
    peer = new RecordingPeer();
    const peerPort = await peer.listen();
    const config = join(scratch, 'chat.yaml');
    writeFileSync(config, 'logLevel: info\nlimits:\n  maxChannels: 100\n');
    const dataDir = join(scratch, 'data');
    cpSync(process.env[TEMPLATE_ENV] as string, dataDir, { recursive: true });
    server = new RunningServer(
      spawn(process.execPath, [MAIN, '0', config], {
        env: { PATH: process.env.PATH, HOST: '127.0.0.1', BCRYPT_COST: '4', LOG_FORMAT: 'json', CHAT_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    client = await LineClient.connect(await server.port());
    await command('REGISTER alice pw', 'RESULT REGISTER 1');
    await command('LOGIN alice pw', 'RESULT LOGIN 1');
    await command('CREATE one', 'RESULT CREATE one 1');

    // A second new peer that nobody listens for: failing to reach it is logged at debug.
    const closedPort = await freePort();
    writeFileSync(
      config,
      'logLevel: debug\nhostname: elsewhere.example\nlimits:\n  maxChannels: 1\nfederation:\n  peers:\n' +
        `    - 127.0.0.1:${peerPort}\n    - 127.0.0.1:${closedPort}\n`,
    );
    server.child.kill('SIGHUP');
    const reloaded = await server.logged(/^configuration reloaded/);
    expect(reloaded.level).toBe(30);
    expect(reloaded.msg).toContain('limits.maxChannels');
    expect(reloaded.msg).toContain('logLevel');
    expect(reloaded.msg).toContain('federation.peers');
    expect(reloaded.msg).toMatch(/needs? a restart.*hostname/);
    await command('CREATE two', 'RESULT CREATE two 0');
    // The new peer is dialled, under the running hostname (the new one waits for a restart).
    const deadline = Date.now() + 10_000;
    while (peer.firstLines.length === 0 && Date.now() < deadline) await delay(50);
    expect(peer.firstLines[0]).toMatch(/^FEDERATE-OUT 127\.0\.0\.1:\d+$/);
    // Debug lines are written now.
    expect((await server.logged(new RegExp(`cannot reach peer 127\\.0\\.0\\.1:${closedPort}`))).level).toBe(20);

    writeFileSync(config, 'limits:\n  maxLineBytes: 10\n');
    server.child.kill('SIGHUP');
    const refused = await server.logged(/^configuration not reloaded/);
    expect(refused.level).toBe(50);
    expect(refused.msg).toContain(`${config}: limits.maxLineBytes: must be from 256 to 1048576, got 10`);
    expect(refused.msg).toContain('the running configuration stays');
    await command('CHANNELS', 'RESULT CHANNELS one');
    await command('CREATE three', 'RESULT CREATE three 0');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
