import { createServer, Server, Socket } from 'node:net';
import { started, stopped } from './running';

/**
 * A TCP proxy in front of PostgreSQL that can be cut and restored, to play a database outage, or
 * made to swallow everything (connections accepted, bytes dropped both ways), to play a database
 * whose packets are dropped.
 */
export class CuttableProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private swallowing = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Opens a proxy in front of the PostgreSQL at `url`; returns it and the URL that goes through it. */
  static async inFrontOf(url: string): Promise<{ proxy: CuttableProxy; url: string }> {
    const real = new URL(url);
    const proxy = new CuttableProxy({ host: real.hostname, port: Number(real.port || 5432) });
    await proxy.open();
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    return { proxy, url: viaProxy.toString() };
  }

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    started(
      this,
      () => `proxy on 127.0.0.1:${this.port}`,
      () => this.cut(),
    );
  }

  /** From now on nothing passes either way, on open connections and new ones; nothing is closed. */
  swallow(): void {
    this.swallowing = true;
  }

  /** Bytes pass again; what was swallowed is lost. */
  restore(): void {
    this.swallowing = false;
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (this.swallowing || to.destroyed) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  }

  async cut(): Promise<void> {
    stopped(this);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
