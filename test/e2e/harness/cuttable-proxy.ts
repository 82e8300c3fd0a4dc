import { createServer, Server, Socket } from 'node:net';
import { started, stopped } from './running';

/** A TCP proxy in front of PostgreSQL that can be cut and restored, to play a database outage. */
export class CuttableProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
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
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    started(
      this,
      () => `proxy on 127.0.0.1:${this.port}`,
      () => this.cut(),
    );
  }

  async cut(): Promise<void> {
    stopped(this);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
