import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SETTINGS, Settings } from './config/settings';
import { DatabaseLog } from './database/database-log';
import { databaseOptions } from './database/database.options';
import { createLogger, Logger, LOGGER } from './logging/logger';
import { AuthModule } from './modules/auth/auth.module';
import { ChannelsModule } from './modules/channels/channels.module';
import { FederationModule } from './modules/federation/federation.module';
import { ObservabilityModule } from './modules/observability/observability.module';
import { PresenceModule } from './modules/presence/presence.module';
import { LINK_DIALER, LinkDialer } from './transport/link-dialer';
import { TransportErrorsFilter } from './transport/transport-errors.filter';
import { TRANSPORT_STATUS, TransportStatus } from './transport/transport-status';

export interface AppOptions {
  /** How often to retry a failed database connection at start (TypeORM's retryAttempts). */
  readonly databaseRetryAttempts?: number;
  /** Opens links to peer servers: the line transport. Without it no outbound links are made. */
  readonly dialer?: LinkDialer;
  /** The line transport's state, for readiness and metrics (needed when `http.port` is set). */
  readonly transport?: TransportStatus;
  /** The server's logger; by default one built from the settings, writing to stdout. */
  readonly logger?: Logger;
}

@Module({})
export class AppModule {
  static forRoot(settings: Settings, options: AppOptions = {}): DynamicModule {
    const logger = options.logger ?? createLogger(settings);
    const databaseLog = new DatabaseLog(logger.child({ context: 'Database' }));
    const observed = settings.http.port > 0 && options.transport;
    return {
      module: AppModule,
      global: true,
      imports: [
        TypeOrmModule.forRoot({
          ...databaseOptions(settings.database, databaseLog),
          retryAttempts: options.databaseRetryAttempts ?? 5,
          retryDelay: 2000,
        }),
        PresenceModule,
        AuthModule,
        ChannelsModule,
        FederationModule,
        ...(observed ? [ObservabilityModule] : []),
      ],
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: LOGGER, useValue: logger },
        { provide: DatabaseLog, useValue: databaseLog },
        { provide: APP_FILTER, useClass: TransportErrorsFilter },
        ...(options.dialer ? [{ provide: LINK_DIALER, useValue: options.dialer }] : []),
        ...(options.transport ? [{ provide: TRANSPORT_STATUS, useValue: options.transport }] : []),
      ],
      exports: [
        SETTINGS,
        LOGGER,
        DatabaseLog,
        ...(options.dialer ? [LINK_DIALER] : []),
        ...(options.transport ? [TRANSPORT_STATUS] : []),
      ],
    };
  }
}
