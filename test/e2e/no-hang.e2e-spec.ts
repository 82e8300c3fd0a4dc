import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const JEST = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const HARNESS = '<rootDir>/test/e2e/harness';

/** How long a fixture run may take, compiling included, before this test kills it and fails. */
const CHILD_BOUND_MS = 120_000;

interface FixtureRun {
  readonly code: number | null;
  readonly output: string;
  readonly failures: string[];
  readonly started: { port: number; pids: number[] };
}

interface JestReport {
  numFailedTests: number;
  testResults: Array<{ assertionResults: Array<{ failureMessages: string[] }> }>;
}

let scratch: string;
let running: ChildProcess | undefined;

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-no-hang-'));
});

afterEach(() => {
  // The fixture's jest leads its own process group: whatever of it is left goes with the group.
  if (running?.pid !== undefined) killGroup(running.pid);
  running = undefined;
  rmSync(scratch, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Runs `test/fixtures/<fixture>.spec.ts` in a jest of its own, and kills it if it overruns CHILD_BOUND_MS. */
async function runFixture(fixture: string, settings: Record<string, unknown>): Promise<FixtureRun> {
  const config = join(scratch, 'jest.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      rootDir: ROOT,
      roots: ['<rootDir>/test/fixtures'],
      testRegex: `/${fixture}\\.spec\\.ts$`,
      moduleFileExtensions: ['ts', 'js', 'json'],
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
      testEnvironment: 'node',
      setupFilesAfterEnv: [`${HARNESS}/stop-leftovers.ts`],
      ...settings,
    }),
  );
  const report = join(scratch, 'report.json');
  const child = spawn(process.execPath, [JEST, '--config', config, '--ci', '--json', '--outputFile', report], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules', FIXTURE_REPORT: join(scratch, 'started.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running = child;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let overran = false;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      overran = true;
      killGroup(child.pid as number);
    }, CHILD_BOUND_MS);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (overran)
    throw new Error(`the fixture's jest had not exited after ${CHILD_BOUND_MS / 1000} s; killed it. Its output:\n${output}`);
  const results = JSON.parse(readFileSync(report, 'utf8')) as JestReport;
  return {
    code,
    output,
    failures: results.testResults.flatMap(({ assertionResults }) => assertionResults.flatMap((each) => each.failureMessages)),
    started: JSON.parse(readFileSync(join(scratch, 'started.json'), 'utf8')) as FixtureRun['started'],
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function nothingLeft(run: FixtureRun): Promise<void> {
  expect(await refused(run.started.port)).toBe(true);
  expect(run.started.pids.filter(isRunning)).toEqual([]);
}

describe('a test that times out before its cleanup does not keep jest running', () => {
  test(
    'the harness stops its server, client and child processes, and jest exits by itself reporting the timeout',
    async () => {
      const run = await runFixture('leaves-a-server', { testTimeout: 8000 });
      expect(run.code).toBe(1);
      expect(run.failures).toEqual([expect.stringContaining('Exceeded timeout of 8000 ms')]);
      expect(run.output).not.toContain('jest was still running');
      await nothingLeft(run);
    },
    CHILD_BOUND_MS + 15_000,
  );

  test(
    'what the harness cannot stop, the exit backstop ends, naming what was left open',
    async () => {
      const run = await runFixture('leaves-a-timer', { testTimeout: 1000, globalTeardown: `${HARNESS}/exit-backstop.ts` });
      expect(run.code).toBe(1);
      expect(run.failures).toEqual([expect.stringContaining('Exceeded timeout of 1000 ms')]);
      expect(run.output).toMatch(/jest was still running 5 s after the tests ended, kept alive by .*TCPServerWrap/);
      await nothingLeft(run);
    },
    CHILD_BOUND_MS + 15_000,
  );
});
