import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Frame, LineFramer } from './line-framer';
import { encode, Reply } from './replies';
import { Session, SessionRole } from './session';
import { TokenBucket } from './token-bucket';
import { ErrorStage } from './transport-status';

export interface ConnectionOptions {
  readonly maxLineBytes: number;
  /** Flush the pending bytes of a client that never sent an LF after this much quiet; 0 disables. */
  readonly idleFlushMs: number;
  readonly commandsPerSecond: number;
  readonly commandBurst: number;
  /** A client with more commands than this waiting is disconnected; a link stops being read. */
  readonly maxQueuedCommands: number;
  /** A client connection that has not logged in this long after it opened is disconnected, whatever it sent. */
  readonly unauthenticatedIdleMs: number;
  /** Output waiting for a slow reader beyond this disconnects it. */
  readonly sendQueueBytes: number;
}

/** What the server does with a connection's frames, with its end, and with an unexpected error. */
export interface ConnectionHandlers {
  dispatch(connection: Connection, frame: Frame): Promise<void>;
  /** The socket closed: called at once, before the commands it sent have all been handled. */
  socketClosed?(connection: Connection): void;
  /** The connection's end, handled after every command it sent. */
  closed(connection: Connection): Promise<void>;
  /** Logs and counts an error the connection caught; without it, such errors are only survived. */
  failed?(connection: Connection, stage: ErrorStage, error: unknown): void;
}

const CLOSED = Symbol('closed');
type QueueItem = Frame | typeof CLOSED;

/** The connection a socket belongs to, for the listeners every connection's socket shares. */
const OWNER = Symbol('connection');
type OwnedSocket = Socket & { [OWNER]: Connection };

function socketData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER].socketEvent('data', chunk);
}

function socketEnd(this: OwnedSocket): void {
  this[OWNER].socketEvent('end');
}

function socketClose(this: OwnedSocket): void {
  this[OWNER].socketEvent('close');
}

function socketError(this: OwnedSocket, error: NodeJS.ErrnoException): void {
  this[OWNER].socketEvent('error', error);
}

/**
 * Writes are batched per turn of the event loop: a connection collects the lines it gets in a turn
 * (the RECVs of several SAYs read at once, a reply and a RECV) as one string and, once the turn's
 * input has been handled, hands it to its socket with one `write()`, which leaves in one system
 * call. Joining strings costs V8 a pointer per line (it flattens the result once, as the socket
 * encodes it), where joining buffers cost an allocation and a copy of every line for every
 * connection: a RECV to 1,000 members was 1,000 buffers a turn.
 */
const withLines: Connection[] = [];

/**
 * The states a connection is in, as bits of one number: an idle connection is held by the
 * thousand, and a field each would cost every connection 8 bytes more.
 */
const DRAINING = 1 << 0;
const READ_ENDED = 1 << 1;
const SOCKET_CLOSED = 1 << 2;
/** Frames are taken in; cleared when the socket's input ends or the server stops reading it. */
const ACCEPTING = 1 << 3;
/** The connection's end has been handled; `shutdown` waits for it. */
const FINISHED = 1 << 4;
const READING_PAUSED = 1 << 5;
/** The server closed it for going over a limit. */
const OVER_LIMIT = 1 << 6;
/** The peer has sent an LF: from then on its partial lines are never flushed early. */
const LINE_CLIENT = 1 << 7;
/** The server ended its side of the socket or destroyed it. */
const OUTPUT_ENDED = 1 << 8;
/** Nothing more is written: asked before every write instead of the socket's own `writable`. */
const OUTPUT_DONE = SOCKET_CLOSED | OUTPUT_ENDED;

/**
 * Times are kept as milliseconds since this module loaded, a small integer V8 stores in the object
 * itself, where `Date.now()` would take a heap number of its own for every connection.
 */
const CLOCK_BASE = Date.now();

type WaitingFor = 'idle' | 'release' | 'finish';

/**
 * One client socket. Its frames are handled strictly one after another, so replies leave in the
 * order the commands came in even though handlers are asynchronous. When the socket closes, a
 * final CLOSED item runs after every command already received. After the other side half-closes,
 * the socket is ended once every command is answered and every answer owed later (`awaitSettled`)
 * has settled.
 */
export class Connection implements Session {
  // Every field is set in the constructor, in this order, so that every connection has the same
  // shape from its start: the code a RECV runs through for each member then sees one hidden class
  // (fields added later, each in its own order, gave `state` alone more than four). The fields each
  // RECV touches come first, next to the socket.
  private state = ACCEPTING;
  /** This turn's lines, written together when the turn ends. */
  private turnText: string | undefined = undefined;
  /** Bytes queued in this turn. */
  private turnBytes = 0;
  /** Waiting output that belongs to the largest recent turn: a large reply still on its way out. */
  private excusedBytes = 0;
  role: SessionRole = 'client';
  peer: string | undefined = undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly openedAfterBase = Date.now() - CLOCK_BASE;
  /** Why the connection ended, for its log line: set by the first cause seen. */
  closeReason: string | undefined = undefined;
  /** The start of a line still to be completed; a connection between lines keeps none. */
  private framer: LineFramer | undefined = undefined;
  /** Items waiting to be handled, in order; none kept while there are none. */
  private queue: QueueItem[] | undefined = undefined;
  private idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Answers still owed after their commands were handled; see `awaitSettled`. */
  private holds = 0;
  /** The promises waiting on a state of the connection; none kept while none waits. */
  private waiters: Partial<Record<WaitingFor, Array<() => void>>> | undefined = undefined;
  private loggedInAs: string | undefined = undefined;

  private readonly bucket: TokenBucket | undefined;
  /**
   * Runs `unauthenticatedIdleMs` after the connection opened, whatever it sent: a client must have
   * logged in by then. Cleared at login, so an idle logged-in connection holds no timer.
   */
  private idleLimit: NodeJS.Timeout | undefined;

  /**
   * `limited`: the command rate applies (false for exempt addresses). `remote`: where the client
   * really is, when that is not the socket's peer (a load balancer's PROXY header said so).
   */
  constructor(
    readonly id: string,
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
    limited = true,
    remote?: { readonly address: string; readonly port: number },
  ) {
    this.remoteAddress = remote?.address ?? socket.remoteAddress ?? 'unknown';
    this.remotePort = remote?.port ?? socket.remotePort ?? 0;
    this.bucket = limited ? new TokenBucket(options.commandsPerSecond, options.commandBurst) : undefined;
    this.idleLimit = setTimeout(() => this.onIdle(), options.unauthenticatedIdleMs);
    this.idleLimit.unref();
    // The same four functions listen on every connection's socket (closures would cost every
    // connection about 260 bytes); each finds its connection on the socket.
    (socket as OwnedSocket)[OWNER] = this;
    socket.on('data', socketData);
    socket.on('end', socketEnd);
    socket.on('close', socketClose);
    socket.on('error', socketError);
  }

  /**
   * What the socket reports, from the listeners shared by every connection's socket. An error
   * thrown from a socket's event handler would end the process: each is caught here.
   */
  socketEvent(event: 'data' | 'end' | 'close' | 'error', value?: Buffer | NodeJS.ErrnoException): void {
    try {
      if (event === 'data') this.onData(value as Buffer);
      else if (event === 'end') this.onEnd();
      else if (event === 'close') this.onClose();
      // Reset or write errors: 'close' follows and does the cleanup.
      else this.closeReason ??= (value as NodeJS.ErrnoException).code ?? (value as Error).message;
    } catch (error) {
      this.fail(event === 'data' ? 'frame' : 'socket', error);
    }
  }

  /** When the connection opened, in milliseconds since the epoch. */
  get openedAt(): number {
    return CLOCK_BASE + this.openedAfterBase;
  }

  /** True when the server closed it for going over a limit. */
  get overLimit(): boolean {
    return this.is(OVER_LIMIT);
  }

  /** The logged-in user, set by presence on LOGIN; from then on the login deadline no longer applies. */
  get user(): string | undefined {
    return this.loggedInAs;
  }

  set user(name: string | undefined) {
    this.loggedInAs = name;
    if (name !== undefined && this.idleLimit) {
      clearTimeout(this.idleLimit);
      this.idleLimit = undefined;
    }
  }

  get secure(): boolean {
    return this.socket instanceof TLSSocket;
  }

  /** The SHA-256 fingerprint of the certificate the other side presented over TLS, if it did. */
  get tlsFingerprint(): string | undefined {
    if (!(this.socket instanceof TLSSocket)) return undefined;
    const certificate = this.socket.getPeerCertificate() as { fingerprint256?: string } | null;
    return certificate?.fingerprint256 || undefined;
  }

  get bytesReceived(): number {
    return this.socket.bytesRead;
  }

  get bytesSent(): number {
    return this.socket.bytesWritten;
  }

  send(reply: Reply): void {
    const { text, bytes } = encode(reply);
    this.deliver(text, bytes);
  }

  /**
   * Sends the reply to one of this connection's own commands once every answer owed to an earlier
   * command has gone out (a SAY's own RECV coming back through the cluster bus or from a peer, or
   * its bound passed). A client therefore reads outcomes in the order of its commands: the
   * `RESULT SAY 0` of one SAY never overtakes the RECV that confirms the SAY before it.
   */
  async answer(reply: Reply): Promise<void> {
    if (this.holds > 0) await this.released();
    this.send(reply);
  }

  /**
   * Queues one serialized protocol line (ending in LF), `bytes` long once encoded. Never throws: a
   * line handed to many connections reaches the others when one of them fails, and that one is
   * closed, since what it has been sent is no longer known.
   */
  deliver(line: string, bytes = Buffer.byteLength(line)): void {
    // How much output is still waiting is asked once, when the turn's lines are written.
    if (this.is(OUTPUT_DONE)) return;
    try {
      if (this.turnText === undefined) {
        this.turnBytes = bytes;
        this.turnText = line;
        if (withLines.push(this) === 1) setImmediate(Connection.flushTurn);
      } else {
        this.turnText += line;
        this.turnBytes += bytes;
      }
    } catch (error) {
      this.fail('deliver', error);
    }
  }

  /** Flushes every connection with lines this turn; one that fails is closed, and the others still flush. */
  private static flushTurn(this: void): void {
    for (const connection of withLines.splice(0)) {
      try {
        connection.flush();
      } catch (error) {
        connection.fail('flush', error);
      }
    }
  }

  /**
   * Sends the lines this turn queued. Output still waiting for the reader from earlier turns is
   * measured first: a reader that lets too much pile up is dropped instead (`tooSlow`).
   */
  flush(): void {
    const text = this.turnText;
    if (text === undefined) return;
    this.turnText = undefined;
    if (this.is(OUTPUT_DONE)) return;
    const socket = this.socket;
    const waiting = socket.writableLength;
    if (waiting !== 0 && this.tooSlow(waiting)) return;
    socket.write(text);
    // The part of this turn the system did not take, if any, is excused next time (see `tooSlow`).
    const left = socket.writableLength;
    this.excusedBytes = left === 0 ? 0 : Math.max(Math.min(this.excusedBytes, waiting), Math.min(this.turnBytes, left));
  }

  /**
   * Drops a reader that let more than `sendQueueBytes` of earlier turns' output pile up, so it
   * cannot hold memory or slow anyone down. What is left of the largest single turn does not count:
   * one large reply the server chose to send (a long CHANNELS) passes and may drain while more
   * lines follow, while a reader that keeps asking without reading, or lets many small lines pile
   * up, is still dropped.
   */
  private tooSlow(waiting: number): boolean {
    if (waiting - Math.min(this.excusedBytes, waiting) <= this.options.sendQueueBytes) return false;
    this.drop('too slow reading its output');
    return true;
  }

  /** Ends the socket after the lines of this turn: an answer given just before the end still goes out. */
  private endSocket(): void {
    const text = this.turnText;
    this.turnText = undefined;
    if (this.is(OUTPUT_DONE)) return;
    this.state |= OUTPUT_ENDED;
    if (text !== undefined) this.socket.write(text);
    this.socket.end();
  }

  close(): void {
    this.closeReason ??= 'closed by the server';
    this.destroySocket();
  }

  /** Destroys the socket; nothing is written to it after this. */
  private destroySocket(): void {
    this.state |= OUTPUT_ENDED;
    this.socket.destroy();
  }

  awaitSettled(settled: Promise<unknown>): void {
    if (this.is(SOCKET_CLOSED)) return;
    this.holds++;
    const release = (): void => this.release();
    void settled.then(release, release);
  }

  /** Runs a socket event or timer handler; an error from it closes the connection instead of the process. */
  private guard(stage: ErrorStage, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.fail(stage, error);
    }
  }

  /** Reports an unexpected error to the server. Reporting never throws: a failed report is lost. */
  private report(stage: ErrorStage, error: unknown): void {
    try {
      this.handlers.failed?.(this, stage, error);
    } catch {
      // Nothing is left to tell; the connection and the process carry on.
    }
  }

  /**
   * An unexpected error after which this connection's state cannot be trusted (its framing or its
   * output): reported, then the connection is closed. The commands it already sent still run.
   */
  private fail(stage: ErrorStage, error: unknown): void {
    this.report(stage, error);
    this.closeReason ??= `internal error (${stage})`;
    try {
      this.destroySocket();
    } catch {
      // Destroying a socket does not throw; were it to, 'close' never comes and shutdown's grace ends it.
    }
  }

  /** Disconnects for going over a limit; commands still waiting are discarded, not run. */
  private drop(reason: string): void {
    if (this.is(SOCKET_CLOSED)) return;
    this.closeReason = reason;
    this.state |= OVER_LIMIT;
    this.queue = undefined;
    this.destroySocket();
  }

  private onIdle(): void {
    if (this.role === 'client' && this.user === undefined) this.drop('not logged in within the time allowed');
  }

  /**
   * Stops reading, lets the commands already received finish, waits for the answers still owed,
   * then closes the socket. The grace bounds both that wait and the wait for the other side to close.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.closeReason ??= 'server shutting down';
    this.stopReading();
    await this.idle();
    const timer = setTimeout(() => this.destroySocket(), graceMs);
    await this.released();
    this.endSocket();
    if (!this.is(FINISHED)) await this.waitFor('finish');
    clearTimeout(timer);
  }

  private onData(chunk: Buffer): void {
    if (!this.is(ACCEPTING)) return;
    const framer = (this.framer ??= new LineFramer(this.options.maxLineBytes, this.is(LINE_CLIENT)));
    const frames = framer.push(chunk);
    if (framer.isLineClient) this.state |= LINE_CLIENT;
    if (!framer.hasPartialLine) this.framer = undefined;
    for (const frame of frames) this.enqueue(frame);
    this.scheduleIdleFlush();
  }

  private onEnd(): void {
    this.closeReason ??= 'closed by the other side';
    if (this.is(ACCEPTING)) this.flushPartial();
    this.stopReading();
    this.state |= READ_ENDED;
    this.endAfterHalfClose();
  }

  private onClose(): void {
    this.closeReason ??= 'closed';
    this.state |= SOCKET_CLOSED;
    try {
      clearTimeout(this.idleLimit);
      this.idleLimit = undefined;
      this.stopReading();
      this.wake('release');
      this.handlers.socketClosed?.(this);
    } finally {
      // The end is always handled, or the server would keep the connection and wait for it at shutdown.
      this.enqueue(CLOSED);
    }
  }

  private stopReading(): void {
    this.state &= ~ACCEPTING;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private scheduleIdleFlush(): void {
    if (this.options.idleFlushMs <= 0 || this.is(LINE_CLIENT)) return;
    clearTimeout(this.idleTimer);
    if (!this.framer) return;
    this.idleTimer = setTimeout(() => this.guard('frame', () => this.flushPartial()), this.options.idleFlushMs);
  }

  private flushPartial(): void {
    const frame = this.framer?.flushPartial();
    this.framer = undefined;
    if (frame) this.enqueue(frame);
  }

  private enqueue(item: QueueItem): void {
    const waiting = (this.queue ??= []).push(item);
    if (item !== CLOSED && waiting > this.options.maxQueuedCommands) this.tooManyWaiting();
    if (!this.is(DRAINING)) void this.drain();
  }

  /** A client over the limit is dropped; a link or an exempt client is simply not read until it catches up. */
  private tooManyWaiting(): void {
    if (this.role === 'client' && this.bucket) {
      this.drop(`more than ${this.options.maxQueuedCommands} commands waiting`);
    } else if (!this.is(READING_PAUSED)) {
      this.state |= READING_PAUSED;
      this.socket.pause();
    }
  }

  private async takeTurn(): Promise<void> {
    if (!this.bucket || this.role !== 'client' || this.is(SOCKET_CLOSED)) return;
    const wait = this.bucket.take();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /**
   * Handles the queue in order. An error from one item is reported and the next item still runs,
   * so the queue never stops for good and `shutdown` always gets past `idle`.
   */
  private async drain(): Promise<void> {
    this.state |= DRAINING;
    try {
      for (let item = this.queue?.shift(); item !== undefined; item = this.queue?.shift()) {
        if (item === CLOSED) await this.handleEnd();
        else await this.handleFrame(item);
      }
    } finally {
      this.state &= ~DRAINING;
      // An idle connection keeps no queue.
      if (this.queue?.length === 0) this.queue = undefined;
      this.guard('socket', () => this.endAfterHalfClose());
      this.wake('idle');
    }
  }

  private async handleFrame(frame: Frame): Promise<void> {
    try {
      await this.takeTurn();
      await this.handlers.dispatch(this, frame);
    } catch (error) {
      this.report('dispatch', error);
    }
    if (this.is(READING_PAUSED) && (this.queue?.length ?? 0) < this.options.maxQueuedCommands / 2) {
      this.state &= ~READING_PAUSED;
      this.guard('socket', () => this.socket.resume());
    }
  }

  private async handleEnd(): Promise<void> {
    try {
      await this.handlers.closed(this);
    } catch (error) {
      this.report('closed', error);
    } finally {
      this.state |= FINISHED;
      this.wake('finish');
    }
  }

  private idle(): Promise<void> {
    if (!this.is(DRAINING) && !this.queue?.length) return Promise.resolve();
    return this.waitFor('idle');
  }

  private release(): void {
    if (--this.holds > 0) return;
    this.wake('release');
    this.endAfterHalfClose();
  }

  /** Resolves when no answer is owed any more, or when the socket is gone. */
  private released(): Promise<void> {
    if (this.holds === 0 || this.is(SOCKET_CLOSED)) return Promise.resolve();
    return this.waitFor('release');
  }

  private is(flag: number): boolean {
    return (this.state & flag) !== 0;
  }

  private waitFor(state: WaitingFor): Promise<void> {
    const waiters = (this.waiters ??= {});
    return new Promise((resolve) => (waiters[state] ??= []).push(resolve));
  }

  /** Resolves the promises waiting on one of the connection's states; an idle connection keeps no list. */
  private wake(state: WaitingFor): void {
    const waiters = this.waiters;
    const waiting = waiters?.[state];
    if (!waiters || !waiting) return;
    waiters[state] = undefined;
    if (!waiters.idle && !waiters.release && !waiters.finish) this.waiters = undefined;
    for (const waiter of waiting) waiter();
  }

  /** A client that half-closed gets every reply and every answer it is owed, then our FIN. */
  private endAfterHalfClose(): void {
    if (this.is(READ_ENDED) && !this.is(DRAINING) && this.holds === 0 && !this.is(SOCKET_CLOSED)) this.endSocket();
  }
}
