import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
      input: scriptInput(['REGISTER bob pw', 'LOGIN bob pw', 'CREATE 日本語', 'JOIN 日本語', 'SAY 日本語 hi  there', 'CHANNELS']),
      output,
      errors,
      waitMs: 200,
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
    });
    await output.waitFor('RESULT JOIN room 1');
    alice.send('SAY room welcome');
    expect(await running).toBe(0);
    expect(output.text).toContain('RECV alice room welcome\n');
    alice.close();
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
    });
    expect(code).toBe(1);
    expect(errors.text).toBe(`chat-client: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n`);
    await server.startAgain();
  });

  test('a connection lost before the input ends exits non-zero', async () => {
    const input = new PassThrough();
    const output = new Screen();
    const errors = new Screen();
    const running = runScript({ host: '127.0.0.1', port: server.port, input, output, errors, waitMs: 100 });
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

function runProgram(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLIENT_MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

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
    alice.send('REGISTER alice pw');
    alice.send('LOGIN alice pw');
    alice.send('CREATE 日本語');
    alice.send('JOIN 日本語');
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
    alice.close();
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
