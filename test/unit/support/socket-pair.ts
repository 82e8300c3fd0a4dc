import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';

/** Both ends of one loopback TCP connection, and the listener that took it. */
export interface SocketPair {
  readonly server: Server;
  /** The connecting side, as a client would hold it. */
  readonly client: Socket;
  /** The accepted side, as the chat server would hold it. */
  readonly serverSide: Socket;
  /** Destroys both ends and closes the listener. */
  close(): Promise<void>;
}

export async function openSocketPair(): Promise<SocketPair> {
  let server!: Server;
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer({ noDelay: true }, resolve);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
  const serverSide = await accepted;
  return {
    server,
    client,
    serverSide,
    close: async () => {
      client.destroy();
      serverSide.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
