import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CuttableProxy } from './harness/cuttable-proxy';
import { TEMPLATE_ENV, testDatabases } from './harness/databases';
import { delay, LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

describe('a client that vanishes', () => {
  const database = testDatabases()[0];
  let server: TestServer;

  beforeEach(async () => {
    server = await TestServer.start(await database.fresh());
  });

  afterEach(() => server.stop());
  afterAll(() => database.dispose());

  test('mid-line: its unfinished command is not run, and everyone else carries on', async () => {
    const ghost = await LineClient.connect(server.port, 'ghost');
    ghost.send('CHANNELS');
    await ghost.expectLine('RESULT CHANNELS ');
    ghost.write('REGISTER ghost pw');
    await delay(50);
    ghost.close();
    const other = await LineClient.connect(server.port, 'other');
    other.send('REGISTER ghost pw');
    await other.expectLine('RESULT REGISTER 1');
    other.close();
  });

  test('mid-write of a long message: nothing half-written is relayed', async () => {
    const listener = await LineClient.connect(server.port, 'listener');
    listener.send('REGISTER lis pw');
    listener.send('LOGIN lis pw');
    listener.send('CREATE room');
    listener.send('JOIN room');
    for (const reply of ['RESULT REGISTER 1', 'RESULT LOGIN 1', 'RESULT CREATE room 1', 'RESULT JOIN room 1'])
      await listener.expectLine(reply);
    const talker = await LineClient.connect(server.port, 'talker');
    talker.send('REGISTER tal pw');
    talker.send('LOGIN tal pw');
    talker.send('JOIN room');
    for (const reply of ['RESULT REGISTER 1', 'RESULT LOGIN 1', 'RESULT JOIN room 1']) await talker.expectLine(reply);
    talker.write(`SAY room ${'y'.repeat(5000)}`);
    talker.close();
    await listener.expectSilence(300);
    listener.close();
  });
});

for (const database of testDatabases().filter(({ name }) => name === 'postgres')) {
  describe('the database goes away and comes back [postgres]', () => {
    afterAll(() => database.dispose());

    test('during the outage commands that need it fail cleanly; afterwards service resumes by itself', async () => {
      const { proxy, url } = await CuttableProxy.inFrontOf((await database.fresh()).url as string);
      const server = await TestServer.start({ url, dataDir: './unused' });
      const alice = await LineClient.connect(server.port, 'alice');
      try {
        for (const [line, reply] of [
          ['REGISTER alice pw', 'RESULT REGISTER 1'],
          ['LOGIN alice pw', 'RESULT LOGIN 1'],
          ['CREATE room', 'RESULT CREATE room 1'],
          ['JOIN room', 'RESULT JOIN room 1'],
        ]) {
          alice.send(line);
          await alice.expectLine(reply);
        }
        await proxy.cut();
        alice.send('CREATE during');
        await alice.expectLine('RESULT CREATE during 0', 10000);
        const bob = await LineClient.connect(server.port, 'bob');
        bob.send('REGISTER bob pw');
        await bob.expectLine('RESULT REGISTER 0', 10000);
        // What lives in memory keeps working.
        alice.send('SAY room still here');
        await alice.expectLine('RECV alice room still here');
        alice.send('CHANNELS');
        await alice.expectLine('RESULT CHANNELS room');

        await proxy.open();
        bob.send('REGISTER bob pw');
        await bob.expectLine('RESULT REGISTER 1', 10000);
        alice.send('CREATE after');
        await alice.expectLine('RESULT CREATE after 1', 10000);
        bob.close();
      } finally {
        alice.close();
        await server.stop();
        await proxy.cut();
      }
    });
  });
}

describe('SIGTERM under load', () => {
  let scratch: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'chat-sigterm-'));
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  function start(
    dataDir: string,
    config: string,
  ): { child: ChildProcess; port: Promise<number>; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [MAIN, '0', config], {
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', BCRYPT_COST: '4', CHAT_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    const port = new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on [\d.]+:(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', () => reject(new Error(`server exited before listening:\n${output}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, port, exited };
  }

  // "SIGTERM under load loses no acknowledged write: every RESULT … 1 is in the database after a restart."
  test('every REGISTER acknowledged before shutdown is in the database after a restart', async () => {
    const dataDir = join(scratch, 'data');
    cpSync(process.env[TEMPLATE_ENV] as string, dataDir, { recursive: true });
    const config = join(scratch, 'config.yaml');
    writeFileSync(config, 'limits:\n  exemptLoopback: true\n');

    const first = start(dataDir, config);
    const port = await first.port;
    const writers = await Promise.all(Array.from({ length: 20 }, (_, index) => LineClient.connect(port, `w${index}`)));
    const acknowledged: string[] = [];
    const collecting = writers.map(async (writer, index) => {
      for (let k = 0; k < 50; k++) writer.send(`REGISTER u${index}x${k} pw`);
      for (let k = 0; k < 50; k++) {
        let line: string;
        try {
          line = await writer.readLine(15000);
        } catch {
          return;
        }
        if (line === 'RESULT REGISTER 1') acknowledged.push(`u${index}x${k}`);
      }
    });
    while (acknowledged.length < 100) await delay(5);
    first.child.kill('SIGTERM');
    await Promise.all(collecting);
    expect(await first.exited).toBe(0);
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);

    const second = start(dataDir, config);
    const checker = await LineClient.connect(await second.port, 'checker');
    for (const name of acknowledged) {
      checker.send(`REGISTER ${name} pw`);
      await checker.expectLine('RESULT REGISTER 0');
    }
    checker.close();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
