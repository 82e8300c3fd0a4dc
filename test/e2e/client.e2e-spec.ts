import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { InteractiveClient } from '../../src/client/interactive-mode';
import { runScript } from '../../src/client/script-mode';
import { Style } from '../../src/client/style';
import { testDatabases } from './harness/databases';
import { delay, LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

const CLIENT_MAIN = join(__dirname, '..', '..', 'dist', 'client', 'main.js');
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Collects what a client writes, for assertions on what its user sees. */
class Screen extends PassThrough {
  text = '';

  constructor() {
    super();
    this.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
  }

  get plain(): string {
    return this.text.replace(ANSI, '');
  }

  async waitFor(expected: string | RegExp, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const found = () => (typeof expected === 'string' ? this.plain.includes(expected) : expected.test(this.plain));
    while (!found()) {
      if (Date.now() > deadline) {
        throw new Error(`the screen never showed ${String(expected)}; it shows:\n${this.plain}`);
      }
      await delay(20);
    }
  }
}

function scriptInput(lines: string[]): Readable {
  return Readable.from(lines.map((line) => `${line}\n`));
}

function runProgram(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLIENT_MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const database = testDatabases()[0];
let server: TestServer;
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-client-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  database.dispose();
});

/** What a fake server does for one line: answer in command order, answer later out of order, or hang up. */
type FakeStep =
  | { readonly send: string; readonly afterMs?: number }
  | { readonly sendLater: string; readonly afterMs: number }
  | { readonly hangUp: true; readonly afterMs?: number };

/**
 * A stand-in chat server that answers each line it knows with the steps given for it, one line
 * after another as the real server does; lines it does not know get no reply.
 */
class FakeChatServer {
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    private readonly steps: Readonly<Record<string, readonly FakeStep[]>>,
  ) {
    server.on('connection', (socket) => this.serve(socket));
  }

  static async start(steps: Readonly<Record<string, readonly FakeStep[]>>): Promise<FakeChatServer> {
    const fake = new FakeChatServer(createServer(), steps);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    let pending = '';
    let inOrder = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) inOrder = inOrder.then(() => this.answer(socket, this.steps[line] ?? []));
    });
  }

  private async answer(socket: Socket, steps: readonly FakeStep[]): Promise<void> {
    for (const step of steps) {
      if ('sendLater' in step) {
        this.later(step.afterMs, () => socket.write(`${step.sendLater}\n`));
        continue;
      }
      await new Promise<void>((resolve) => this.later(step.afterMs ?? 0, resolve));
      if (socket.destroyed) return;
      if ('hangUp' in step) socket.destroy();
      else socket.write(`${step.send}\n`);
    }
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }
}

const fakes = new Set<FakeChatServer>();
const children = new Set<ChildProcess>();

async function fakeServer(steps: Readonly<Record<string, readonly FakeStep[]>>): Promise<FakeChatServer> {
  const fake = await FakeChatServer.start(steps);
  fakes.add(fake);
  return fake;
}

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await Promise.all([...fakes].map((fake) => fake.stop()));
  fakes.clear();
});

describe('script mode waits for the reply each command is owed', () => {
  test('replies slower than --wait are all printed, and the run succeeds', async () => {
    const fake = await fakeServer({
      'REGISTER bob pw': [{ afterMs: 400, send: 'RESULT REGISTER 1' }],
      'LOGIN bob pw': [{ afterMs: 400, send: 'RESULT LOGIN 1' }],
      'CREATE general': [{ send: 'RESULT CREATE general 1' }],
      'JOIN general': [{ send: 'RESULT JOIN general 1' }],
      'SAY general hi': [{ afterMs: 300, send: 'RECV bob general hi' }],
      CHANNELS: [{ send: 'RESULT CHANNELS general' }],
    });
    const output = new Screen();
    const errors = new Screen();
    const lines = ['REGISTER bob pw', 'LOGIN bob pw', 'CREATE general', 'JOIN general', 'SAY general hi', 'CHANNELS'];
    const code = await runScript({
      host: '127.0.0.1',
      port: fake.port,
      input: scriptInput(['', 'hello there', ...lines, 'FEDSAY bob@x general hi', 'login bob pw']),
      output,
      errors,
      waitMs: 100,
      timeoutMs: 5000,
    });
    expect({ code, errors: errors.text }).toEqual({ code: 0, errors: '' });
    expect(output.text).toBe(
      [
        'RESULT REGISTER 1',
        'RESULT LOGIN 1',
        'RESULT CREATE general 1',
        'RESULT JOIN general 1',
        'RECV bob general hi',
        'RESULT CHANNELS general',
        '',
      ].join('\n'),
    );
  });

  test('a SAY is not answered by the RECV of another user with the same message', async () => {
    const fake = await fakeServer({
      'LOGIN bob pw': [{ send: 'RESULT LOGIN 1' }],
      'SAY room hi': [{ send: 'RECV alice room hi' }, { afterMs: 500, send: 'RECV bob room hi' }],
    });
    const output = new Screen();
    const code = await runScript({
      host: '127.0.0.1',
      port: fake.port,
      input: scriptInput(['LOGIN bob pw', 'SAY room hi']),
      output,
      errors: new Screen(),
      waitMs: 100,
      timeoutMs: 5000,
    });
    expect(code).toBe(0);
    expect(output.text).toBe('RESULT LOGIN 1\nRECV alice room hi\nRECV bob room hi\n');
  });

  test('a SAY answered only by another user is reported as unanswered at the timeout', async () => {
    const fake = await fakeServer({
      'LOGIN bob pw': [{ send: 'RESULT LOGIN 1' }],
      'SAY room hi': [{ send: 'RECV alice room hi' }],
    });
    const output = new Screen();
    const errors = new Screen();
    const code = await runScript({
      host: '127.0.0.1',
      port: fake.port,
      input: scriptInput(['LOGIN bob pw', 'SAY room hi']),
      output,
      errors,
      waitMs: 100,
      timeoutMs: 300,
    });
    expect(code).toBe(3);
    expect(output.text).toBe('RESULT LOGIN 1\nRECV alice room hi\n');
    expect(errors.text).toBe('chat-client: no reply within 300 ms to: SAY room hi\n');
  });

  test('a SAY to another server may be answered after the commands that follow it', async () => {
    const fake = await fakeServer({
      'LOGIN bob pw': [{ send: 'RESULT LOGIN 1' }],
      'SAY helloworld:server2.com hi all': [{ afterMs: 400, sendLater: 'RECV bob helloworld:server2.com hi all' }],
      CHANNELS: [{ send: 'RESULT CHANNELS helloworld:server2.com' }],
    });
    const output = new Screen();
    const code = await runScript({
      host: '127.0.0.1',
      port: fake.port,
      input: scriptInput(['LOGIN bob pw', 'SAY helloworld:server2.com hi all', 'CHANNELS']),
      output,
      errors: new Screen(),
      waitMs: 100,
      timeoutMs: 5000,
    });
    expect(code).toBe(0);
    expect(output.text).toBe('RESULT LOGIN 1\nRESULT CHANNELS helloworld:server2.com\nRECV bob helloworld:server2.com hi all\n');
  });

  test('the program exits 3 naming a LOGIN that got no reply, without its password', async () => {
    const fake = await fakeServer({ 'REGISTER bob s3cret': [{ send: 'RESULT REGISTER 1' }] });
    const started = Date.now();
    const result = await runProgram(
      ['127.0.0.1', String(fake.port), '--wait', '100', '--timeout', '300'],
      'REGISTER bob s3cret\nLOGIN bob s3cret\n',
    );
    expect(result).toEqual({
      code: 3,
      stdout: 'RESULT REGISTER 1\n',
      stderr: 'chat-client: no reply within 300 ms to: LOGIN bob\n',
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a connection lost while replies are owed exits 1 naming them', async () => {
    const fake = await fakeServer({
      'REGISTER bob pw': [{ send: 'RESULT REGISTER 1' }],
      'LOGIN bob pw': [{ afterMs: 100, hangUp: true }],
    });
    const output = new Screen();
    const errors = new Screen();
    const code = await runScript({
      host: '127.0.0.1',
      port: fake.port,
      input: scriptInput(['REGISTER bob pw', 'LOGIN bob pw', 'CHANNELS']),
      output,
      errors,
      waitMs: 100,
      timeoutMs: 5000,
    });
    expect(code).toBe(1);
    expect(output.text).toBe('RESULT REGISTER 1\n');
    expect(errors.text).toBe(`chat-client: connection to 127.0.0.1:${fake.port} lost; no reply to: LOGIN bob, CHANNELS\n`);
  });

  test('a real server hashing slowly (bcrypt cost 12) still has every reply printed', async () => {
    const slow = await TestServer.start(await database.fresh(), { bcryptCost: 12 });
    try {
      const output = new Screen();
      const code = await runScript({
        host: '127.0.0.1',
        port: slow.port,
        input: scriptInput(['REGISTER bob pw', 'LOGIN bob pw', 'CREATE general', 'JOIN general', 'SAY general hi']),
        output,
        errors: new Screen(),
        waitMs: 50,
        timeoutMs: 10000,
      });
      expect(code).toBe(0);
      expect(output.text).toBe(
        'RESULT REGISTER 1\nRESULT LOGIN 1\nRESULT CREATE general 1\nRESULT JOIN general 1\nRECV bob general hi\n',
      );
    } finally {
      await slow.stop();
    }
  });
});

describe('against the chat server', () => {
  beforeEach(async () => {
    server = await TestServer.start(await database.fresh());
  });

  afterEach(async () => {
    await server.stop();
  });

  describe('script mode', () => {
    test('sends each line and prints every line received, exactly', async () => {
      const output = new Screen();
      const errors = new Screen();
      const code = await runScript({
        host: '127.0.0.1',
        port: server.port,
        input: scriptInput([
          'REGISTER bob pw',
          'LOGIN bob pw',
          'CREATE 日本語',
          'JOIN 日本語',
          'SAY 日本語 hi  there',
          'CHANNELS',
        ]),
        output,
        errors,
        waitMs: 200,
        timeoutMs: 5000,
      });
      expect(code).toBe(0);
      expect(output.text).toBe(
        [
          'RESULT REGISTER 1',
          'RESULT LOGIN 1',
          'RESULT CREATE 日本語 1',
          'RESULT JOIN 日本語 1',
          'RECV bob 日本語 hi  there',
          'RESULT CHANNELS 日本語',
          '',
        ].join('\n'),
      );
      expect(errors.text).toBe('');
    });

    test('keeps printing lines that arrive while replies settle after the input ends', async () => {
      const alice = await LineClient.connect(server.port, 'alice');
      try {
        alice.send('REGISTER alice pw');
        alice.send('LOGIN alice pw');
        alice.send('CREATE room');
        alice.send('JOIN room');
        await alice.expectLine('RESULT REGISTER 1');
        await alice.expectLine('RESULT LOGIN 1');
        await alice.expectLine('RESULT CREATE room 1');
        await alice.expectLine('RESULT JOIN room 1');
        const output = new Screen();
        const running = runScript({
          host: '127.0.0.1',
          port: server.port,
          input: scriptInput(['REGISTER bob pw', 'LOGIN bob pw', 'JOIN room']),
          output,
          errors: new Screen(),
          waitMs: 600,
          timeoutMs: 5000,
        });
        await output.waitFor('RESULT JOIN room 1');
        alice.send('SAY room welcome');
        expect(await running).toBe(0);
        expect(output.text).toContain('RECV alice room welcome\n');
      } finally {
        alice.close();
      }
    });

    test('a refused connection exits non-zero with a clear message', async () => {
      const port = server.port;
      await server.stop();
      const errors = new Screen();
      const code = await runScript({
        host: '127.0.0.1',
        port,
        input: scriptInput(['CHANNELS']),
        output: new Screen(),
        errors,
        waitMs: 100,
        timeoutMs: 5000,
      });
      expect(code).toBe(1);
      expect(errors.text).toBe(`chat-client: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n`);
      await server.startAgain();
    });

    test('a connection lost before the input ends exits non-zero', async () => {
      const input = new PassThrough();
      const output = new Screen();
      const errors = new Screen();
      const running = runScript({ host: '127.0.0.1', port: server.port, input, output, errors, waitMs: 100, timeoutMs: 5000 });
      input.write('CHANNELS\n');
      await output.waitFor('RESULT CHANNELS');
      await server.stop();
      expect(await running).toBe(1);
      expect(errors.text).toContain('lost');
      await server.startAgain();
    });

    test('the chat-client program runs script mode on piped stdin and on --script FILE', async () => {
      const file = join(scratch, 'session.txt');
      writeFileSync(file, 'REGISTER carol pw\nCHANNELS\n');
      const viaFile = await runProgram([`127.0.0.1`, String(server.port), '--script', file, '--wait', '200'], '');
      expect(viaFile).toEqual({ code: 0, stdout: 'RESULT REGISTER 1\nRESULT CHANNELS \n', stderr: '' });
      const viaStdin = await runProgram([`127.0.0.1`, String(server.port), '--wait', '200'], 'LOGIN carol pw\nLOGIN carol pw\n');
      expect(viaStdin).toEqual({ code: 0, stdout: 'RESULT LOGIN 1\nRESULT LOGIN 0\n', stderr: '' });
    });

    test('the chat-client program exits non-zero when it cannot connect', async () => {
      const port = server.port;
      await server.stop();
      const result = await runProgram(['127.0.0.1', String(port)], 'CHANNELS\n');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('ECONNREFUSED');
      await server.startAgain();
    });
  });

  describe('interactive mode', () => {
    let keyboard: PassThrough;
    let screen: Screen;
    let client: InteractiveClient;
    let exited: Promise<number>;

    function type(line: string): void {
      keyboard.write(`${line}\r`);
    }

    beforeEach(() => {
      keyboard = new PassThrough();
      screen = new Screen();
      client = new InteractiveClient({
        host: '127.0.0.1',
        port: server.port,
        input: keyboard,
        output: screen,
        terminal: true,
        style: new Style(false),
        now: () => new Date(2026, 0, 2, 3, 4, 5),
      });
      exited = client.run();
    });

    afterEach(async () => {
      // End of input (Ctrl-D) quits whatever is half-typed.
      keyboard.end();
      expect(await exited).toBe(0);
    });

    async function registerAndLogin(user: string, password: string): Promise<void> {
      await screen.waitFor('guest> ');
      type(`/register ${user}`);
      await screen.waitFor('password: ');
      type(password);
      await screen.waitFor(`registered ${user}`);
      type(`/login ${user}`);
      await screen.waitFor(/password: [^]*password: /);
      type(password);
      await screen.waitFor(`logged in as ${user}`);
    }

    test('asks for passwords without showing them, and says what happened in plain words', async () => {
      await registerAndLogin('bob', 'sup3rsecret');
      expect(screen.plain).not.toContain('sup3rsecret');
      await screen.waitFor('bob> ');
    });

    test('a channel chosen with /switch receives plain typed text, shown with time, channel and sender', async () => {
      await registerAndLogin('bob', 'pw');
      type('/create alpha');
      await screen.waitFor('created alpha');
      type('/join alpha');
      await screen.waitFor('joined alpha');
      type('/switch alpha');
      await screen.waitFor('bob alpha> ');
      type('hello  there');
      await screen.waitFor('03:04:05 #alpha <bob> hello  there');
    });

    test('failures are explained: joining a channel that does not exist', async () => {
      await registerAndLogin('bob', 'pw');
      type('/join nowhere');
      await screen.waitFor('could not join nowhere: no such channel, or already a member');
    });

    test('raw protocol lines are accepted, and messages from others appear above the prompt', async () => {
      const alice = await LineClient.connect(server.port, 'alice');
      try {
        alice.send('REGISTER alice pw');
        alice.send('LOGIN alice pw');
        alice.send('CREATE 日本語');
        alice.send('JOIN 日本語');
        // The channel exists before bob asks for it: his commands do not race hers.
        await alice.expectLine('RESULT REGISTER 1', 10_000);
        await alice.expectLine('RESULT LOGIN 1', 10_000);
        await alice.expectLine('RESULT CREATE 日本語 1', 10_000);
        await registerAndLogin('bob', 'pw');
        type('JOIN 日本語');
        await screen.waitFor('joined 日本語');
        type('CHANNELS');
        await screen.waitFor('channels: #日本語');
        keyboard.write('half-typed');
        await screen.waitFor('half-typed');
        alice.send('SAY 日本語 こんにちは');
        await screen.waitFor('#日本語 <alice> こんにちは');
        expect(screen.plain.endsWith('bob> half-typed')).toBe(true);
      } finally {
        alice.close();
      }
    });

    test('/help lists the commands and an unknown command says so', async () => {
      await screen.waitFor('guest> ');
      type('/help');
      await screen.waitFor('/switch <channel>');
      type('/dance');
      await screen.waitFor('unknown command /dance');
    });

    test('/quit ends the client with exit code 0', async () => {
      await screen.waitFor('guest> ');
      type('/quit');
      await expect(exited).resolves.toBe(0);
    });

    test('a lost connection is reported, and reconnecting logs in again', async () => {
      await registerAndLogin('bob', 'pw');
      await server.stop();
      await screen.waitFor('connection to 127.0.0.1');
      await screen.waitFor('reconnect? [Y/n] ');
      await server.startAgain();
      type('y');
      await screen.waitFor('reconnected to 127.0.0.1');
      await screen.waitFor(/reconnected[^]*logged in as bob/);
    });
  });

  describe('the chat-client program on a terminal', () => {
    // `script` gives the program a pseudo-terminal, so it chooses interactive mode by itself.
    test('starts interactive mode with a prompt when stdin is a TTY', async () => {
      const child = spawn('script', ['-qfec', `${process.execPath} ${CLIENT_MAIN} 127.0.0.1 ${server.port}`, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      });
      children.add(child);
      const screen = new Screen();
      child.stdout.pipe(screen);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await screen.waitFor('guest> ');
      child.stdin.write('CHANNELS\r');
      await screen.waitFor('no channels yet');
      child.stdin.write('/quit\r');
      expect(await exited).toBe(0);
    });
  });
});
