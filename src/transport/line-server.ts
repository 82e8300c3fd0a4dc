import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { AddressInfo, createServer, Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { isObservable, lastValueFrom } from 'rxjs';
import { Command, CommandSyntax, SYNTAX_EXTRA } from './command';
import { CommandParser, ParseOutcome } from './command-parser';
import { ConcurrencyLimit } from '../domain/concurrency-limit';
import { CutCommands } from './cut-commands';
import { Connection, ConnectionHandlers, ConnectionOptions } from './connection';
import { LineContext } from './line-context';
import { DialTarget, LinkDialer } from './link-dialer';
import { Frame } from './line-framer';
import { isLoopback } from '../domain/loopback';
import { Logger } from '../logging/logger';
import { ProxiedSource, readProxyHeader } from './proxy-protocol';
import { Refusal } from './refusal';
import { Reply } from './replies';
import { Session, SESSION_CLOSED } from './session';
import { ServerCertificate } from './tls-certificate';
import { connectPinned, connectPlain, createTlsListener } from './tls-sockets';
import { ThrottledWarnings } from '../logging/throttled-warnings';
import { CommandOutcome, ERROR_STAGES, ErrorStage, OutcomeCounts, TransportStats, TransportStatus } from './transport-status';

export interface LineServerOptions extends ConnectionOptions {
  readonly port: number;
  readonly host: string;
  readonly connectionsPerAddress: number;
  /** Inbound sockets open at once, on both ports; a peer's address may go beyond it. */
  readonly maxConnections: number;
  /** Loopback addresses skip the command rate and the per-address limit. */
  readonly exemptLoopback: boolean;
  /** How long a shutdown waits for a client to close before dropping it. */
  readonly shutdownGraceMs?: number;
  /** Load balancers: connections from these socket addresses start with a PROXY protocol header. */
  readonly proxyProtocolFrom?: readonly string[];
  /** How long such a connection has to send its header; `DEFAULT_PROXY_HEADER_TIMEOUT_MS` when unset. */
  readonly proxyHeaderTimeoutMs?: number;
  /** The port for clients speaking TLS, on `host`; unset, there is none (0 picks a free port). Needs a certificate. */
  readonly tlsPort?: number;
  /** Bounded commands handled at once across all connections; `BOUNDED_COMMANDS_AT_ONCE` when unset. */
  readonly boundedCommandsAtOnce?: number;
}

/**
 * Commands whose syntax is `bounded` (REGISTER, LOGIN) handled at once, across every connection;
 * the others wait, in the order they came and in turns by client address. Thousands of clients
 * sending at once (a reconnect storm) otherwise all start at once: each keeps its command's state
 * alive until bcrypt or the database gets to it, the young generation of the heap fills with it,
 * and the collections that follow stop the event loop for tens of milliseconds. Sixty-four keep
 * bcrypt's threads and the statement batches supplied. Commands that may wait on a peer or on
 * Redis (a JOIN of a remote channel) are not bounded, so a slow peer cannot hold the places.
 */
export const BOUNDED_COMMANDS_AT_ONCE = 64;

export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 5000;

/** What the log says was being done when an unexpected error came; a handler's error names its verb alone. */
const DOING: Record<ErrorStage, string> = {
  accept: 'taking a connection on',
  frame: 'reading its input',
  parse: 'parsing a line',
  handler: 'handling',
  reply: 'sending the reply',
  dispatch: 'handling a line',
  deliver: 'queueing output',
  flush: 'writing output',
  closed: 'handling its end',
  socket: 'handling a socket event',
  dial: 'dialing a link',
};

/** `::ffff:10.0.0.5`, as a dual-stack socket reports an IPv4 peer, is `10.0.0.5`. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The line-protocol transport: TCP sockets in, message patterns out. Each line's first word is
 * the pattern; the handler registered for it (see `@Verb`) receives the parsed `Command` and a
 * `LineContext`, and the `Reply` it returns is serialized back to the sender.
 */
export class LineServer extends Server implements CustomTransportStrategy, LinkDialer, TransportStatus {
  private readonly log: Logger;
  private readonly server: NetServer;
  private readonly tlsServer?: TlsServer;
  private readonly stopFollowingCertificate?: () => void;
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  /** Inbound sockets open now, on both ports, whatever they turn out to be. */
  private inbound = 0;
  /** Addresses whose connections pass the connection cap: the peers', so links keep working at the cap. */
  private linkAddresses: (address: string) => boolean = () => false;
  /** Connections refused for the cap and for their address's limit, since start. */
  private readonly refused = { capacity: 0, perAddress: 0 };
  /** A flood of refused connections is logged once a minute, with a count, not once each. */
  private readonly refusals = new ThrottledWarnings((message) => this.log.warn(message));
  private readonly proxyFrom: ReadonlySet<string>;
  /** Connections from a load balancer whose PROXY header has not arrived yet. */
  private readonly awaitingHeader = new Set<Socket>();
  private readonly parser = new CommandParser((verb) => this.syntaxOf(verb));
  private readonly cutCommands = new CutCommands();
  /** Bounded commands under way, across every connection; see `BOUNDED_COMMANDS_AT_ONCE`. */
  private readonly boundedCommands: ConcurrencyLimit;
  private readonly commandCounts = new Map<string, OutcomeCounts>();
  private readonly internalErrors = new Map<ErrorStage, number>(ERROR_STAGES.map((stage) => [stage, 0]));
  /** Shared by every connection. */
  private readonly connectionHandlers: ConnectionHandlers = {
    dispatch: (connection, frame) => this.dispatch(connection, frame),
    socketClosed: (connection) => this.uncount(connection),
    closed: (connection) => this.closed(connection),
    failed: (connection, stage, error) => this.internalError(stage, error, this.contextOf(connection)),
  };
  /** Links this server dialed: not counted against an address's connections. */
  private readonly dialed = new WeakSet<Connection>();
  /**
   * Counts an inbound socket out until it becomes a connection (`admit`), shared by every socket (a
   * closure each would cost memory).
   */
  private readonly inboundClosed = (): void => {
    this.inbound--;
  };
  private closedTotals = { bytesReceived: 0, bytesSent: 0 };
  private nextConnectionId = 1;
  private closing = false;

  /**
   * `certificate`: this server's, for the TLS port and for TLS links; the server stops watching its
   * files when it closes.
   */
  constructor(
    private readonly options: LineServerOptions,
    logger: Logger,
    private readonly certificate?: ServerCertificate,
  ) {
    super();
    this.log = logger.child({ context: 'LineServer' });
    this.boundedCommands = new ConcurrencyLimit(options.boundedCommandsAtOnce ?? BOUNDED_COMMANDS_AT_ONCE);
    this.proxyFrom = new Set((options.proxyProtocolFrom ?? []).map(plainAddress));
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      this.taking(socket, () => this.accept(socket)),
    );
    if (options.tlsPort !== undefined) {
      if (!certificate) throw new Error("a TLS port needs this server's certificate");
      this.tlsServer = createTlsListener(certificate, this.log, (socket) =>
        this.taking(socket, () => this.admit(socket, socket.remoteAddress ?? 'unknown')),
      );
      this.stopFollowingCertificate = certificate.onReload(({ cert, key }) => this.tlsServer?.setSecureContext({ cert, key }));
      // The cap applies to the raw socket, before its handshake costs anything.
      this.tlsServer.prependListener('connection', (socket: Socket) => this.taking(socket, () => this.withinCapacity(socket)));
    }
  }

  listen(callback: (error?: unknown) => void): void {
    this.open(this.server, this.options.port, 'listening on')
      .then(() => (this.tlsServer ? this.open(this.tlsServer, this.options.tlsPort ?? 0, 'listening for TLS on') : undefined))
      .then(() => callback(), callback);
  }

  private open(server: NetServer, port: number, saying: string): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.log.error({ err: error }, `listener error: ${error.message}`));
        const { address, port } = server.address() as AddressInfo;
        this.log.info({ address, port }, `${saying} ${address}:${port}`);
        resolve();
      });
    });
  }

  /**
   * A reloaded configuration. Every connection shares these options, so the new limits apply at
   * once where they are read per use (output waiting, commands waiting, the idle flush, the
   * per-address count); a connection's command rate and login time are set as it opens, so they
   * apply to new connections. The listening addresses stay as they are.
   */
  reconfigure(options: LineServerOptions): void {
    const { port: _port, host: _host, tlsPort: _tlsPort, proxyProtocolFrom: _proxies, ...live } = options;
    Object.assign(this.options, live);
  }

  /**
   * Stops accepting, finishes the commands already received, closes every client, then the links:
   * until then they still carry the answers that clients are owed (a remote SAY's RECV).
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.server.listening) this.server.close();
    if (this.tlsServer?.listening) this.tlsServer.close();
    this.stopFollowingCertificate?.();
    this.certificate?.close();
    for (const socket of this.awaitingHeader) socket.destroy();
    const grace = this.options.shutdownGraceMs ?? 5000;
    const connections = [...this.connections];
    const clients = connections.filter((connection) => connection.role === 'client');
    await Promise.all(clients.map((connection) => connection.shutdown(grace)));
    const links = connections.filter((connection) => connection.role !== 'client');
    await Promise.all(links.map((connection) => connection.shutdown(grace)));
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** The TLS port's address; undefined when there is none or it is not listening. */
  tlsAddress(): AddressInfo | undefined {
    return (this.tlsServer?.address() as AddressInfo | null) ?? undefined;
  }

  /** The SHA-256 fingerprint of this server's certificate as it is now; undefined without one. */
  get certificateFingerprint(): string | undefined {
    return this.certificate?.fingerprint;
  }

  get listening(): boolean {
    return this.server.listening && !this.closing;
  }

  stats(): TransportStats {
    let { bytesReceived, bytesSent } = this.closedTotals;
    for (const connection of this.connections) {
      bytesReceived += connection.bytesReceived;
      bytesSent += connection.bytesSent;
    }
    return {
      connectionsOpen: this.connections.size,
      connectionsOpened: this.nextConnectionId - 1,
      bytesReceived,
      bytesSent,
      commands: this.commandCounts,
      internalErrors: this.internalErrors,
      connectionsRefused: { ...this.refused },
    };
  }

  /** Listens to the underlying `net.Server`'s events ('connection', 'error', …). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the signature of Nest's Server.on
  on<EventKey extends string = string, EventCallback extends Function = Function>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    this.server.on(event, callback as unknown as (...args: unknown[]) => void);
  }

  unwrap<T>(): T {
    return this.server as T;
  }

  /**
   * Opens a connection to another server. Its lines are handled like any connection's, by the
   * handlers whose scope is `dialing` until the session's role changes.
   */
  dial(target: DialTarget): Promise<Session> {
    if (this.closing) return Promise.reject(new Error('the server is shutting down'));
    const connecting = target.tls ? connectPinned(target, target.tls.fingerprint, this.certificate) : connectPlain(target);
    return connecting.then((socket) => {
      try {
        socket.setNoDelay(true);
        const connection = this.adopt(socket, 'd');
        this.dialed.add(connection);
        connection.role = 'dialing';
        return connection;
      } catch (error) {
        socket.destroy();
        this.internalError('dial', error, { remote: `${target.host}:${target.port}` });
        throw error;
      }
    });
  }

  private syntaxOf(verb: string): CommandSyntax | undefined {
    const handler = this.messageHandlers.get(verb);
    if (!handler || handler.isEventHandler) return undefined;
    return handler.extras?.[SYNTAX_EXTRA] as CommandSyntax | undefined;
  }

  /** Takes a new socket on; an error doing so drops that socket, not the listener or the process. */
  private taking(socket: Socket, action: () => void): void {
    try {
      action();
    } catch (error) {
      socket.destroy();
      this.internalError('accept', error, { remote: `${socket.remoteAddress}:${socket.remotePort}` });
    }
  }

  /** Lets connections from the addresses `test` accepts past the connection cap (peer servers'). */
  acceptLinksFrom(test: (address: string) => boolean): void {
    this.linkAddresses = test;
  }

  /**
   * The connection cap, applied to every inbound socket before anything else: one too many is
   * closed at once, unless it comes from a peer's address. The descriptors kept below the
   * process's limit stay free for the database, HTTP and peer links.
   */
  private withinCapacity(socket: Socket): boolean {
    const address = plainAddress(socket.remoteAddress ?? 'unknown');
    if (this.inbound >= this.options.maxConnections && !this.linkAddresses(address)) {
      this.refused.capacity++;
      this.refusals.refuse(
        'capacity',
        `refused a connection from ${address}: ${this.inbound} connections open, the most allowed (limits.maxConnections)`,
      );
      socket.destroy();
      return false;
    }
    this.inbound++;
    // 'close' comes once; `on` spares the wrapper `once` would keep for every open connection.
    socket.on('close', this.inboundClosed);
    return true;
  }

  private accept(socket: Socket): void {
    if (!this.withinCapacity(socket)) return;
    const address = socket.remoteAddress ?? 'unknown';
    if (this.proxyFrom.size > 0 && this.proxyFrom.has(plainAddress(address))) {
      this.acceptProxied(socket, address).catch((error: unknown) => {
        socket.destroy();
        this.internalError('accept', error, { remote: address });
      });
      return;
    }
    this.admit(socket, address);
  }

  /**
   * A load balancer's connection: its PROXY header names the client, and from then on the
   * connection is the client's, for the per-address limit, the exemption and the logs alike.
   */
  private async acceptProxied(socket: Socket, balancer: string): Promise<void> {
    this.awaitingHeader.add(socket);
    const timeoutMs = this.options.proxyHeaderTimeoutMs ?? DEFAULT_PROXY_HEADER_TIMEOUT_MS;
    const outcome = await readProxyHeader(socket, timeoutMs);
    this.awaitingHeader.delete(socket);
    if (!outcome.ok) {
      if (!this.closing) {
        this.log.warn({ remote: balancer }, `refused a connection from load balancer ${balancer}: ${outcome.reason}`);
      }
      socket.destroy();
    } else if (this.closing || socket.destroyed) {
      socket.destroy();
    } else {
      this.admit(socket, outcome.source?.address ?? balancer, outcome.source);
      socket.resume();
    }
  }

  /** Applies the per-address limit to where the client is, then takes the connection on. */
  private admit(socket: Socket, address: string, source?: ProxiedSource): void {
    const exempt = this.options.exemptLoopback && isLoopback(address);
    const count = this.perAddress.get(address) ?? 0;
    if (!exempt && count >= this.options.connectionsPerAddress) {
      this.refused.perAddress++;
      this.refusals.refuse(
        `address ${address}`,
        `refused a connection from ${address}: ${count} already open (limits.connectionsPerAddress)`,
      );
      socket.destroy();
      return;
    }
    // Counted down when the socket closes (`uncount`); the connection's address is `address`. From
    // here the connection's own 'close' listener also counts a plain socket out, so the socket keeps
    // one 'close' listener, not a list of two. A TLS connection stays counted on its TCP socket.
    this.perAddress.set(address, count + 1);
    socket.removeListener('close', this.inboundClosed);
    this.adopt(socket, 'c', !exempt, source);
  }

  /** An inbound connection's socket closed: one fewer open, and one fewer from its address. */
  private uncount(connection: Connection): void {
    if (this.dialed.has(connection)) return;
    if (!connection.secure) this.inbound--;
    const address = connection.remoteAddress;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }

  private adopt(socket: Socket, prefix: string, limited = true, source?: ProxiedSource): Connection {
    const connection = new Connection(
      `${prefix}${this.nextConnectionId++}`,
      socket,
      this.options,
      this.connectionHandlers,
      limited,
      source,
    );
    this.connections.add(connection);
    const remote = `${connection.remoteAddress}:${connection.remotePort}`;
    // Through a load balancer, `remote` is the client its PROXY header named and `via` the balancer.
    const via = source ? { via: `${socket.remoteAddress}:${socket.remotePort}` } : {};
    this.log.info({ conn: connection.id, remote, ...via }, 'connection opened');
    return connection;
  }

  /**
   * Handles one line. Every stage (parsing, the handler, sending its reply) has its own boundary:
   * an unexpected error is logged and counted under that stage, the command gets its failure reply
   * if it has one, and the connection goes on with its next line.
   */
  private async dispatch(connection: Connection, frame: Frame): Promise<void> {
    const cut = this.cutCommands.take(connection);
    // A verb is known only on its own kind of connection: FED lines from a client are ignored.
    const accepts = (syntax: CommandSyntax) => (syntax.scope ?? 'client') === connection.role;
    let outcome: ParseOutcome | undefined;
    let completion: Command | undefined;
    try {
      outcome = this.parser.parse(frame, accepts);
      if (!outcome && cut) completion = this.completionOf(connection, cut.command, CutCommands.joined(cut, frame), accepts);
    } catch (error) {
      this.count('unknown', 'error');
      this.internalError('parse', error, this.contextOf(connection));
      return;
    }
    if (completion) return this.complete(connection, completion);
    if (!outcome) {
      this.count('unknown', 'failed');
      return;
    }
    if (outcome.kind === 'refused') {
      this.count(outcome.verb, 'failed');
      if (outcome.failure) await this.answer(connection, outcome.verb, outcome.failure);
      return;
    }
    const { command, failure } = outcome;
    let reply: Reply | undefined;
    try {
      const handler = this.messageHandlers.get(command.verb) as MessageHandler;
      reply = await this.run(handler, command, connection);
    } catch (error) {
      const expected = error instanceof Refusal;
      this.count(command.verb, expected ? 'failed' : 'error');
      if (!expected) this.internalError('handler', error, this.contextOf(connection, command.verb));
      if (failure) await this.answer(connection, command.verb, failure);
      return;
    }
    if (reply === undefined || (await this.answer(connection, command.verb, reply))) {
      const failed = reply?.kind === 'result' && !reply.ok;
      this.count(command.verb, failed ? 'failed' : 'ok');
      if (!failed && this.syntaxOf(command.verb)?.completable) this.cutCommands.remember(connection, frame, command);
      return;
    }
    this.count(command.verb, 'error');
    if (failure && !(await this.answer(connection, command.verb, failure))) {
      // Neither the reply nor the failure reply could be sent: this connection's output is broken.
      connection.closeReason ??= 'internal error (reply)';
      connection.close();
    }
  }

  /**
   * The whole command when `joined` (a cut command and the next segment) reads as that command
   * again; otherwise the segment is what it would have been alone, and the cut is logged.
   */
  private completionOf(
    connection: Connection,
    cut: Command,
    joined: Frame | undefined,
    accepts: (syntax: CommandSyntax) => boolean,
  ): Command | undefined {
    if (!joined) return undefined;
    const whole = this.parser.parse(joined, accepts);
    if (whole?.kind === 'command' && whole.command.verb === cut.verb) return { ...whole.command, completes: cut };
    this.log.warn(
      this.contextOf(connection, cut.verb),
      `a ${cut.verb} taken by the idle flush was followed by a segment that does not complete it; the ${cut.verb} stands as first received`,
    );
    return undefined;
  }

  /** Hands a completed command to its handler; the client got its one reply with the first part. */
  private async complete(connection: Connection, command: Command): Promise<void> {
    try {
      await this.run(this.messageHandlers.get(command.verb) as MessageHandler, command, connection);
      this.count(command.verb, 'ok');
    } catch (error) {
      const expected = error instanceof Refusal;
      this.count(command.verb, expected ? 'failed' : 'error');
      if (!expected) this.internalError('handler', error, this.contextOf(connection, command.verb));
    }
  }

  /** Sends a command's reply; false, logged and counted, when that throws. */
  private async answer(connection: Connection, verb: string, reply: Reply): Promise<boolean> {
    try {
      await connection.answer(reply);
      return true;
    } catch (error) {
      this.internalError('reply', error, this.contextOf(connection, verb));
      return false;
    }
  }

  private count(verb: string, outcome: CommandOutcome): void {
    let counts = this.commandCounts.get(verb);
    if (!counts) this.commandCounts.set(verb, (counts = { ok: 0, failed: 0, error: 0 }));
    counts[outcome]++;
  }

  /** Runs a command's handler; a bounded command (REGISTER, LOGIN, a cut REGISTER's rest) first waits for a place. */
  private run(handler: MessageHandler, command: Command, connection: Connection): Promise<Reply | undefined> {
    if (!this.syntaxOf(command.verb)?.bounded) return this.callHandler(handler, command, connection);
    return this.boundedCommands.run(() => this.callHandler(handler, command, connection), connection.remoteAddress);
  }

  private async callHandler(handler: MessageHandler, command: Command, connection: Connection): Promise<Reply | undefined> {
    const result: unknown = await handler(command, new LineContext([connection]));
    const reply = isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result;
    return (reply ?? undefined) as Reply | undefined;
  }

  private async closed(connection: Connection): Promise<void> {
    this.connections.delete(connection);
    this.closedTotals.bytesReceived += connection.bytesReceived;
    this.closedTotals.bytesSent += connection.bytesSent;
    const { user, peer } = connection;
    try {
      await this.handleEvent(SESSION_CLOSED, { pattern: SESSION_CLOSED, data: connection }, new LineContext([connection]));
    } catch (error) {
      this.internalError('closed', error, this.contextOf(connection));
    }
    const fields = {
      conn: connection.id,
      remote: `${connection.remoteAddress}:${connection.remotePort}`,
      ...(user === undefined ? {} : { user }),
      ...(peer === undefined ? {} : { peer }),
      reason: connection.closeReason,
      durationMs: Date.now() - connection.openedAt,
      bytesIn: connection.bytesReceived,
      bytesOut: connection.bytesSent,
    };
    // Closed for going over a limit is worth a warning; every other end is routine.
    if (connection.overLimit) this.log.warn(fields, 'connection closed');
    else this.log.info(fields, 'connection closed');
  }

  /** Who an error concerns, for its log line: never a password or a message's text. */
  private contextOf(connection: Connection, verb?: string): ErrorContext {
    const { id, user, peer } = connection;
    return {
      conn: id,
      remote: `${connection.remoteAddress}:${connection.remotePort}`,
      ...(user === undefined ? {} : { user }),
      ...(peer === undefined ? {} : { peer }),
      ...(verb === undefined ? {} : { verb }),
    };
  }

  /**
   * An unexpected error, caught so that it ends neither the process nor another connection: logged
   * once with who it concerns and the stage, and counted for `chat_internal_errors_total`.
   */
  private internalError(stage: ErrorStage, error: unknown, context: ErrorContext): void {
    this.internalErrors.set(stage, (this.internalErrors.get(stage) ?? 0) + 1);
    const err = error instanceof Error ? error : new Error(String(error));
    const who = context.conn ?? context.remote;
    const what = stage === 'handler' ? context.verb : [context.verb, DOING[stage]].filter(Boolean).join(': ');
    this.log.error({ ...context, stage, err }, `${who} ${what} failed: ${err.message}`);
  }
}

/** The fields of an internal error's log line. */
interface ErrorContext {
  readonly conn?: string;
  readonly remote: string;
  readonly user?: string;
  readonly peer?: string;
  readonly verb?: string;
}
