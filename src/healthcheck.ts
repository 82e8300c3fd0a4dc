/**
 * `node dist/healthcheck.js`: exits 0 when the server in this container answers /readyz with 200,
 * 1 otherwise. The image's HEALTHCHECK runs it, so it needs neither curl nor wget.
 */
const port = Number(process.env.HTTP_PORT || 9400);
const timeoutMs = 2500;

fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(timeoutMs) }).then(
  async (response) => {
    if (response.ok) process.exit(0);
    process.stderr.write(`not ready (${response.status}): ${await response.text()}\n`);
    process.exit(1);
  },
  (error: Error) => {
    process.stderr.write(`no answer from http://127.0.0.1:${port}/readyz: ${error.message}\n`);
    process.exit(1);
  },
);
