import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** Whether a process with this pid is still there (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

const onLinux = process.platform === 'linux' ? it : it.skip;

describe("the bench's child processes", () => {
  onLinux(
    'a process the bench started is stopped when the bench fails and exits',
    async () => {
      // A bench-like process: it starts a child that would run for a minute, prints its pid, and fails.
      const script = `
      const { spawn } = require('node:child_process');
      const { stopAtExit } = require(${JSON.stringify(join(ROOT, 'bench', 'server-process.ts'))});
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      stopAtExit(child);
      console.log(child.pid);
      setTimeout(() => { console.error('bench: a room could not be opened'); process.exit(1); }, 200);
    `;
      const failed = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: ROOT }).then(
        () => undefined,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failed?.code).toBe(1);
      const pid = Number(failed?.stdout.trim());
      expect(pid).toBeGreaterThan(0);
      const stopped = await gone(pid, 5000);
      if (!stopped) process.kill(pid, 'SIGKILL');
      expect(stopped).toBe(true);
    },
    30000,
  );
});
