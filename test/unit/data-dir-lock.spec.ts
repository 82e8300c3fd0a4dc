import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUse, lockDataDir } from '../../src/database/data-dir-lock';

let scratch: string;

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-lock-'));
});

afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('lockDataDir', () => {
  test('a second lock on a held folder fails naming the folder and the holding process', async () => {
    const folder = join(scratch, 'data');
    const lock = await lockDataDir(folder);
    try {
      const refused = lockDataDir(folder);
      await expect(refused).rejects.toThrow(DataDirInUse);
      await expect(refused).rejects.toThrow(
        new RegExp(
          `^the embedded database folder ${folder} is in use by process ${process.pid}, this one \\(a chat server started at \\d{4}-`,
        ),
      );
    } finally {
      await lock.release();
    }
  });

  test('a released folder can be locked again', async () => {
    const folder = join(scratch, 'data');
    await (await lockDataDir(folder)).release();
    await (await lockDataDir(folder)).release();
  });

  test('two spellings of one folder share one lock', async () => {
    const folder = join(scratch, 'data');
    const lock = await lockDataDir(folder);
    try {
      symlinkSync(scratch, join(scratch, 'link'));
      await expect(lockDataDir(join(scratch, 'link', '.', 'data'))).rejects.toThrow(DataDirInUse);
    } finally {
      await lock.release();
    }
  });

  test('different folders do not block each other', async () => {
    const one = await lockDataDir(join(scratch, 'one'));
    const two = await lockDataDir(join(scratch, 'two'));
    await one.release();
    await two.release();
  });

  describe('where locks are socket files (not Linux or Windows)', () => {
    const platform = process.platform;

    beforeEach(() => Object.defineProperty(process, 'platform', { value: 'darwin' }));

    afterEach(() => Object.defineProperty(process, 'platform', { value: platform }));

    test('a held lock refuses a second one', async () => {
      const folder = join(scratch, 'data');
      const lock = await lockDataDir(folder);
      try {
        await expect(lockDataDir(folder)).rejects.toThrow(DataDirInUse);
      } finally {
        await lock.release();
      }
    });

    test('the socket file a killed holder left behind is taken over', async () => {
      const folder = join(scratch, 'data');
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `Object.defineProperty(process, 'platform', { value: 'darwin' });
          require(${JSON.stringify(require.resolve('ts-node/register/transpile-only'))});
          require(${JSON.stringify(join(__dirname, '../../src/database/data-dir-lock.ts'))})
            .lockDataDir(${JSON.stringify(folder)}).then(() => process.stdout.write('held\\n'));
          setInterval(() => undefined, 1000);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
        await expect(lockDataDir(folder)).rejects.toThrow(`in use by process ${holder.pid} `);
      } finally {
        holder.kill('SIGKILL');
        await new Promise((resolve) => holder.once('exit', resolve));
      }
      const lock = await lockDataDir(folder);
      await lock.release();
      expect(existsSync(folder)).toBe(false);
    });
  });
});
