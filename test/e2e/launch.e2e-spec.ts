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
  output: () => string;
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
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, port: 0, output: () => output, exited };
}

async function listening(running: Running, timeoutMs = 20000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /listening on [\d.]+:(\d+)/.exec(running.output());
    if (match) return Number(match[1]);
    if (running.child.exitCode !== null) throw new Error(`server exited early:\n${running.output()}`);
    if (Date.now() > deadline) throw new Error(`server did not report listening:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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

describe('launch line: node dist/main.js [port] [configuration]', () => {
  // "An unreadable or invalid configuration stops the server at start with a one-line message
  // naming the file, the key and the problem, and exit code 2."
  test('an invalid key value exits 2 with one line naming the file, the key and the problem', async () => {
    const config = file('bad.yaml', 'limits:\n  maxLineBytes: 10\n');
    const { code, output } = await exitCodeOf(['0', config]);
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toContain(`${config}: limits.maxLineBytes: must be at least 256`);
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
    const first = running.output().split('\n')[0];
    expect(first).toMatch(/INFO.*\[LineServer\] listening on 127\.0\.0\.1:\d+/);
    expect(first.startsWith('{')).toBe(false);
  });

  // The image's HEALTHCHECK: `node dist/healthcheck.js` against HTTP_PORT.
  test('the container health check exits 0 when ready and 1 when nothing answers', async () => {
    const httpPort = await freePortOn('127.0.0.1');
    const check = (env: NodeJS.ProcessEnv) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [HEALTHCHECK], {
          env: { PATH: process.env.PATH, ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (chunk) => (stderr += chunk));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const before = await check({ HTTP_PORT: String(httpPort) });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`no answer from http://127.0.0.1:${httpPort}/readyz`);
    const running = run(['0'], { CHAT_DATA_DIR: dataDir(), HTTP_PORT: String(httpPort) });
    try {
      await listening(running);
      expect(await check({ HTTP_PORT: String(httpPort) })).toEqual({ code: 0, stderr: '' });
    } finally {
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
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
