import { spawn } from 'node:child_process';
import { createServer, Server, Socket } from 'node:net';
import { join } from 'node:path';
import { CuttableProxy } from './harness/cuttable-proxy';
import { testDatabases } from './harness/databases';
import { LineClient } from './harness/line-client';
import { started, stopped } from './harness/running';
import { TestServer } from './harness/test-server';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/** A database address that accepts connections and never says a word: packets dropped, not refused. */
async function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    stopped(server);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  started(server, () => `silent database on 127.0.0.1:${port}`, close);
  return { port, close };
}

interface Exited {
  readonly code: number | null;
  readonly stderr: string[];
  readonly warnings: string[];
  readonly ms: number;
}

/** Runs the server until it stops by itself, or kills it after `limitMs`. */
function runUntilExit(env: NodeJS.ProcessEnv, limitMs: number): Promise<Exited> {
  const begun = Date.now();
  const child = spawn(process.execPath, [MAIN, '0'], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(limit);
      const lines = (text: string) => text.split('\n').filter((line) => line !== '');
      const warnings = lines(stdout)
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.level >= 40)
        .map((entry) => entry.msg);
      resolve({ code, stderr: lines(stderr), warnings, ms: Date.now() - begun });
    }),
  );
}

/** Loading the server takes a moment before it dials the database; this is that moment and some. */
const START_SLACK_MS = 4000;

describe('a database that does not answer at start', () => {
  // "A start with no reachable database exits 1 with one line within the timeout."
  test('exits 1 with one line naming the database and the timeout, within the timeout (the default retries are not spent on it)', async () => {
    const silent = await blackHole();
    try {
      const result = await runUntilExit(
        {
          DATABASE_URL: `postgres://postgres@127.0.0.1:${silent.port}/chat`,
          DATABASE_CONNECT_TIMEOUT_MS: '500',
        },
        20000,
      );
      expect(result.stderr).toEqual([
        `chat-server: cannot start: cannot connect to the database: no answer from PostgreSQL at 127.0.0.1:${silent.port} within 500 ms`,
      ]);
      expect(result.code).toBe(1);
      expect(result.ms).toBeLessThan(500 + START_SLACK_MS);
    } finally {
      await silent.close();
    }
  });

  test('a database that never answers is not retried, whatever the retries allow', async () => {
    const silent = await blackHole();
    try {
      const result = await runUntilExit(
        {
          DATABASE_URL: `postgres://postgres@127.0.0.1:${silent.port}/chat`,
          DATABASE_CONNECT_RETRIES: '1',
          DATABASE_CONNECT_RETRY_DELAY_MS: '100',
          DATABASE_CONNECT_TIMEOUT_MS: '500',
        },
        20000,
      );
      const silence = `no answer from PostgreSQL at 127.0.0.1:${silent.port} within 500 ms`;
      expect(result.warnings).toEqual([]);
      expect(result.stderr).toEqual([`chat-server: cannot start: cannot connect to the database: ${silence}`]);
      expect(result.code).toBe(1);
      expect(result.ms).toBeLessThan(500 + START_SLACK_MS);
    } finally {
      await silent.close();
    }
  });
});

for (const database of testDatabases().filter(({ name }) => name === 'postgres')) {
  describe('the database stops answering while serving [postgres]', () => {
    afterAll(() => database.dispose());

    // "A REGISTER while the database is black-holed gets its failure reply within the timeout, and
    // the next command on that connection runs."
    test('a command gets its failure reply within the statement timeout; later commands run; service resumes', async () => {
      const { proxy, url } = await CuttableProxy.inFrontOf((await database.fresh()).url as string);
      const server = await TestServer.start({ url, dataDir: './unused', connectTimeoutMs: 500, statementTimeoutMs: 500 });
      const alice = await LineClient.connect(server.port, 'alice');
      try {
        await alice.registerAndLogin('alice');
        alice.send('CREATE room');
        await alice.expectLine('RESULT CREATE room 1');

        proxy.swallow();
        const sent = Date.now();
        alice.send('REGISTER bob pw');
        alice.send('CHANNELS');
        await alice.expectLine('RESULT REGISTER 0', 5000);
        // 500 ms on the server, a second more on the client for an answer that never comes.
        expect(Date.now() - sent).toBeLessThan(500 + 1000 + 1000);
        await alice.expectLine('RESULT CHANNELS room', 1000);
        alice.send('CREATE during');
        await alice.expectLine('RESULT CREATE during 0', 5000);

        proxy.restore();
        alice.send('REGISTER carol pw');
        await alice.expectLine('RESULT REGISTER 1', 10000);
        alice.send('CREATE after');
        await alice.expectLine('RESULT CREATE after 1', 5000);
      } finally {
        alice.close();
        await server.stop();
        await proxy.cut();
      }
    });
  });
}
