import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DEFAULT_DATABASE_CONNECT, SETTINGS, Settings } from './config/settings';
import { SETTINGS_RELOAD, SettingsReload } from './config/settings-reload';
import { DatabaseLog } from './database/database-log';
import { databaseOptions, postgresServer } from './database/database.options';
import { openDataSource } from './database/migrate-under-lock';
import { openAtStart } from './database/open-at-start';
import { createLogger, Logger, LOGGER } from './logging/logger';
import { AuthModule } from './modules/auth/auth.module';
import { ChannelsModule } from './modules/channels/channels.module';
import { FederationModule } from './modules/federation/federation.module';
import { PresenceModule } from './modules/presence/presence.module';
import { LINK_DIALER, LinkDialer } from './transport/link-dialer';
import { TransportErrorsFilter } from './transport/transport-errors.filter';
import { TRANSPORT_STATUS, TransportStatus } from './transport/transport-status';

export interface AppOptions {
  /** How often to retry a failed database connection at start; overrides `database.connectRetries`. */
  readonly databaseRetryAttempts?: number;
  /** Opens links to peer servers: the line transport. Without it no outbound links are made. */
  readonly dialer?: LinkDialer;
  /** The line transport's state, for readiness and metrics (needed when `http.port` is set). */
  readonly transport?: TransportStatus;
  /** The server's logger; by default one built from the settings, writing to stdout. */
  readonly logger?: Logger;
  /** Reloads of the running configuration (SIGHUP), which modules with derived state follow. */
  readonly reload?: SettingsReload;
}

@Module({})
export class AppModule {
  static forRoot(settings: Settings, options: AppOptions = {}): DynamicModule {
    const logger = options.logger ?? createLogger(settings);
    const databaseLog = new DatabaseLog(logger.child({ context: 'Database' }));
    const observed = settings.http.port > 0 && options.transport;
    const dataSourceOptions = databaseOptions(settings.database, databaseLog);
    const attempts = {
      retries: options.databaseRetryAttempts ?? settings.database.connectRetries ?? DEFAULT_DATABASE_CONNECT.retries,
      retryDelayMs: settings.database.connectRetryDelayMs ?? DEFAULT_DATABASE_CONNECT.retryDelayMs,
      server: settings.database.url ? postgresServer(settings.database.url) : undefined,
    };
    return {
      module: AppModule,
      global: true,
      imports: [
        // The factory retries, logging one line per attempt; Nest's own retry would log each with a stack.
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions, toRetry: () => false }),
          dataSourceFactory: () => openAtStart(databaseLog, () => openDataSource(dataSourceOptions, databaseLog), attempts),
        }),
        PresenceModule,
        AuthModule,
        ChannelsModule,
        FederationModule,
        // Loaded only when configured, so that a server alone and without HTTP never loads the
        // Redis client nor the metrics library.
        ...(settings.cluster
          ? [import('./modules/cluster-channels/cluster-channels.module').then((m) => ({ module: m.ClusterChannelsModule }))]
          : []),
        ...(observed
          ? [import('./modules/observability/observability.module').then((m) => ({ module: m.ObservabilityModule }))]
          : []),
      ],
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: SETTINGS_RELOAD, useValue: options.reload ?? new SettingsReload(settings) },
        { provide: LOGGER, useValue: logger },
        { provide: DatabaseLog, useValue: databaseLog },
        { provide: APP_FILTER, useClass: TransportErrorsFilter },
        ...(options.dialer ? [{ provide: LINK_DIALER, useValue: options.dialer }] : []),
        ...(options.transport ? [{ provide: TRANSPORT_STATUS, useValue: options.transport }] : []),
      ],
      exports: [
        SETTINGS,
        SETTINGS_RELOAD,
        LOGGER,
        DatabaseLog,
        ...(options.dialer ? [LINK_DIALER] : []),
        ...(options.transport ? [TRANSPORT_STATUS] : []),
      ],
    };
  }
}
