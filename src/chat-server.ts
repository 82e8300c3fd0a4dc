import { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { DestinationStream } from 'pino';
import { AppModule, AppOptions } from './app.module';
import { postgresServer } from './database/database.options';
import { Settings } from './config/settings';
import { ReloadOutcome, SettingsReload } from './config/settings-reload';
import { createLogger, Logger, NestLogger } from './logging/logger';
import type { HttpEndpoints } from './modules/observability/http-endpoints';
import { StartupTimes } from './startup-times';
import { LineServer, LineServerOptions } from './transport/line-server';
import { ServerCertificate } from './transport/tls-certificate';

export interface ChatServer {
  readonly app: INestMicroservice;
  /** The address the line protocol listens on (useful with port 0). */
  address(): AddressInfo;
  /** The address of health and metrics over HTTP; undefined when `http.port` is 0. */
  httpAddress(): AddressInfo | undefined;
  /** The TLS port's address; undefined when `tls.port` is unset or 0. */
  tlsAddress(): AddressInfo | undefined;
  /** The SHA-256 fingerprint of this server's certificate as it is now (peers pin it); undefined without one. */
  certificateFingerprint(): string | undefined;
  /** Graceful stop: no new connections, commands in progress finish, sockets and database close. */
  close(): Promise<void>;
  /**
   * Puts a new configuration in force where it can be while running (limits, log level, peers,
   * the certificate's files re-read) and says what changed and what waits for a restart.
   */
  reload(next: Settings): Promise<ReloadOutcome>;
}

export interface StartOptions extends Pick<AppOptions, 'databaseRetryAttempts' | 'dialer'> {
  /** Where log lines go instead of stdout (tests read them). */
  readonly logDestination?: DestinationStream;
  /** The process's start so far (the launcher's): the start then ends with one line naming its parts. */
  readonly startup?: StartupTimes;
}

/** The transport's options, from the settings. */
export function lineServerOptions(settings: Settings): LineServerOptions {
  const { limits } = settings;
  return {
    port: settings.port,
    host: settings.host,
    idleFlushMs: settings.idleFlushMs,
    maxLineBytes: limits.maxLineBytes,
    commandsPerSecond: limits.commandsPerSecond,
    commandBurst: limits.commandBurst,
    maxQueuedCommands: limits.maxQueuedCommands,
    unauthenticatedIdleMs: limits.unauthenticatedIdleSeconds * 1000,
    sendQueueBytes: limits.sendQueueBytes,
    connectionsPerAddress: limits.connectionsPerAddress,
    maxConnections: limits.maxConnections,
    exemptLoopback: limits.exemptLoopback,
    proxyProtocolFrom: settings.proxyProtocol?.from,
    ...(settings.tls && settings.tls.port !== 0 ? { tlsPort: settings.tls.port } : {}),
  };
}

/**
 * Builds the Nest app: a microservice on the line transport, and HTTP for health and metrics when
 * `http.port` is set (Node's own server, see `HttpEndpoints`). Modules initialise (migrations,
 * membership, peer links) before the line protocol accepts its first connection.
 */
export async function startChatServer(settings: Settings, options: StartOptions = {}): Promise<ChatServer> {
  const serverStarted = performance.now();
  const logger = createLogger(settings, options.logDestination);
  // Before anything is logged: certificate files that cannot be used stop the start with one line.
  const certificate = settings.tls ? ServerCertificate.load(settings.tls, logger) : undefined;
  logger.info({ context: 'Database' }, `using ${describeDatabase(settings)}`);
  const transport = new LineServer(lineServerOptions(settings), logger, certificate);
  const reload = new SettingsReload(settings);
  reload.onReload((live) => {
    logger.level = live.logLevel;
    transport.reconfigure(lineServerOptions(live));
    certificate?.reload();
  });
  const module = AppModule.forRoot(settings, {
    reload,
    databaseRetryAttempts: options.databaseRetryAttempts,
    dialer: options.dialer ?? transport,
    transport,
    logger,
  });
  const app = await NestFactory.createMicroservice(module, {
    strategy: transport,
    logger: new NestLogger(logger),
    abortOnError: false,
  }).catch((error: unknown) => {
    certificate?.close();
    throw error;
  });
  let http: HttpEndpoints | undefined;
  try {
    await app.listen();
    if (settings.http.port > 0) http = await serveHealthAndMetrics(app, settings, logger);
  } catch (error) {
    await app.close();
    throw error;
  }
  if (options.startup) {
    options.startup.serverReady(serverStarted);
    const { totalMs, parts, text } = options.startup.summary();
    logger.info({ context: 'Startup', startup: { ...parts, total: totalMs } }, text);
  }
  return {
    app,
    address: () => transport.address(),
    httpAddress: () => http?.address(),
    tlsAddress: () => transport.tlsAddress(),
    certificateFingerprint: () => transport.certificateFingerprint,
    reload: (next) => reload.apply(next),
    // The line protocol finishes its commands before peer links, HTTP and the database close.
    close: async () => {
      await transport.close();
      await app.close();
    },
  };
}

/** Listens for health and metrics over HTTP (the observability module, loaded only then). */
async function serveHealthAndMetrics(app: INestMicroservice, settings: Settings, logger: Logger): Promise<HttpEndpoints> {
  const { HttpEndpoints } = await import('./modules/observability/http-endpoints');
  const endpoints = app.get(HttpEndpoints);
  const { address, port } = await endpoints.listen(settings.http.port, settings.http.host);
  logger.info({ context: 'Http', address, port }, `health and metrics on http://${address}:${port}`);
  return endpoints;
}

/** Where the data lives, for the start-up log; a URL's password is left out. */
function describeDatabase({ database }: Settings): string {
  return database.url
    ? `PostgreSQL at ${postgresServer(database.url)}${new URL(database.url).pathname}`
    : `the embedded database in ${resolve(database.dataDir)}`;
}
