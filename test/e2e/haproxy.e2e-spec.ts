import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { testDatabases } from './harness/databases';
import { eventually, freePort } from './harness/federation';
import { LineClient } from './harness/line-client';
import { LogCapture } from './harness/log-capture';
import { TestServer } from './harness/test-server';

const TEMPLATE = join(__dirname, '..', '..', 'deploy', 'haproxy.cfg');
// HAProxy connects to the server from 127.0.0.2, the only address trusted for PROXY headers;
// the client connects to HAProxy from 127.0.0.3, the address the server should see.
const BALANCER = '127.0.0.2';
const CLIENT = '127.0.0.3';

function findHaproxy(): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const directory of directories.filter(Boolean)) {
    const candidate = join(directory, 'haproxy');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

interface LocalPorts {
  readonly frontend: number;
  readonly chat: number;
  readonly http: number;
}

/**
 * deploy/haproxy.cfg with its addresses made local: the frontend on a free loopback port, and its
 * servers replaced by one, the test server, reached from BALANCER; checks go to its HTTP port.
 * Everything else (timeouts, health check, PROXY v2) is the shipped file's.
 */
function localConfig(template: string, ports: LocalPorts): string {
  const lines = template.split('\n');
  const servers = lines.filter((line) => /^\s+server\s/.test(line));
  if (servers.length === 0 || !template.includes('bind :4400') || !template.includes('check port 9400')) {
    throw new Error(`${TEMPLATE} no longer has "bind :4400", "check port 9400" and server lines: update localConfig`);
  }
  const indent = /^\s+/.exec(servers[0])?.[0] ?? '    ';
  const local = `${indent}server chat1 127.0.0.1:${ports.chat} source ${BALANCER}`;
  return lines
    .filter((line) => line === servers[0] || !servers.includes(line))
    .map((line) => (line === servers[0] ? local : line))
    .join('\n')
    .replace('bind :4400', `bind 127.0.0.1:${ports.frontend}`)
    .replace('check port 9400', `check port ${ports.http}`);
}

/** A connection through HAProxy that the server answers. */
async function answersThrough(port: number): Promise<void> {
  const probe = await LineClient.connect(port, 'probe', '127.0.0.1', CLIENT);
  try {
    probe.send('CHANNELS');
    await probe.expectLine('RESULT CHANNELS ', 1000);
  } finally {
    probe.close();
  }
}

const haproxy = findHaproxy();
const describeWithHaproxy = haproxy ? describe : describe.skip;
const title = haproxy
  ? 'HAProxy in front of the server (deploy/haproxy.cfg)'
  : 'HAProxy in front of the server — skipped: haproxy is not installed (apt-get install haproxy)';

describeWithHaproxy(title, () => {
  const database = testDatabases()[0];
  const logs = new LogCapture();
  let server: TestServer;
  let balancer: ChildProcess;
  let directory: string;
  let frontend: number;
  let output = '';

  beforeAll(async () => {
    server = await TestServer.start(
      await database.fresh(),
      { logLevel: 'info', http: { port: await freePort('127.0.0.1') }, proxyProtocol: { from: [BALANCER] } },
      { logDestination: logs },
    );
    directory = mkdtempSync(join(tmpdir(), 'chat-haproxy-'));
    const config = join(directory, 'haproxy.cfg');
    frontend = await freePort('127.0.0.1');
    const ports = { frontend, chat: server.port, http: server.http.port };
    writeFileSync(config, localConfig(readFileSync(TEMPLATE, 'utf8'), ports));
    balancer = spawn(haproxy as string, ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    balancer.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    balancer.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // option log-health-checks: the first GET /readyz that answers 200 is logged.
      await eventually(
        async () => expect(output).toContain('Health check for server chat_servers/chat1 succeeded'),
        15000,
        "HAProxy's health check on /readyz",
      );
      await eventually(() => answersThrough(frontend), 15000, 'HAProxy passing a connection to the server');
    } catch (error) {
      throw new Error(`${(error as Error).message}\nHAProxy's output:\n${output}`, { cause: error });
    }
  });

  afterAll(async () => {
    if (balancer && balancer.exitCode === null && balancer.signalCode === null) {
      const exited = new Promise((resolve) => balancer.once('exit', resolve));
      balancer.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    if (directory) rmSync(directory, { recursive: true, force: true });
    database.dispose();
  });

  // "a connection through the load balancer is logged with the client's address"
  test('a client through HAProxy is logged with its own address, and the balancer as via', async () => {
    logs.clear();
    const client = await LineClient.connect(frontend, 'alice', '127.0.0.1', CLIENT);
    try {
      await client.registerAndLogin('alice');
    } finally {
      client.close();
    }
    const opened = logs.entries.filter((entry) => entry.msg === 'connection opened');
    expect(opened).toEqual([
      expect.objectContaining({
        remote: expect.stringMatching(/^127\.0\.0\.3:\d+$/),
        via: expect.stringMatching(/^127\.0\.0\.2:\d+$/),
      }),
    ]);
  });
});
