/**
 * Jest setup (setupFilesAfterEnv) for every test file: whatever a test started through the harness
 * or node:child_process and left running — because it threw or timed out before its own cleanup —
 * is stopped after the test, and whatever beforeAll started is stopped after the file. These hooks
 * belong to the outermost block and come first in it: a describe block's own after-hooks run before
 * them, a spec file's top-level ones after them; stopping something twice is harmless.
 */
import { trackChildProcesses } from './child-processes';
import { closeFileScope, closeTestScope, openTestScope } from './running';

// A file may set a tiny testTimeout, which hooks inherit; the sweep must not be cut short by it.
const SWEEP_TIMEOUT_MS = 30_000;

const untrackChildProcesses = trackChildProcesses();

beforeEach(() => openTestScope(`test "${expect.getState().currentTestName ?? ''}"`));

afterEach(() => closeTestScope(), SWEEP_TIMEOUT_MS);

afterAll(async () => {
  try {
    await closeFileScope();
  } finally {
    untrackChildProcesses();
  }
}, SWEEP_TIMEOUT_MS);
