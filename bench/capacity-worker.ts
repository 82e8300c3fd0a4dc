import { BenchClient } from './bench-client';

/** What one worker opens, passed as JSON in its first argument. */
export interface CapacityTask {
  readonly port: number;
  readonly host: string;
  readonly sources: readonly string[];
  readonly count: number;
  readonly prefix: string;
  readonly channel: string;
  readonly batch: number;
}

/** Sent to the parent after every batch; `done` once every connection has been tried. */
export interface CapacityStatus {
  opened: number;
  ready: number;
  errors: number;
  firstError?: string;
  done: boolean;
}

function report(status: CapacityStatus): void {
  process.send?.(status);
}

/** Opens the connections `batch` at a time; each registers, logs in and joins the channel. */
async function openAll(task: CapacityTask, status: CapacityStatus, clients: BenchClient[]): Promise<void> {
  const fail = (error: unknown) => {
    status.errors++;
    status.firstError ??= error instanceof Error ? error.message : String(error);
  };
  const open = async (index: number) => {
    const name = `${task.prefix}${index}`;
    const source = task.sources.length > 0 ? task.sources[index % task.sources.length] : undefined;
    let client: BenchClient;
    try {
      client = await BenchClient.connect(name, task.port, task.host, source);
    } catch (error) {
      fail(error);
      return;
    }
    clients.push(client);
    status.opened++;
    try {
      await client.exchange(
        [`REGISTER ${name} pw`, `LOGIN ${name} pw`, `JOIN ${task.channel}`],
        ['RESULT REGISTER 1', 'RESULT LOGIN 1', `RESULT JOIN ${task.channel} 1`],
      );
      status.ready++;
    } catch (error) {
      fail(error);
    }
  };
  for (let first = 0; first < task.count; first += task.batch) {
    const size = Math.min(task.batch, task.count - first);
    await Promise.all(Array.from({ length: size }, (_, offset) => open(first + offset)));
    report(status);
  }
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('capacity-worker must be started with child_process.fork');
  const task = JSON.parse(process.argv[2]) as CapacityTask;
  const status: CapacityStatus = { opened: 0, ready: 0, errors: 0, done: false };
  const clients: BenchClient[] = [];
  const closeAll = () => {
    for (const client of clients) client.close();
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'close') closeAll();
  });
  process.on('disconnect', closeAll);
  await openAll(task, status, clients);
  report({ ...status, done: true });
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`capacity-worker: ${error.message}`);
    process.exit(1);
  });
}
