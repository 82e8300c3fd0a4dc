import { clearLine, createInterface, cursorTo, Interface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { describeServerLine, PendingCommand } from './display';
import { reasonOf, ServerLink, TlsTrust } from './server-link';
import { Style } from './style';
import { Action, HELP, interpret } from './user-input';

export interface InteractiveOptions {
  readonly host: string;
  readonly port: number;
  /** Set: over TLS, trusting the server's certificate this way. */
  readonly tls?: TlsTrust;
  readonly input: Readable;
  readonly output: Writable;
  /** True on a real terminal: line editing, history, and input echo that can be hidden. */
  readonly terminal: boolean;
  readonly style: Style;
  readonly now?: () => Date;
}

/**
 * The terminal as readline sees it. While muted, what readline writes (the echo of typed keys) is
 * dropped; the decision is taken when readline writes, so keys typed ahead are hidden too.
 */
class EchoControl extends Writable {
  muted = false;

  constructor(private readonly target: Writable & { columns?: number }) {
    super();
    target.on('resize', () => this.emit('resize'));
  }

  get columns(): number | undefined {
    return this.target.columns;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const done = [encoding, callback].find((value) => typeof value === 'function') as (() => void) | undefined;
    if (this.muted) {
      done?.();
      return true;
    }
    return this.target.write(chunk, done);
  }
}

type InputMode =
  | { readonly kind: 'command' }
  | { readonly kind: 'password'; readonly verb: 'REGISTER' | 'LOGIN'; readonly user: string }
  | { readonly kind: 'reconnect' };

/**
 * The interactive client: a prompt with line editing and history, friendly /commands, server
 * lines described in plain language above the prompt, and an offer to reconnect (logging in
 * again) when the connection drops. `run()` resolves with the exit code.
 */
export class InteractiveClient {
  private readonly echo: EchoControl;
  private readonly rl: Interface;
  private link?: ServerLink;
  private mode: InputMode = { kind: 'command' };
  private pending: PendingCommand[] = [];
  private channel?: string;
  private user?: string;
  /** Kept in memory only, to log in again after a reconnect. */
  private credentials?: { user: string; password: string };
  private attempt?: { user: string; password: string };
  private finish!: (code: number) => void;
  private finished = false;

  constructor(private readonly options: InteractiveOptions) {
    this.echo = new EchoControl(options.output);
    this.rl = createInterface({
      input: options.input,
      output: this.echo,
      terminal: options.terminal,
      historySize: 500,
      removeHistoryDuplicates: true,
    });
  }

  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.finish = resolve));
    this.rl.on('line', (line) => this.onInput(line));
    this.rl.on('close', () => this.quit());
    this.rl.on('SIGINT', () => this.quit());
    if (!(await this.connect())) {
      this.finished = true;
      this.rl.close();
      return 1;
    }
    this.print(this.options.style.notice(`connected to ${this.address} — /help lists the commands`));
    this.showPrompt();
    return done;
  }

  private get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private async connect(): Promise<boolean> {
    try {
      const link = await ServerLink.connect(this.options.host, this.options.port, this.options.tls);
      link.on('line', (line) => this.onServerLine(line));
      link.on('closed', () => this.onLost(link));
      this.link = link;
      this.pending = [];
      return true;
    } catch (error) {
      this.print(this.options.style.failure(`cannot connect to ${this.address}: ${reasonOf(error)}`));
      return false;
    }
  }

  private onInput(line: string): void {
    const mode = this.mode;
    if (mode.kind === 'password') {
      this.endPasswordEntry();
      this.sendCredentials(mode.verb, mode.user, line);
    } else if (mode.kind === 'reconnect') {
      void this.answerReconnect(line.trim().toLowerCase());
      return;
    } else {
      this.perform(interpret(line, this.channel));
    }
    this.showPrompt();
  }

  private perform(action: Action): void {
    switch (action.kind) {
      case 'send':
        this.send(action.line, action.pending);
        break;
      case 'credentials':
        this.mode = { kind: 'password', verb: action.verb, user: action.user };
        break;
      case 'switch':
        this.channel = action.channel;
        this.print(this.options.style.notice(`now talking in ${action.channel}`));
        break;
      case 'help':
        this.print(HELP);
        break;
      case 'quit':
        this.quit();
        break;
      case 'problem':
        this.print(this.options.style.failure(action.message));
        break;
      case 'nothing':
        break;
    }
  }

  private send(line: string, pending?: PendingCommand): void {
    if (!this.link?.isOpen) {
      this.print(this.options.style.failure('not connected'));
      return;
    }
    if (pending) this.pending.push(pending);
    this.link.send(line);
  }

  private sendCredentials(verb: 'REGISTER' | 'LOGIN', user: string, password: string): void {
    if (verb === 'LOGIN') this.attempt = { user, password };
    this.send(`${verb} ${user} ${password}`, { verb, subject: user });
  }

  /** Pairs a RESULT with the command it answers: replies come in command order, and a SAY that worked has none. */
  private answered(verb: string): PendingCommand | undefined {
    const index = this.pending.findIndex((command) => command.verb === verb);
    if (index === -1) return undefined;
    return this.pending.splice(0, index + 1)[index];
  }

  private onServerLine(line: string): void {
    const result = /^RESULT (\S+) .*?([01])$/.exec(line);
    const pending = result ? this.answered(result[1]) : undefined;
    if (pending?.verb === 'LOGIN') this.onLoginResult(result?.[2] === '1', pending.subject);
    const now = this.options.now?.() ?? new Date();
    this.print(describeServerLine(line, this.options.style, now, pending, this.user !== undefined));
  }

  private onLoginResult(ok: boolean, user: string | undefined): void {
    if (ok && user) {
      this.user = user;
      if (this.attempt?.user === user) this.credentials = this.attempt;
    }
    this.attempt = undefined;
  }

  private onLost(link: ServerLink): void {
    if (link !== this.link) return;
    this.link = undefined;
    this.user = undefined;
    if (this.mode.kind === 'password') this.endPasswordEntry();
    this.print(this.options.style.failure(`connection to ${this.address} lost`));
    this.mode = { kind: 'reconnect' };
    this.showPrompt();
  }

  private async answerReconnect(answer: string): Promise<void> {
    if (answer === 'n' || answer === 'no') {
      this.quit();
      return;
    }
    if (await this.connect()) {
      this.mode = { kind: 'command' };
      this.print(this.options.style.notice(`reconnected to ${this.address}`));
      if (this.credentials) {
        this.attempt = this.credentials;
        this.send(`LOGIN ${this.credentials.user} ${this.credentials.password}`, {
          verb: 'LOGIN',
          subject: this.credentials.user,
        });
      }
    }
    this.showPrompt();
  }

  private endPasswordEntry(): void {
    this.echo.muted = false;
    this.mode = { kind: 'command' };
    this.forgetLastHistoryEntry();
    if (this.options.terminal) this.options.output.write('\n');
  }

  /** The password line must not be recallable with the arrow keys. */
  private forgetLastHistoryEntry(): void {
    const history = (this.rl as unknown as { history?: string[] }).history;
    if (Array.isArray(history)) history.shift();
  }

  private promptText(): string {
    switch (this.mode.kind) {
      case 'password':
        return 'password: ';
      case 'reconnect':
        return 'reconnect? [Y/n] ';
      case 'command': {
        const who = this.user ?? 'guest';
        return `${who}${this.channel ? ` ${this.channel}` : ''}> `;
      }
    }
  }

  private showPrompt(): void {
    this.rl.setPrompt(this.promptText());
    this.echo.muted = false;
    this.rl.prompt();
    // Typed password characters are not echoed.
    if (this.mode.kind === 'password') this.echo.muted = true;
  }

  /** Writes a line above the prompt, then redraws the prompt with what the user has typed so far. */
  private print(text: string): void {
    const output = this.options.output;
    if (!this.options.terminal || this.finished) {
      output.write(`${text}\n`);
      return;
    }
    clearLine(output, 0);
    cursorTo(output, 0);
    output.write(`${text}\n`);
    if (this.mode.kind === 'password') {
      output.write('password: ');
      return;
    }
    this.rl.setPrompt(this.promptText());
    this.rl.prompt(true);
  }

  private quit(): void {
    if (this.finished) return;
    this.finished = true;
    this.link?.removeAllListeners();
    this.link?.close();
    this.rl.close();
    this.finish?.(0);
  }
}
