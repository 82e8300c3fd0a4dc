import 'reflect-metadata';
import { AddressInfo } from 'node:net';
import { ChatServer, startChatServer, StartOptions } from '../../../src/chat-server';
import { DEFAULT_LIMITS, Settings } from '../../../src/config/settings';
import { DatabaseSettings } from '../../../src/database/database.options';
import { started, stopped } from './running';

export type SettingsOverrides = Partial<Omit<Settings, 'limits' | 'http'>> & {
  limits?: Partial<Settings['limits']>;
  http?: Partial<Settings['http']>;
};

/** The settings e2e servers run with: loopback, an ephemeral port, cheap bcrypt, quiet logs. */
export function testSettings(database: DatabaseSettings, overrides: SettingsOverrides = {}): Settings {
  return {
    port: 0,
    host: '127.0.0.1',
    hostname: '127.0.0.1:0',
    database,
    federation: { peers: [], acceptFrom: 'listed', requestTimeoutMs: 5000 },
    idleFlushMs: 100,
    bcryptCost: 4,
    logLevel: 'error',
    logFormat: 'json',
    ...overrides,
    http: { port: 0, host: '127.0.0.1', ...overrides.http },
    limits: { ...DEFAULT_LIMITS, ...overrides.limits },
  };
}

/**
 * Starts the real app on port 0; restart() stops it and starts it again on the same database and port.
 * A server the test leaves running (it failed or timed out first) is stopped by the harness after it.
 */
export class TestServer {
  private server?: ChatServer;
  private starting?: Promise<ChatServer>;

  constructor(
    private settings: Settings,
    private readonly options: StartOptions = {},
  ) {}

  static async start(database: DatabaseSettings, overrides?: SettingsOverrides, options?: StartOptions): Promise<TestServer> {
    const server = new TestServer(testSettings(database, overrides), options);
    await server.startAgain();
    return server;
  }

  get port(): number {
    if (!this.server) throw new Error('the server is not running');
    return this.server.address().port;
  }

  /** Where health and metrics are served (`http.port` set). */
  get http(): AddressInfo {
    const address = this.server?.httpAddress();
    if (!address) throw new Error('the server is not running with http.port set');
    return address;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  /** Starts a stopped server again, on the port it had. */
  async startAgain(): Promise<void> {
    started(
      this,
      () => `chat server on ${this.settings.host}:${this.settings.port}`,
      () => this.stop(),
    );
    const starting = startChatServer(this.settings, { databaseRetryAttempts: 0, ...this.options });
    this.starting = starting;
    try {
      const server = await starting;
      if (this.starting !== starting) throw new Error('the server was stopped while it was starting');
      this.server = server;
      this.settings = { ...this.settings, port: server.address().port };
    } finally {
      if (this.starting === starting) this.starting = undefined;
    }
  }

  /** Stops the server, or one still starting once it has started; stopping a stopped server does nothing. */
  async stop(): Promise<void> {
    stopped(this);
    const starting = this.starting;
    this.starting = undefined;
    const server = this.server ?? (await starting?.catch(() => undefined));
    this.server = undefined;
    await server?.close();
  }
}
