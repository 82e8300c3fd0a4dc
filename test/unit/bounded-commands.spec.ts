import { PATTERN_EXTRAS_METADATA } from '@nestjs/microservices/constants';
import { AuthController } from '../../src/modules/auth/auth.controller';
import { ChannelsController } from '../../src/modules/channels/channels.controller';
import { Command, CommandSyntax, SYNTAX_EXTRA } from '../../src/transport/command';
import { LineContext } from '../../src/transport/line-context';
import { LineServer } from '../../src/transport/line-server';
import { Reply } from '../../src/transport/replies';
import { Session, SESSION_CLOSED } from '../../src/transport/session';
import { LineClient } from '../e2e/harness/line-client';
import { LogCapture } from '../e2e/harness/log-capture';
import { TEST_LINE_SERVER_OPTIONS } from './support/connection-options';

/** Bounded commands (REGISTER, LOGIN) under way at once are bounded across connections; other commands never wait for them. */
describe('bounded commands handled at once', () => {
  let server: LineServer;
  const clients: LineClient[] = [];
  /** HOLD commands under way, each released by its resolver. */
  let holding: Array<() => void>;

  function handle(verb: string, syntax: CommandSyntax, handler: (command: Command, context: LineContext) => unknown): void {
    server.addHandler(verb, (command: Command, context: LineContext) => Promise.resolve(handler(command, context)), false, {
      [SYNTAX_EXTRA]: syntax,
    });
  }

  async function connect(name: string): Promise<LineClient> {
    const client = await LineClient.connect(server.address().port, name);
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    holding = [];
    server = new LineServer({ ...TEST_LINE_SERVER_OPTIONS, boundedCommandsAtOnce: 2 }, new LogCapture().logger('warn'));
    // HOLD <word>, bounded: answered when the test releases it.
    handle('HOLD', { fields: ['word'], subject: 'word', bounded: true }, (command) => {
      return new Promise<Reply>((resolve) => holding.push(() => resolve(Reply.result('HOLD', true, command.subject))));
    });
    // BOUNDED <word>, bounded, answered at once
    handle('BOUNDED', { fields: ['word'], subject: 'word', bounded: true }, (command) =>
      Reply.result('BOUNDED', true, command.subject),
    );
    // ECHO <word>, not bounded
    handle('ECHO', { fields: ['word'], subject: 'word' }, (command) => Reply.result('ECHO', true, command.subject));
    server.addHandler(SESSION_CLOSED, (_session: Session) => Promise.resolve(), true);
    await new Promise<void>((resolve, reject) =>
      server.listen((error) => (error ? reject(new Error('listen failed', { cause: error })) : resolve())),
    );
  });

  afterEach(async () => {
    for (const release of holding.splice(0)) release();
    for (const client of clients.splice(0)) client.close();
    await server.close();
  });

  test('a command beyond the limit waits until one under way ends, then runs', async () => {
    const [a, b, c] = [await connect('a'), await connect('b'), await connect('c')];
    a.send('HOLD one');
    b.send('HOLD two');
    c.send('BOUNDED three');
    await c.expectSilence(150);
    expect(holding).toHaveLength(2);
    holding[0]();
    await a.expectLine('RESULT HOLD one 1');
    await c.expectLine('RESULT BOUNDED three 1');
    holding[1]();
    await b.expectLine('RESULT HOLD two 1');
  });

  test('waiting commands start in the order they came', async () => {
    const [a, b, c, d] = [await connect('a'), await connect('b'), await connect('c'), await connect('d')];
    a.send('HOLD one');
    b.send('HOLD two');
    await b.expectSilence(50);
    c.send('HOLD three');
    await c.expectSilence(50);
    d.send('HOLD four');
    await d.expectSilence(100);
    expect(holding).toHaveLength(2);
    holding[0]();
    await a.expectLine('RESULT HOLD one 1');
    await d.expectSilence(100);
    expect(holding).toHaveLength(3);
    holding[2]();
    await c.expectLine('RESULT HOLD three 1');
  });

  test('a command that is not bounded runs while every place is taken', async () => {
    const [a, b, c] = [await connect('a'), await connect('b'), await connect('c')];
    a.send('HOLD one');
    b.send('HOLD two');
    await b.expectSilence(100);
    expect(holding).toHaveLength(2);
    c.send('ECHO three');
    await c.expectLine('RESULT ECHO three 1');
    a.send('ECHO four');
    await a.expectSilence(100);
  });
});

describe('which commands are bounded', () => {
  function syntaxOf(controller: object, method: string): CommandSyntax {
    const extras = Reflect.getMetadata(PATTERN_EXTRAS_METADATA, (controller as Record<string, object>)[method]) as Record<
      string,
      unknown
    >;
    return extras[SYNTAX_EXTRA] as CommandSyntax;
  }

  it('REGISTER and LOGIN, which wait only for bcrypt and the database', () => {
    expect(syntaxOf(AuthController.prototype, 'register').bounded).toBe(true);
    expect(syntaxOf(AuthController.prototype, 'login').bounded).toBe(true);
  });

  it('not JOIN, which may wait on a peer, nor the other client commands', () => {
    for (const method of ['create', 'join', 'say', 'list']) {
      expect(syntaxOf(ChannelsController.prototype, method).bounded).toBeUndefined();
    }
  });
});
