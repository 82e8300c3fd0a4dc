import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { DestinationStream } from 'pino';
import { AppModule, AppOptions } from './app.module';
import { postgresServer } from './database/database.options';
import { Settings } from './config/settings';
import { createLogger, NestLogger } from './logging/logger';
import { LineServer, LineServerOptions } from './transport/line-server';

export interface ChatServer {
  readonly app: INestApplication;
  /** The address the line protocol listens on (useful with port 0). */
  address(): AddressInfo;
  /** The address of health and metrics over HTTP; undefined when `http.port` is 0. */
  httpAddress(): AddressInfo | undefined;
  /** Graceful stop: no new connections, commands in progress finish, sockets and database close. */
  close(): Promise<void>;
}

export interface StartOptions extends Pick<AppOptions, 'databaseRetryAttempts' | 'dialer'> {
  /** Where log lines go instead of stdout (tests read them). */
  readonly logDestination?: DestinationStream;
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
    exemptLoopback: limits.exemptLoopback,
    proxyProtocolFrom: settings.proxyProtocol?.from,
  };
}

/**
 * Builds the hybrid Nest app: the line protocol as a connected microservice, and HTTP for health
 * and metrics when `http.port` is set. Modules initialise (migrations, membership, peer links)
 * before the line protocol accepts its first connection.
 */
export async function startChatServer(settings: Settings, options: StartOptions = {}): Promise<ChatServer> {
  const logger = createLogger(settings, options.logDestination);
  logger.info({ context: 'Database' }, `using ${describeDatabase(settings)}`);
  const transport = new LineServer(lineServerOptions(settings), logger);
  const module = AppModule.forRoot(settings, {
    databaseRetryAttempts: options.databaseRetryAttempts,
    dialer: options.dialer ?? transport,
    transport,
    logger,
  });
  const app = await NestFactory.create<NestExpressApplication>(module, { logger: new NestLogger(logger), abortOnError: false });
  app.disable('x-powered-by');
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  const httpOn = settings.http.port > 0;
  try {
    await app.init();
    await app.startAllMicroservices();
    if (httpOn) {
      await app.listen(settings.http.port, settings.http.host);
      const { address, port } = app.getHttpServer().address() as AddressInfo;
      logger.info({ context: 'Http', address, port }, `health and metrics on http://${address}:${port}`);
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  return {
    app,
    address: () => transport.address(),
    httpAddress: () => (httpOn ? (app.getHttpServer().address() as AddressInfo) : undefined),
    // The line protocol finishes its commands before peer links and the database close.
    close: async () => {
      await transport.close();
      await app.close();
    },
  };
}

/** Where the data lives, for the start-up log; a URL's password is left out. */
function describeDatabase({ database }: Settings): string {
  return database.url
    ? `PostgreSQL at ${postgresServer(database.url)}${new URL(database.url).pathname}`
    : `the embedded database in ${resolve(database.dataDir)}`;
}
