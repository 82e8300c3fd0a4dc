import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { POOL_NICENESS } from '../../src/config/thread-pool';
import { TEMPLATE_ENV } from './harness/databases';
import { LineClient } from './harness/line-client';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

interface Launched {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-startup-'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A folder holding the migrated embedded database, as a server leaves it. */
function migratedFolder(): string {
  const folder = mkdtempSync(join(scratch, 'data-'));
  cpSync(process.env[TEMPLATE_ENV] as string, folder, { recursive: true });
  return folder;
}

/** Starts a server on `dataDir`; with `templateDir`, new databases are copied from a template there. */
function start(dataDir: string, templateDir?: string): Launched {
  const env = { PATH: process.env.PATH, HOST: '127.0.0.1', BCRYPT_COST: '4', CHAT_DATA_DIR: dataDir, LOG_FORMAT: 'json' };
  const child = spawn(process.execPath, [MAIN, '0'], {
    env: templateDir ? { ...env, CHAT_TEMPLATE_DIR: templateDir } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Waits until the server's log holds a line whose message matches `pattern`. */
async function logged(server: Launched, pattern: RegExp, timeoutMs = 30000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of server.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      const match = pattern.exec((JSON.parse(line) as { msg: string }).msg);
      if (match) return match;
    }
    if (server.child.exitCode !== null) throw new Error(`the server exited before logging ${pattern}:\n${server.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no log line matched ${pattern} within ${timeoutMs} ms:\n${server.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function port(server: Launched): Promise<number> {
  return Number((await logged(server, /^listening on [\d.]+:(\d+)$/))[1]);
}

async function stop(server: Launched): Promise<void> {
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}

async function session(server: Launched, ...exchange: Array<[string, string]>): Promise<void> {
  const client = await LineClient.connect(await port(server));
  try {
    for (const [line, reply] of exchange) {
      client.send(line);
      await client.expectLine(reply, 10000);
    }
  } finally {
    client.close();
  }
}

describe('one embedded database folder, one server', () => {
  // A second server on the same folder would lose the first one's writes.
  test('a second server on the same folder exits 1 with one line naming the folder and the holder', async () => {
    const folder = migratedFolder();
    const first = start(folder);
    await session(first, ['REGISTER alice pw', 'RESULT REGISTER 1']);

    const second = start(folder);
    expect(await second.exited).toBe(1);
    const lines = second.stderr().trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`^chat-server: cannot start: the embedded database folder ${folder} is in use by process ${first.child.pid} `),
      ),
    ]);

    await session(first, ['LOGIN alice pw', 'RESULT LOGIN 1'], ['CREATE room', 'RESULT CREATE room 1']);
    await stop(first);
    const again = start(folder);
    await session(again, ['LOGIN alice pw', 'RESULT LOGIN 1'], ['CHANNELS', 'RESULT CHANNELS room']);
    await stop(again);
  });

  test('the lock of a killed server (SIGKILL) does not block the next start, and its data is there', async () => {
    const folder = migratedFolder();
    const killed = start(folder);
    await session(
      killed,
      ['REGISTER bob pw', 'RESULT REGISTER 1'],
      ['LOGIN bob pw', 'RESULT LOGIN 1'],
      ['CREATE hall', 'RESULT CREATE hall 1'],
    );
    killed.child.kill('SIGKILL');
    await killed.exited;

    const next = start(folder);
    await session(next, ['LOGIN bob pw', 'RESULT LOGIN 1'], ['CHANNELS', 'RESULT CHANNELS hall']);
    await stop(next);
  });

  test('a folder that is neither empty nor an embedded database is refused, and left as it was', async () => {
    const folder = join(scratch, 'not-a-database');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'mine\n');
    const server = start(folder);
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toContain(`${folder} is not empty and holds no embedded database`);
    expect(readdirSync(folder)).toEqual(['notes.txt']);
  });
});

/** Each thread of a process and its niceness (`/proc/<pid>/task/<tid>/stat`, field 19). */
function nicenessByThread(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses: state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.set(Number(tid), Number(fields[16]));
  }
  return threads;
}

describe("libuv's pool", () => {
  test('its threads, where bcrypt runs, have a lower priority than the event loop; the other threads keep theirs', async () => {
    const server = start(migratedFolder());
    await session(server, ['REGISTER carol pw', 'RESULT REGISTER 1'], ['LOGIN carol pw', 'RESULT LOGIN 1']);
    const pid = server.child.pid as number;
    const threads = nicenessByThread(pid);
    const lowered = [...threads].filter(([, nice]) => nice === POOL_NICENESS).map(([tid]) => tid);
    expect(threads.get(pid)).toBe(0);
    expect(lowered).toHaveLength(Math.max(4, availableParallelism() + 2));
    expect(lowered).not.toContain(pid);
    expect([...threads.values()].filter((nice) => nice !== 0 && nice !== POOL_NICENESS)).toEqual([]);
    await stop(server);
  });
});

describe('start-up', () => {
  /** The messages a server logged before it listened. */
  async function untilListening(server: Launched): Promise<string[]> {
    await port(server);
    const messages = server
      .stdout()
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    return messages.slice(
      0,
      messages.findIndex((message) => message.startsWith('listening on ')),
    );
  }

  test('says what the embedded database is doing while it is created from a template, then opened', async () => {
    const template = join(mkdtempSync(join(scratch, 'cache-')), 'template');
    const first = join(mkdtempSync(join(scratch, 'new-')), 'data');
    const server = start(first, template);
    expect(await untilListening(server)).toEqual(
      expect.arrayContaining([
        `using the embedded database in ${first}`,
        `creating a new embedded database in ${first} (the first on this installation; this takes a few seconds)`,
        expect.stringMatching(/^embedded database created with a new template \(once per installation\) and open \(\d+\.\d s\)$/),
      ]),
    );
    await stop(server);

    const second = join(mkdtempSync(join(scratch, 'new-')), 'data');
    const next = start(second, template);
    expect(await untilListening(next)).toEqual(
      expect.arrayContaining([
        `creating a new embedded database in ${second} from the template in ${template}`,
        expect.stringMatching(/^embedded database created from the template and open \(\d+\.\d s\)$/),
      ]),
    );
    await stop(next);

    const again = start(second, template);
    expect(await untilListening(again)).toEqual(
      expect.arrayContaining([
        `opening the embedded database in ${second}`,
        expect.stringMatching(/^embedded database open \(\d+\.\d s\)$/),
      ]),
    );
    await stop(again);
  });

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s while the database is being created stops at once with a line, and the next start works',
    async (signal, code) => {
      // A template not made yet: this creation runs initdb, which takes seconds.
      const cache = mkdtempSync(join(scratch, 'cache-'));
      const template = join(cache, 'template');
      const folder = join(mkdtempSync(join(scratch, 'interrupted-')), 'data');
      const server = start(folder, template);
      await logged(server, /^creating a new embedded database .* \(the first on this installation/);
      // Into initdb, which holds its thread for seconds at a time.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const sent = Date.now();
      server.child.kill(signal);
      expect(await server.exited).toBe(code);
      // Before, the signal waited for the whole start: 17–22 s. The bound is loose for a busy machine.
      expect(Date.now() - sent).toBeLessThan(5000);
      expect(server.stderr()).toBe(`chat-server: ${signal} received during start-up: stopped before serving\n`);
      expect(readdirSync(folder)).toContain('.chat-server-creating');
      expect(readdirSync(cache)).not.toContain('template');

      const next = start(folder, template);
      await logged(next, /^removing the embedded database whose creation was interrupted in /);
      await session(next, ['REGISTER carol pw', 'RESULT REGISTER 1']);
      await stop(next);
      expect(readdirSync(folder).filter((entry) => entry.startsWith('.'))).toEqual([]);
      expect(readdirSync(folder)).toContain('PG_VERSION');
      // The half-made template of the stopped start is gone; the whole one is in its place.
      expect(readdirSync(cache)).toEqual(['template']);
    },
    // Two creations of a database, one cut short: half a minute on a machine busy with other suites.
    120_000,
  );
});
