import { PGlite } from '@electric-sql/pglite';
import { testDatabases } from './harness/databases';
import { LineClient } from './harness/line-client';
import { LogCapture } from './harness/log-capture';
import { TestServer } from './harness/test-server';

const database = testDatabases()[0];
afterAll(() => database.dispose());

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// "LOGIN for an unknown user and LOGIN with a wrong password take the same time within noise."
test('LOGIN for an unknown user and with a wrong password take the same time, over many tries', async () => {
  const server = await TestServer.start(await database.fresh(), {
    bcryptCost: 8,
    limits: { loginFailuresPerMinute: 1_000_000, commandsPerSecond: 1_000_000, commandBurst: 1_000_000 },
  });
  const client = await LineClient.connect(server.port, 'timer');
  try {
    client.send('REGISTER known right');
    await client.expectLine('RESULT REGISTER 1');
    const timeOf = async (line: string): Promise<number> => {
      const started = process.hrtime.bigint();
      client.send(line);
      await client.expectLine('RESULT LOGIN 0');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let round = 0; round < 40; round++) {
      unknown.push(await timeOf(`LOGIN nobody${round} guess`));
      wrong.push(await timeOf('LOGIN known guess'));
    }
    const [unknownMedian, wrongMedian] = [median(unknown), median(wrong)];
    // Both ran bcrypt at cost 8 (several milliseconds), and neither is noticeably faster.
    expect(Math.min(unknownMedian, wrongMedian)).toBeGreaterThan(1);
    expect(Math.abs(unknownMedian - wrongMedian) / Math.max(unknownMedian, wrongMedian)).toBeLessThan(0.3);
  } finally {
    client.close();
    await server.stop();
  }
});

// "Passwords never appear in logs, in errors, or in the database."
test('passwords never reach the logs or the database', async () => {
  const secret = 'Corr3ct-H0rse-Battery';
  // Everything the server writes: its log lines, and anything else on stdout or stderr.
  const logs = new LogCapture();
  const written: string[] = [];
  const capture = (stream: NodeJS.WriteStream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  const stdout = capture(process.stdout);
  const stderr = capture(process.stderr);
  const settings = await database.fresh();
  try {
    const server = await TestServer.start(
      settings,
      { logLevel: 'debug', limits: { loginFailuresPerMinute: 2 } },
      { logDestination: logs },
    );
    const client = await LineClient.connect(server.port, 'user');
    for (const [line, reply] of [
      [`REGISTER holder ${secret}`, 'RESULT REGISTER 1'],
      [`REGISTER holder ${secret}`, 'RESULT REGISTER 0'],
      [`LOGIN holder ${secret}x`, 'RESULT LOGIN 0'],
      [`LOGIN nobody ${secret}`, 'RESULT LOGIN 0'],
      [`LOGIN holder ${secret}`, 'RESULT LOGIN 1'],
      [`LOGIN holder ${secret}`, 'RESULT LOGIN 0'],
    ]) {
      client.send(line);
      await client.expectLine(reply);
    }
    client.close();
    await server.stop();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const everything = [...logs.raw, ...written].join('');
  expect(logs.entries.map((entry) => entry.msg)).toEqual(expect.arrayContaining(['connection opened', 'connection closed']));
  expect(everything).not.toContain(secret);

  const stored = await PGlite.create(settings.dataDir);
  try {
    const { rows } = await stored.query<{ name: string; password_hash: string }>('SELECT * FROM users');
    expect(rows.map((row) => row.name)).toEqual(['holder']);
    expect(rows[0].password_hash).toMatch(/^\$2b\$04\$.{53}$/);
    expect(JSON.stringify(rows)).not.toContain(secret);
  } finally {
    await stored.close();
  }
});
