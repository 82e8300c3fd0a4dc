import { AddressInfo } from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** GET `path` from a server's health and metrics port, with a timeout that says what hung. */
export async function httpGet(address: AddressInfo, path: string, timeoutMs = 5000): Promise<HttpAnswer> {
  const response = await fetch(`http://${address.address}:${address.port}${path}`, {
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: Error) => {
    throw new Error(`GET ${path} got no answer within ${timeoutMs} ms: ${error.message}`);
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
}

/** The samples of a Prometheus text exposition, keyed `name` or `name{label="value",…}`. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export async function scrape(address: AddressInfo): Promise<Map<string, number>> {
  const answer = await httpGet(address, '/metrics');
  if (answer.status !== 200) throw new Error(`GET /metrics answered ${answer.status}: ${answer.body}`);
  return parseMetrics(answer.body);
}

/** A sample's value; 0 when absent (a counter that has not moved yet may not be listed). */
export function sample(samples: ReadonlyMap<string, number>, key: string): number {
  return samples.get(key) ?? 0;
}
