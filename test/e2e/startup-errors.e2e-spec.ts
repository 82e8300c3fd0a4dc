import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadModules } from '../../src/database/embedded-thread';
import { launch } from '../../src/launch';
import { TEMPLATE_ENV } from './harness/databases';
import { started, stopped } from './harness/running';

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-startup-errors-'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const REAL_PGLITE = threadModules.pglite;

afterEach(() => (threadModules.pglite = REAL_PGLITE));

// "Every start-up failure names its cause in plain words."
describe('the embedded database fails with a value that is not an Error', () => {
  test('a full disk (PGlite throws { name: "ErrnoError", errno: 51 }) is one plain line, not [object Object]', async () => {
    const dataDir = mkdtempSync(join(scratch, 'data-'));
    cpSync(process.env[TEMPLATE_ENV] as string, dataDir, { recursive: true });
    threadModules.pglite = require.resolve('../unit/support/full-disk-pglite');
    const stderr: string[] = [];
    const result = await launch(
      ['0'],
      { HOST: '127.0.0.1', CHAT_DATA_DIR: dataDir, LOG_LEVEL: 'error', LOG_FORMAT: 'json' },
      {
        stdout: () => undefined,
        stderr: (text) => stderr.push(text),
      },
    );
    if ('server' in result) {
      const server = result.server;
      started(
        server,
        () => 'chat server that should not have started',
        () => server.close(),
      );
      await server.close();
      stopped(server);
    }
    expect(stderr).toEqual([
      `chat-server: cannot start: the embedded database in ${dataDir} could not be written: no space left on device (ENOSPC)\n`,
    ]);
    expect(result).toEqual({ exitCode: 1 });
  });
});
