/**
 * `node dist/healthcheck.js`: exits 0 when the server in this container answers /readyz with 200,
 * 1 otherwise. The image's HEALTHCHECK runs it, so it needs neither curl nor wget. It reads the
 * server's HTTP_HOST and HTTP_PORT (the image sets 0.0.0.0 and 9400).
 */
const port = Number(process.env.HTTP_PORT || 9400);
const timeoutMs = 2500;

/** The address to call for the one the server binds: a wildcard is reached on loopback. */
function addressToCall(bound: string): string {
  if (bound === '0.0.0.0') return '127.0.0.1';
  if (bound === '::') return '[::1]';
  return bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
}

const url = `http://${addressToCall(process.env.HTTP_HOST || '127.0.0.1')}:${port}/readyz`;

fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
  async (response) => {
    if (response.ok) process.exit(0);
    process.stderr.write(`not ready (${response.status}): ${await response.text()}\n`);
    process.exit(1);
  },
  (error: Error) => {
    process.stderr.write(`no answer from ${url}: ${error.message}\n`);
    process.exit(1);
  },
);
