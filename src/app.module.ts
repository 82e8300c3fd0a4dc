import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SETTINGS, Settings } from './config/settings';
import { databaseOptions } from './database/database.options';
import { AuthModule } from './modules/auth/auth.module';
import { ChannelsModule } from './modules/channels/channels.module';
import { FederationModule } from './modules/federation/federation.module';
import { PresenceModule } from './modules/presence/presence.module';
import { LINK_DIALER, LinkDialer } from './transport/link-dialer';
import { TransportErrorsFilter } from './transport/transport-errors.filter';

export interface AppOptions {
  /** How often to retry a failed database connection at start (TypeORM's retryAttempts). */
  readonly databaseRetryAttempts?: number;
  /** Opens links to peer servers: the line transport. Without it no outbound links are made. */
  readonly dialer?: LinkDialer;
}

@Module({})
export class AppModule {
  static forRoot(settings: Settings, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        TypeOrmModule.forRoot({
          ...databaseOptions(settings.database),
          retryAttempts: options.databaseRetryAttempts ?? 5,
          retryDelay: 2000,
        }),
        PresenceModule,
        AuthModule,
        ChannelsModule,
        FederationModule,
      ],
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: APP_FILTER, useClass: TransportErrorsFilter },
        ...(options.dialer ? [{ provide: LINK_DIALER, useValue: options.dialer }] : []),
      ],
      exports: [SETTINGS, ...(options.dialer ? [LINK_DIALER] : [])],
    };
  }
}
