import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../../src/launch';
import { TEMPLATE_ENV } from './harness/databases';
import { freePort as freePortOn } from './harness/federation';
import { LineClient } from './harness/line-client';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const HEALTHCHECK = join(__dirname, '..', '..', 'dist', 'healthcheck.js');

interface Running {
  child: ChildProcess;
  port: number;
  /** stdout and stderr as they came. */
  output: () => string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-launch-'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** A data directory already holding the migrated schema, so the embedded database starts fast. */
function dataDir(): string {
  const dir = mkdtempSync(join(scratch, 'data-'));
  cpSync(process.env[TEMPLATE_ENV] as string, dir, { recursive: true });
  return dir;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', BCRYPT_COST: '4', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  // 'close' rather than 'exit': the streams are read to their end.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, port: 0, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

async function listening(running: Running, timeoutMs = 20000, pattern = /listening on [\d.]+:(\d+)/): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(running.output());
    if (match) return Number(match[1]);
    if (running.child.exitCode !== null) throw new Error(`server exited early:\n${running.output()}`);
    if (Date.now() > deadline) throw new Error(`server did not report ${pattern}:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** HTTP starts after the line protocol, so its own log line is what says it is up. */
function httpListening(running: Running): Promise<number> {
  return listening(running, 20000, /health and metrics on http:\/\/\S+:(\d+)/);
}

/** The launched server answers CHANNELS, then SIGTERM stops it with exit code 0. */
async function servesThenStops(running: Running): Promise<void> {
  try {
    const client = await LineClient.connect(await listening(running));
    client.send('CHANNELS');
    await client.expectLine('RESULT CHANNELS ');
    client.close();
  } finally {
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  }
}

async function exitCodeOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const running = run(args, env);
  const code = await running.exited;
  return { code, output: running.output() };
}

interface Stopped {
  readonly code: number | null;
  readonly stderr: string[];
  /** The log lines at warn and above. */
  readonly warnings: string[];
  readonly output: string;
  readonly ms: number;
}

/** Runs a server that is expected to stop by itself, and sorts what it wrote. */
async function stoppedRun(args: string[], env: NodeJS.ProcessEnv): Promise<Stopped> {
  const started = Date.now();
  const running = run(args, { LOG_FORMAT: 'json', ...env });
  const code = await running.exited;
  const lines = (text: string) => text.split('\n').filter((line) => line !== '');
  const warnings = lines(running.stdout())
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level >= 40)
    .map((entry) => entry.msg);
  return { code, stderr: lines(running.stderr()), warnings, output: running.output(), ms: Date.now() - started };
}

const STACK_LINE = '    at ';

/** `node dist/healthcheck.js`, as the image's HEALTHCHECK runs it. */
function healthCheck(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HEALTHCHECK], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('launch line: node dist/main.js [port] [configuration]', () => {
  // "An unreadable or invalid configuration stops the server at start with a one-line message
  // naming the file, the key and the problem, and exit code 2."
  test('an invalid key value exits 2 with one line naming the file, the key and the problem', async () => {
    const config = file('bad.yaml', 'limits:\n  maxLineBytes: 10\n');
    const { code, output } = await exitCodeOf(['0', config]);
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toContain(`${config}: limits.maxLineBytes: must be from 256 to 1048576, got 10`);
  });

  test('an unreadable configuration file exits 2', async () => {
    const { code, output } = await exitCodeOf(['0', join(scratch, 'missing.yaml')]);
    expect(code).toBe(2);
    expect(output).toContain('missing.yaml: cannot read the file (ENOENT)');
  });

  test('an invalid environment override exits 2 naming the variable', async () => {
    const { code, output } = await exitCodeOf([], { BCRYPT_COST: 'lots' });
    expect(code).toBe(2);
    expect(output).toContain('environment variable BCRYPT_COST: bcryptCost: expected an integer');
  });

  test('a port argument out of range exits 2', async () => {
    const { code } = await exitCodeOf(['70000']);
    expect(code).toBe(2);
  });

  test('port -1 exits 2 as a port out of range, not as a missing configuration file', async () => {
    const { code, output } = await exitCodeOf(['-1']);
    expect(code).toBe(2);
    expect(output).toBe('chat-server: invalid configuration: command line: port: must be from 0 to 65535, got "-1"\n');
  });

  test('a peers list with one bad line exits 2 naming the file and the line', async () => {
    const peers = file('bad-peers.txt', '# federation peers\n127.0.0.1:4401\n127.0.0.1:99999\n127.0.0.1:4403\n');
    const { code, output } = await exitCodeOf(['0', peers]);
    expect(code).toBe(2);
    expect(output).toBe(
      `chat-server: invalid configuration: ${peers}: line 3: expected <host>:<port> with a port from 1 to 65535, got "127.0.0.1:99999"\n`,
    );
  });

  test('a hostname with a space exits 2 naming the variable and the key', async () => {
    const { code, output } = await exitCodeOf(['0'], { CHAT_HOSTNAME: 'chat example' });
    expect(code).toBe(2);
    expect(output).toBe(
      'chat-server: invalid configuration: environment variable CHAT_HOSTNAME: hostname: must not contain " "' +
        ' (whitespace, control characters, "@" and "," are not allowed)\n',
    );
  });

  test('a port already in use exits 1 with a message', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, output } = await exitCodeOf([String(port)], { CHAT_DATA_DIR: dataDir() });
      expect(code).toBe(1);
      expect(output).toContain('chat-server: cannot start');
      expect(output).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });

  test('a peers-list file is accepted as the configuration and the server serves', async () => {
    const peers = file('peers.txt', '# federation peers\n127.0.0.1:4401\n\nserver2.example:4400\n');
    await servesThenStops(run(['0', peers], { CHAT_DATA_DIR: dataDir() }));
  });

  // "SIGINT and SIGTERM shut down gracefully: stop accepting, finish the commands in progress,
  // close client and peer sockets, close the database, exit 0."
  test.each(['SIGTERM', 'SIGINT'] as const)('%s finishes commands in progress, closes clients and exits 0', async (signal) => {
    const running = run(['0'], { CHAT_DATA_DIR: dataDir() });
    const port = await listening(running);
    const client = await LineClient.connect(port);
    client.send('REGISTER late pw');
    await client.expectLine('RESULT REGISTER 1');
    client.send('REGISTER final pw');
    running.child.kill(signal);
    await client.expectLine('RESULT REGISTER 1');
    await client.expectClosed(10000);
    expect(await running.exited).toBe(0);
  });

  test('the YAML configuration and the environment are applied together', async () => {
    const config = file('server.yaml', `database:\n  dataDir: ${dataDir()}\nlogLevel: info\n`);
    const running = run([config], { PORT: '0' });
    try {
      const port = await listening(running);
      expect(port).toBeGreaterThan(0);
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
  });
});

describe('database configuration and start-up failures', () => {
  test('DATABASE_URL=notaurl exits 2 with one line naming the variable and the key', async () => {
    const { code, output } = await exitCodeOf(['0'], { DATABASE_URL: 'notaurl' });
    expect(code).toBe(2);
    expect(output).toBe(
      'chat-server: invalid configuration: environment variable DATABASE_URL: database.url: not a URL: expected' +
        ' postgres://[user[:password]@]host[:port]/database (characters such as @ # / in the password must be percent-encoded)\n',
    );
  });

  test('an unreachable database is retried with one line per retry and no stack, then one line and exit 1', async () => {
    const port = await freePortOn('127.0.0.1');
    const result = await stoppedRun(['0'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/chat`,
      DATABASE_CONNECT_RETRIES: '2',
      DATABASE_CONNECT_RETRY_DELAY_MS: '100',
    });
    expect(result.code).toBe(1);
    const refused = `connect ECONNREFUSED 127.0.0.1:${port}`;
    expect(result.warnings).toEqual([
      `cannot connect to the database (attempt 1 of 3): ${refused}; retrying in 0.1 s`,
      `cannot connect to the database (attempt 2 of 3): ${refused}; retrying in 0.1 s`,
    ]);
    expect(result.stderr).toEqual([`chat-server: cannot start: cannot connect to the database after 3 attempts: ${refused}`]);
    expect(result.output).not.toContain(STACK_LINE);
  });
});

// A missing database or role will not appear by waiting: no retry, one line naming it.
const postgresUrl = process.env.TEST_DATABASE_URL;
(postgresUrl ? describe : describe.skip)('a database or role that does not exist [postgres]', () => {
  const variant = (change: (url: URL) => void): string => {
    const url = new URL(postgresUrl as string);
    change(url);
    return url.toString();
  };
  const server = () => {
    const url = new URL(postgresUrl as string);
    return `${url.hostname}:${url.port || 5432}`;
  };

  test.each([
    ['database', (url: URL) => (url.pathname = '/no_such_db_xyz'), 'database "no_such_db_xyz" does not exist', '3D000'],
    ['role', (url: URL) => (url.username = 'no_such_role_xyz'), 'role "no_such_role_xyz" does not exist', '28000'],
  ])('a missing %s fails at once with one line and exit 1', async (_what, change, message, code) => {
    // Retries that would take 10 s show in the time taken, should any happen.
    const result = await stoppedRun(['0'], {
      DATABASE_URL: variant(change),
      DATABASE_CONNECT_RETRIES: '1',
      DATABASE_CONNECT_RETRY_DELAY_MS: '10000',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([`chat-server: cannot start: ${message} (PostgreSQL at ${server()}, SQLSTATE ${code})`]);
    expect(result.warnings).toEqual([]);
    expect(result.output).not.toContain(STACK_LINE);
    expect(result.ms).toBeLessThan(10000);
  });
});

describe('logs and health of the launched process', () => {
  // "JSON in production and readable in a terminal, with the level from configuration."
  test('logs are one JSON object per line when stdout is not a terminal', async () => {
    const running = run(['0'], { CHAT_DATA_DIR: dataDir() });
    await servesThenStops(running);
    const entries = running
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; time: string; msg: string });
    expect(entries.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listening on /),
        'connection opened',
        'connection closed',
        'SIGTERM received, shutting down',
      ]),
    );
    for (const entry of entries) expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('LOG_FORMAT=pretty writes readable lines instead of JSON', async () => {
    const running = run(['0'], { CHAT_DATA_DIR: dataDir(), LOG_FORMAT: 'pretty' });
    try {
      await listening(running);
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
    const lines = running.output().trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/INFO.*\[LineServer\] listening on 127\.0\.0\.1:\d+/));
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
  });

  // The image's HEALTHCHECK: `node dist/healthcheck.js` against HTTP_PORT.
  test('the container health check exits 0 when ready and 1 when nothing answers', async () => {
    const httpPort = await freePortOn('127.0.0.1');
    const before = await healthCheck({ HTTP_PORT: String(httpPort) });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`no answer from http://127.0.0.1:${httpPort}/readyz`);
    const running = run(['0'], { CHAT_DATA_DIR: dataDir(), HTTP_PORT: String(httpPort) });
    try {
      await httpListening(running);
      expect(await healthCheck({ HTTP_PORT: String(httpPort) })).toEqual({ code: 0, stderr: '' });
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
  });

  // The image sets HTTP_HOST=0.0.0.0; the check calls the address the server binds, on loopback for a wildcard.
  test.each([
    ['127.0.0.2', '127.0.0.2'],
    ['0.0.0.0', '127.0.0.1'],
    ['::', '[::1]'],
  ])('the health check calls HTTP_HOST=%s at %s', async (httpHost, called) => {
    const httpPort = await freePortOn(httpHost);
    const running = run(['0'], { CHAT_DATA_DIR: dataDir(), HTTP_PORT: String(httpPort), HTTP_HOST: httpHost });
    try {
      expect(await httpListening(running)).toBe(httpPort);
      expect(running.output()).toContain(`health and metrics on http://${httpHost}:${httpPort}`);
      expect(await healthCheck({ HTTP_PORT: String(httpPort), HTTP_HOST: httpHost })).toEqual({ code: 0, stderr: '' });
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
    const after = await healthCheck({ HTTP_PORT: String(httpPort), HTTP_HOST: httpHost });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`no answer from http://${called}:${httpPort}/readyz`);
  });
});

describe('launch() in process', () => {
  const output = () => {
    const lines: string[] = [];
    return { lines, stdout: (text: string) => lines.push(text), stderr: (text: string) => lines.push(text) };
  };

  test('--help prints the usage and asks for exit 0', async () => {
    const sink = output();
    await expect(launch(['--help'], {}, sink)).resolves.toEqual({ exitCode: 0 });
    expect(sink.lines.join('')).toContain('Usage: chat-server [options] [port] [configuration]');
  });

  test('--help lists the environment variables with their keys', async () => {
    const sink = output();
    await launch(['--help'], {}, sink);
    const help = sink.lines.join('');
    for (const [variable, key] of [
      ['PORT', 'port'],
      ['CHAT_HOSTNAME', 'hostname'],
      ['DATABASE_URL', 'database.url'],
      ['DATABASE_CONNECT_RETRIES', 'database.connectRetries'],
      ['HTTP_HOST', 'http.host'],
    ]) {
      expect(help).toMatch(new RegExp(`^ {2}${variable} +${key.replace('.', '\\.')}$`, 'm'));
    }
  });

  test('invalid configuration asks for exit 2 and explains why', async () => {
    const sink = output();
    await expect(launch(['1', '2', '3'], {}, sink)).resolves.toEqual({ exitCode: 2 });
    expect(sink.lines.join('')).toMatch(/^chat-server: invalid configuration: command line: /);
  });

  test('valid configuration starts a server that listens', async () => {
    const sink = output();
    const result = await launch(
      ['0'],
      { HOST: '127.0.0.1', CHAT_DATA_DIR: dataDir(), LOG_LEVEL: 'error', BCRYPT_COST: '4' },
      sink,
    );
    if (!('server' in result)) throw new Error(`did not start: ${sink.lines.join('')}`);
    try {
      const client = await LineClient.connect(result.server.address().port);
      client.send('CHANNELS');
      await client.expectLine('RESULT CHANNELS ');
      client.close();
    } finally {
      await result.server.close();
    }
  });
});
