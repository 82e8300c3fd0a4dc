import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ChatMetrics } from './chat-metrics';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/** Health (`/healthz`, `/readyz`) and Prometheus metrics (`/metrics`) over HTTP. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, MetricsController],
  providers: [ChatMetrics],
})
export class ObservabilityModule {}
