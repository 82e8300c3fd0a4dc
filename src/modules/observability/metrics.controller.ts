import { Controller, Get, Header } from '@nestjs/common';
import { Registry } from 'prom-client';
import { ChatMetrics } from './chat-metrics';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: ChatMetrics) {}

  // GET /metrics: Prometheus text format.
  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
