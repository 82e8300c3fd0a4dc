import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionCapFor, openFilesLimit } from '../../src/config/descriptor-limit';

describe('the default connection cap, from the limit on open files', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'limits-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function limitsFile(openFiles: string): string {
    const path = join(dir, `limits-${openFiles}`);
    writeFileSync(
      path,
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
        'Max processes             unlimited            unlimited            processes \n' +
        `Max open files            ${openFiles}                20000                files     \n`,
    );
    return path;
  }

  test('reads the soft limit on open files', () => {
    expect(openFilesLimit(limitsFile('20000'))).toBe(20000);
    expect(openFilesLimit(limitsFile('1024'))).toBe(1024);
  });

  test('an unlimited or unreadable limit is not known', () => {
    expect(openFilesLimit(limitsFile('unlimited'))).toBeUndefined();
    expect(openFilesLimit(join(dir, 'missing'))).toBeUndefined();
  });

  test('keeps 5 % of the descriptors, at least 256, for the database, HTTP, peer links and logs', () => {
    expect(connectionCapFor(20000)).toBe(19000);
    expect(connectionCapFor(1024)).toBe(768);
    expect(connectionCapFor(100)).toBe(64);
    expect(connectionCapFor(undefined)).toBe(10000);
  });

  test('on this machine the cap is below the limit', () => {
    const limit = openFilesLimit();
    if (limit !== undefined) expect(connectionCapFor(limit)).toBeLessThan(limit);
    else expect(connectionCapFor(limit)).toBe(10000);
  });
});
