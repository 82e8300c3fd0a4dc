import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { PeerSettings } from '../../../src/config/settings';
import { TestDatabase } from './databases';
import { delay, LineClient } from './line-client';
import { started, stopped } from './running';
import { TestServer } from './test-server';

/**
 * Ports for servers a test starts on a port fixed in advance (a peer must know it before it
 * listens) come from below the system's range for ephemeral ports (32768 and up on Linux), in a
 * slice of their own for each jest worker, and none twice in a test file. A port the system picked
 * for a probe could be picked again before the server listens on it: by the next probe of the same
 * test, by another worker, or as the local port of a connection.
 */
const TEST_PORTS_FROM = 20_000;
const TEST_PORTS_PER_WORKER = 1_000;
const WORKER_SLICES = 12;
const handedOut = new Set<string>();

/** A free TCP port on `address` (each server of a test gets its own loopback address), never one handed out before. */
export async function freePort(address: string): Promise<number> {
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  const first = TEST_PORTS_FROM + ((Math.max(1, worker) - 1) % WORKER_SLICES) * TEST_PORTS_PER_WORKER;
  for (let attempt = 0; attempt < TEST_PORTS_PER_WORKER; attempt++) {
    const port = first + Math.floor(Math.random() * TEST_PORTS_PER_WORKER);
    const key = `${address}:${port}`;
    if (handedOut.has(key) || !(await canListen(address, port))) continue;
    handedOut.add(key);
    return port;
  }
  throw new Error(`no free port on ${address} between ${first} and ${first + TEST_PORTS_PER_WORKER - 1}`);
}

/** True when a listener can take `address:port` now; it is closed again at once. */
function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, address, () => probe.close(() => resolve(true)));
  });
}

export interface ServerSpec {
  readonly address: string;
  readonly port: number;
  readonly hostname: string;
  readonly peers: readonly PeerSettings[];
  readonly requestTimeoutMs?: number;
}

/** A real server on its own loopback address, with its own embedded database, federated by its peers list. */
export async function startFederated(database: TestDatabase, spec: ServerSpec): Promise<TestServer> {
  return TestServer.start(await database.fresh(), {
    host: spec.address,
    port: spec.port,
    hostname: spec.hostname,
    federation: { peers: spec.peers, acceptFrom: 'listed', requestTimeoutMs: spec.requestTimeoutMs ?? 5000 },
  });
}

/** Retries `check` until it passes or `timeoutMs` runs out, then throws its last error. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`${what} did not hold within ${timeoutMs} ms (a link that never came up?): ${(error as Error).message}`, {
          cause: error,
        });
      }
      await delay(100);
    }
  }
}

/** Asks CHANNELS until the reply is exactly `expected`. */
export async function channelsBecome(client: LineClient, expected: string, timeoutMs = 10000): Promise<void> {
  await eventually(
    async () => {
      client.send('CHANNELS');
      const line = await client.readLine();
      if (line !== expected) throw new Error(`CHANNELS gave ${JSON.stringify(line)}, expected ${JSON.stringify(expected)}`);
    },
    timeoutMs,
    `${client.name}'s CHANNELS`,
  );
}

/** A hand-driven peer server: listens on `address`, and hands each accepted connection to the test. */
export class FakePeer {
  private readonly server: Server;
  private readonly accepted: Socket[] = [];
  private waiter?: () => void;

  private constructor(readonly address: string) {
    this.server = createServer((socket) => {
      this.accepted.push(socket);
      this.waiter?.();
    });
  }

  static async listen(address: string): Promise<FakePeer> {
    const peer = new FakePeer(address);
    await new Promise<void>((resolve) => peer.server.listen(0, address, resolve));
    started(
      peer,
      () => `fake peer on ${address}:${peer.port}`,
      () => peer.close(),
    );
    return peer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next connection a real server opens to this peer. */
  async nextLink(timeoutMs = 10000): Promise<LineClient> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted.length === 0) {
      if (Date.now() > deadline) throw new Error(`no server dialed the fake peer at ${this.address}:${this.port}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return LineClient.fromSocket(this.accepted.shift() as Socket, `peer@${this.address}`);
  }

  close(): void {
    stopped(this);
    for (const socket of this.accepted) socket.destroy();
    this.server.close();
  }
}
