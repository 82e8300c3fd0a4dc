import { INestMicroservice, LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AddressInfo } from 'node:net';
import { AppModule, AppOptions } from './app.module';
import { LogLevel, Settings } from './config/settings';
import { LineServer, LineServerOptions } from './transport/line-server';

export interface ChatServer {
  readonly app: INestMicroservice;
  /** The address the line protocol listens on (useful with port 0). */
  address(): AddressInfo;
  /** Graceful stop: no new connections, commands in progress finish, sockets and database close. */
  close(): Promise<void>;
}

const NEST_LEVELS: Record<LogLevel, NestLogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

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
  };
}

/** Builds the Nest microservice on the line transport and starts listening. */
export async function startChatServer(settings: Settings, options: AppOptions = {}): Promise<ChatServer> {
  const transport = new LineServer(lineServerOptions(settings));
  const app = await NestFactory.createMicroservice(AppModule.forRoot(settings, { dialer: transport, ...options }), {
    strategy: transport,
    logger: NEST_LEVELS[settings.logLevel],
  });
  try {
    await app.listen();
  } catch (error) {
    await app.close();
    throw error;
  }
  return {
    app,
    address: () => transport.address(),
    close: () => app.close(),
  };
}
