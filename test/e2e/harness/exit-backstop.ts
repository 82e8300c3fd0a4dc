/** How long jest may stay alive after the run before the backstop ends it. */
const BACKSTOP_MS = 5000;

function describeResources(): string {
  const counts = new Map<string, number>();
  for (const resource of process.getActiveResourcesInfo()) counts.set(resource, (counts.get(resource) ?? 0) + 1);
  return [...counts].map(([resource, count]) => `${count} ${resource}`).join(', ') || 'nothing Node can name';
}

/**
 * The last resort, armed by the global teardown: the harness stops what tests start through it, but
 * a test can still leave something else running (a timer loop in a body that timed out, a server
 * made without the harness). If that keeps jest's process alive BACKSTOP_MS after the run, this
 * names what is still open and exits; jest's own exit handler still sets the status of the run.
 * The timer is unref'd, so a run that ends by itself never waits for it.
 */
export default function armExitBackstop(): void {
  setTimeout(() => {
    process.stderr.write(
      `\njest was still running ${BACKSTOP_MS / 1000} s after the tests ended, kept alive by ${describeResources()}: ` +
        'something a test started outside the harness was never stopped (see the failures and timeouts above). Exiting.\n',
    );
    process.exit();
  }, BACKSTOP_MS).unref();
}
