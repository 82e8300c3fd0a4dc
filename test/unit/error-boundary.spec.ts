import { Socket } from 'node:net';
import { DatabaseLog } from '../../src/database/database-log';
import { AuthService } from '../../src/modules/auth/auth.service';
import { ChatMetrics } from '../../src/modules/observability/chat-metrics';
import { PeerLinks } from '../../src/modules/federation/peer-links';
import { Presence } from '../../src/modules/presence/presence';
import { Command, CommandSyntax, SYNTAX_EXTRA } from '../../src/transport/command';
import { CommandParser } from '../../src/transport/command-parser';
import { Connection } from '../../src/transport/connection';
import { LineContext } from '../../src/transport/line-context';
import { LineFramer } from '../../src/transport/line-framer';
import { LineServer } from '../../src/transport/line-server';
import * as replies from '../../src/transport/replies';
import { Reply } from '../../src/transport/replies';
import { Session, SESSION_CLOSED } from '../../src/transport/session';
import { ErrorStage } from '../../src/transport/transport-status';
import { LineClient } from '../e2e/harness/line-client';
import { LEVEL, LogCapture, LogEntry } from '../e2e/harness/log-capture';
import { TEST_LINE_SERVER_OPTIONS } from './support/connection-options';

const SHUTDOWN_WAIT_MS = 3000;

/** Resolves with `promise`, or fails naming `what` when it takes longer than `ms`. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server-side socket of a connection, to make its writes fail. */
function socketOf(session: Session): Socket {
  return (session as unknown as { socket: Socket }).socket;
}

// "Nothing that goes wrong while handling one command, one connection or one link may end the
// process or stall another connection; unexpected errors are logged with their context, counted,
// and the connection carries on or is closed."
describe('the transport survives an error at every stage', () => {
  let server: LineServer;
  let logs: LogCapture;
  let echo: jest.Mock<Reply, [Command, LineContext]>;
  let onClosed: jest.Mock<void, [Session]>;
  /** Every session that sent ECHO, in order, for SHOUT to fan out to. */
  let sessions: Session[];
  let alice: LineClient;
  let bob: LineClient;
  let escaped: unknown[];
  const onEscape = (reason: unknown): void => void escaped.push(reason);

  function handle(verb: string, syntax: CommandSyntax, handler: (command: Command, context: LineContext) => unknown): void {
    server.addHandler(verb, (command: Command, context: LineContext) => Promise.resolve(handler(command, context)), false, {
      [SYNTAX_EXTRA]: syntax,
    });
  }

  beforeEach(async () => {
    escaped = [];
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    logs = new LogCapture();
    sessions = [];
    server = new LineServer(TEST_LINE_SERVER_OPTIONS, logs.logger('info'));
    echo = jest.fn((command: Command, context: LineContext) => {
      const session = context.getSession();
      if (!sessions.includes(session)) sessions.push(session);
      return Reply.result('ECHO', true, command.subject);
    });
    // ECHO <word>
    handle('ECHO', { fields: ['word'], subject: 'word' }, (command, context) => echo(command, context));
    // SHOUT <message…>   (a RECV for every session that sent ECHO, then its own result)
    handle('SHOUT', { fields: [], rest: 'message' }, (command) => {
      const line = Reply.recv('someone', 'room', command.args.message);
      for (const session of sessions) session.send(line);
      return Reply.result('SHOUT', true);
    });
    onClosed = jest.fn();
    server.addHandler(SESSION_CLOSED, (session: Session) => Promise.resolve(onClosed(session)), true);
    await new Promise<void>((resolve, reject) =>
      server.listen((error) => (error ? reject(new Error('listen failed', { cause: error })) : resolve())),
    );
    alice = await LineClient.connect(server.address().port, 'alice');
    bob = await LineClient.connect(server.address().port, 'bob');
    alice.send('ECHO a');
    await alice.expectLine('RESULT ECHO a 1');
    bob.send('ECHO b');
    await bob.expectLine('RESULT ECHO b 1');
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    alice.close();
    bob.close();
    await server.close();
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
  });

  function errorsLogged(): LogEntry[] {
    return logs.atLeast(LEVEL.error);
  }

  function counted(stage: ErrorStage): number {
    return server.stats().internalErrors.get(stage) ?? 0;
  }

  /** What every case ends with: nothing escaped, one error logged at `stage`, counted, shutdown completes. */
  async function expectSurvived(stage: ErrorStage, message: RegExp): Promise<void> {
    bob.send('ECHO still-here');
    await bob.expectLine('RESULT ECHO still-here 1');
    expect(escaped).toEqual([]);
    expect(errorsLogged()).toEqual([expect.objectContaining({ stage, msg: expect.stringMatching(message) as unknown })]);
    expect(counted(stage)).toBe(1);
    alice.end();
    bob.end();
    await within(SHUTDOWN_WAIT_MS, server.close(), 'shutdown hung: a connection queue stopped for good');
  }

  test('parse: a parser that throws is logged, counted, and the connection goes on', async () => {
    jest.spyOn(CommandParser.prototype, 'parse').mockImplementationOnce(() => {
      throw new Error('parser broke');
    });
    alice.send('ECHO one');
    await alice.expectSilence(100);
    alice.send('ECHO two');
    await alice.expectLine('RESULT ECHO two 1');
    await expectSurvived('parse', /^c\d+ parsing a line failed: parser broke$/);
    expect(errorsLogged()[0]).toMatchObject({
      conn: expect.stringMatching(/^c\d+$/) as unknown,
      remote: expect.any(String) as unknown,
    });
  });

  test('handler: a handler that throws gets the failure reply, and the connection goes on', async () => {
    echo.mockImplementationOnce(() => {
      throw new Error('storage exploded');
    });
    alice.send('ECHO one');
    await alice.expectLine('RESULT ECHO one 0');
    alice.send('ECHO two');
    await alice.expectLine('RESULT ECHO two 1');
    await expectSurvived('handler', /^c\d+ ECHO failed: storage exploded$/);
    expect(errorsLogged()[0]).toMatchObject({ verb: 'ECHO' });
  });

  test('reply: encoding a reply that throws gets the failure reply instead, and the connection goes on', async () => {
    jest.spyOn(replies, 'encode').mockImplementationOnce(() => {
      throw new Error('cannot encode');
    });
    alice.send('ECHO one');
    await alice.expectLine('RESULT ECHO one 0');
    alice.send('ECHO two');
    await alice.expectLine('RESULT ECHO two 1');
    await expectSurvived('reply', /^c\d+ ECHO: sending the reply failed: cannot encode$/);
  });

  test('reply: when neither the reply nor the failure reply can be sent, that connection is closed', async () => {
    const broken = (): never => {
      throw new Error('send broke');
    };
    jest.spyOn(Connection.prototype, 'send').mockImplementationOnce(broken).mockImplementationOnce(broken);
    alice.send('ECHO one');
    await alice.expectClosed();
    bob.send('ECHO still-here');
    await bob.expectLine('RESULT ECHO still-here 1');
    expect(escaped).toEqual([]);
    expect(counted('reply')).toBe(2);
    await delay(50);
    expect(logs.entries.find((entry) => entry.msg === 'connection closed')).toMatchObject({ reason: 'internal error (reply)' });
    await within(SHUTDOWN_WAIT_MS, server.close(), 'shutdown hung: a connection queue stopped for good');
  });

  test('dispatch: anything else escaping a line is caught by the connection, whose queue goes on', async () => {
    const lines = server as unknown as { dispatch: () => Promise<void> };
    jest.spyOn(lines, 'dispatch').mockImplementationOnce(() => Promise.reject(new Error('lost a line')));
    alice.send('ECHO one');
    await alice.expectSilence(100);
    alice.send('ECHO two');
    await alice.expectLine('RESULT ECHO two 1');
    await expectSurvived('dispatch', /^c\d+ handling a line failed: lost a line$/);
  });

  test("deliver: a line that cannot be queued for one member closes that member's connection, and the others get it", async () => {
    const [aliceSession] = sessions;
    // Queueing a line reads the lines the connection has queued this turn.
    Object.defineProperty(aliceSession, 'turnText', {
      get: () => {
        throw new Error('queue broke');
      },
    });
    bob.send('SHOUT hello');
    await bob.expectLine('RECV someone room hello');
    await bob.expectLine('RESULT SHOUT 1');
    await alice.expectClosed();
    await expectSurvived('deliver', /^c\d+ queueing output failed: queue broke$/);
    expect(logs.entries.find((entry) => entry.msg === 'connection closed')).toMatchObject({ reason: 'internal error (deliver)' });
  });

  test("flush: a turn's output that cannot be written to one member closes that member's connection, and the others get it", async () => {
    const [aliceSession] = sessions;
    jest.spyOn(socketOf(aliceSession), 'write').mockImplementation(() => {
      throw new Error('write broke');
    });
    bob.send('SHOUT hello');
    await bob.expectLine('RECV someone room hello');
    await bob.expectLine('RESULT SHOUT 1');
    await alice.expectClosed();
    await expectSurvived('flush', /^c\d+ writing output failed: write broke$/);
    expect(logs.entries.find((entry) => entry.msg === 'connection closed')).toMatchObject({ reason: 'internal error (flush)' });
  });

  test('flush: a connection whose flush throws is closed, and the others with lines in the same turn still flush', async () => {
    jest.spyOn(Connection.prototype, 'flush').mockImplementationOnce(() => {
      throw new Error('flush broke');
    });
    // SHOUT queues a line for alice's connection first, then bob's, in one turn.
    bob.send('SHOUT hello');
    await bob.expectLine('RECV someone room hello');
    await bob.expectLine('RESULT SHOUT 1');
    await alice.expectClosed();
    await expectSurvived('flush', /^c\d+ writing output failed: flush broke$/);
    expect(logs.entries.find((entry) => entry.msg === 'connection closed')).toMatchObject({ reason: 'internal error (flush)' });
  });

  test('frame: framing that throws closes that connection only', async () => {
    jest.spyOn(LineFramer.prototype, 'push').mockImplementationOnce(() => {
      throw new Error('framer broke');
    });
    alice.send('ECHO one');
    await alice.expectClosed();
    await expectSurvived('frame', /^c\d+ reading its input failed: framer broke$/);
    expect(logs.entries.find((entry) => entry.msg === 'connection closed')).toMatchObject({ reason: 'internal error (frame)' });
  });

  test("closed: an end handler that throws is logged and counted, and the connection's end still completes", async () => {
    onClosed.mockImplementationOnce(() => {
      throw new Error('cleanup broke');
    });
    alice.close();
    await delay(100);
    await expectSurvived('closed', /^c\d+ handling its end failed: cleanup broke$/);
  });

  test('closed: the end of a connection that throws past the server still lets shutdown finish', async () => {
    const lines = server as unknown as { closed: () => Promise<void> };
    jest.spyOn(lines, 'closed').mockImplementationOnce(() => Promise.reject(new Error('end lost')));
    alice.close();
    await delay(100);
    await expectSurvived('closed', /^c\d+ handling its end failed: end lost$/);
  });

  test('the count is scraped as chat_internal_errors_total, by stage', async () => {
    echo.mockImplementationOnce(() => {
      throw new Error('storage exploded');
    });
    alice.send('ECHO one');
    await alice.expectLine('RESULT ECHO one 0');
    const metrics = new ChatMetrics(
      server,
      { online: 0, delivered: 0 } as unknown as Presence,
      { linksUp: 0 } as unknown as PeerLinks,
      { errors: 0 } as unknown as DatabaseLog,
      { loginFailures: { credentials: 0, account: 0, address: 0 } } as unknown as AuthService,
      null,
    );
    const text = await metrics.render();
    expect(text).toContain('chat_internal_errors_total{stage="handler"} 1');
    expect(text).toContain('chat_internal_errors_total{stage="flush"} 0');
  });
});
