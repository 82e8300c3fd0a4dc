import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { lineServerOptions } from '../../src/chat-server';
import { LineServer } from '../../src/transport/line-server';
import { CommandSyntax, SYNTAX_EXTRA } from '../../src/transport/command';
import { LineContext } from '../../src/transport/line-context';
import { Reply } from '../../src/transport/replies';
import { SESSION_CLOSED } from '../../src/transport/session';
import { ServerCertificate } from '../../src/transport/tls-certificate';
import { testDatabases } from './harness/databases';
import { eventually, freePort } from './harness/federation';
import { delay, LineClient } from './harness/line-client';
import { LEVEL, LogCapture } from './harness/log-capture';
import { started, stopped } from './harness/running';
import { TestServer, testSettings } from './harness/test-server';
import { makeCertificate, TestCertificate } from './harness/tls-certificates';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const CLIENT_MAIN = join(__dirname, '..', '..', 'dist', 'client', 'main.js');
const HANDSHAKE_WAIT_MS = 5000;

const database = testDatabases()[0];
let scratch: string;
/** This server's certificate, the one that replaces it, a peer's, and a client's. */
let serverCert: TestCertificate;
let nextCert: TestCertificate;
let peerCert: TestCertificate;
let clientCert: TestCertificate;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-tls-'));
  [serverCert, nextCert, peerCert, clientCert] = await Promise.all([
    makeCertificate(scratch, 'chat.test'),
    makeCertificate(scratch, 'chat-next.test'),
    makeCertificate(scratch, 'peer.test'),
    makeCertificate(scratch, 'client.test'),
  ]);
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  database.dispose();
});

interface TlsClient {
  readonly client: LineClient;
  /** The fingerprint of the certificate the server presented for this connection. */
  readonly serverFingerprint: string;
}

/** A line client over TLS, trusting whatever certificate the server presents; `identity` is presented to the server. */
async function connectOverTls(port: number, name: string, identity?: TestCertificate): Promise<TlsClient> {
  const socket = connectTls({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    ...(identity ? { cert: readFileSync(identity.certFile), key: readFileSync(identity.keyFile) } : {}),
  });
  const timeout = AbortSignal.timeout(HANDSHAKE_WAIT_MS);
  try {
    await once(socket, 'secureConnect', { signal: timeout });
  } catch (error) {
    socket.destroy();
    const why = timeout.aborted ? `no TLS handshake within ${HANDSHAKE_WAIT_MS} ms (is the TLS listener up?)` : String(error);
    throw new Error(`${name}: connecting over TLS to 127.0.0.1:${port}: ${why}`, { cause: error });
  }
  return { client: LineClient.fromSocket(socket, name), serverFingerprint: socket.getPeerCertificate().fingerprint256 };
}

/** Copies of `certificate`'s files that a test may overwrite. */
function liveCopy(certificate: TestCertificate, name: string): { certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  const files = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') };
  copyFileSync(certificate.certFile, files.certFile);
  copyFileSync(certificate.keyFile, files.keyFile);
  return files;
}

async function startTlsServer(files: { certFile: string; keyFile: string }, logs = new LogCapture(), settings: object = {}) {
  const tlsPort = await freePort('127.0.0.1');
  const server = await TestServer.start(
    await database.fresh(),
    { logLevel: 'info', tls: { ...files, port: tlsPort }, ...settings },
    { logDestination: logs },
  );
  return { server, tlsPort, logs };
}

describe('the TLS port (tls.port) serves clients beside the plain port', () => {
  let server: TestServer;
  let tlsPort: number;
  let logs: LogCapture;

  beforeAll(async () => {
    ({ server, tlsPort, logs } = await startTlsServer(serverCert));
  });

  afterAll(() => server.stop());

  test("logs the TLS listener and this server's certificate fingerprint at start", () => {
    const messages = logs.entries.map((entry) => entry.msg);
    expect(messages).toContain(`listening for TLS on 127.0.0.1:${tlsPort}`);
    expect(messages).toContain(`TLS certificate ${serverCert.certFile} (fingerprint ${serverCert.fingerprint})`);
  });

  // "A TLS connection is handled exactly like a plain one."
  test('REGISTER, LOGIN, CREATE, JOIN and SAY over TLS, with a plain client in the same channel', async () => {
    const { client: alice, serverFingerprint } = await connectOverTls(tlsPort, 'alice over TLS');
    const bob = await LineClient.connect(server.port, 'bob in plain TCP');
    try {
      expect(serverFingerprint).toBe(serverCert.fingerprint);
      await alice.registerAndLogin('alice');
      alice.send('CREATE secure');
      await alice.expectLine('RESULT CREATE secure 1');
      alice.send('JOIN secure');
      await alice.expectLine('RESULT JOIN secure 1');
      await bob.registerAndLogin('bob');
      bob.send('JOIN secure');
      await bob.expectLine('RESULT JOIN secure 1');

      alice.send('SAY secure hello from TLS');
      await alice.expectLine('RECV alice secure hello from TLS');
      await bob.expectLine('RECV alice secure hello from TLS');
      bob.send('SAY secure hello from TCP');
      await bob.expectLine('RECV bob secure hello from TCP');
      await alice.expectLine('RECV bob secure hello from TCP');
      alice.send('CHANNELS');
      await alice.expectLine('RESULT CHANNELS secure');
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('bytes that are not TLS are logged as a failed handshake, and the port keeps serving', async () => {
    const plain = await LineClient.connect(tlsPort, 'plain text to the TLS port');
    plain.send('REGISTER mallory pw');
    await plain.expectClosed(HANDSHAKE_WAIT_MS);
    await eventually(
      () => {
        const failures = logs.atLeast(LEVEL.warn).filter((entry) => entry.msg.startsWith('TLS handshake with 127.0.0.1:'));
        if (failures.length === 0) throw new Error('no "TLS handshake with … failed" warning logged');
        return Promise.resolve();
      },
      5000,
      'the handshake warning',
    );
    const { client } = await connectOverTls(tlsPort, 'after the garbage');
    client.send('CHANNELS');
    await client.expectLine('RESULT CHANNELS secure');
    client.close();
  });
});

describe('TLS connections and the connection cap (limits.maxConnections)', () => {
  test('a TLS connection counts once while open and is counted out once when it closes', async () => {
    const { server, tlsPort } = await startTlsServer(serverCert, new LogCapture(), { limits: { maxConnections: 2 } });
    const open: LineClient[] = [];
    try {
      for (let round = 1; round <= 2; round++) {
        open.push((await connectOverTls(tlsPort, `first of round ${round}`)).client);
        open.push(await LineClient.connect(server.port, `second of round ${round}`));
        for (const client of open) {
          client.send('CHANNELS');
          await client.expectLine('RESULT CHANNELS ');
        }
        // At the cap, over TLS or not, the next is closed at once.
        await expect(connectOverTls(tlsPort, `over the cap in round ${round}`)).rejects.toThrow();
        const over = await LineClient.connect(server.port, `plain over the cap in round ${round}`);
        await over.expectClosed(2000);
        for (const client of open.splice(0)) client.close();
        await delay(300);
      }
    } finally {
      for (const client of open) client.close();
      await server.stop();
    }
  });
});

/** What the accepting side knew of a connection when its FEDERATE-OUT arrived. */
interface Seen {
  readonly secure?: boolean;
  readonly tlsFingerprint?: string;
}

/**
 * A bare transport with a certificate and a TLS port on a free port. It answers FEDERATE-OUT, as
 * the federation layer would read it, by recording what it knows of the session that sent it.
 */
async function startTransport(certificate?: TestCertificate) {
  const logs = new LogCapture();
  const logger = logs.logger('debug');
  const loaded = certificate ? ServerCertificate.load(certificate, logger) : undefined;
  const options = { ...lineServerOptions(testSettings({ dataDir: scratch })), ...(loaded ? { tlsPort: 0 } : {}) };
  const transport = new LineServer(options, logger, loaded);
  const seen: Seen[] = [];
  const syntax: CommandSyntax = { fields: [], rest: 'words', restMayBeEmpty: true, canFail: false };
  transport.addHandler(
    'FEDERATE-OUT',
    (_command: unknown, context: LineContext) => {
      const { secure, tlsFingerprint } = context.getSession();
      seen.push({ secure, tlsFingerprint });
      return Promise.resolve(Reply.result('FEDERATE-OUT', true));
    },
    false,
    { [SYNTAX_EXTRA]: syntax },
  );
  // As the app does, it hears every connection's end (a link refused for its certificate ends too).
  transport.addHandler(SESSION_CLOSED, () => Promise.resolve(), true);
  started(
    transport,
    () => 'TLS test transport',
    () => transport.close(),
  );
  await new Promise<void>((resolve, reject) =>
    transport.listen((error) =>
      error === undefined ? resolve() : reject(error instanceof Error ? error : new Error('the transport did not listen')),
    ),
  );
  const stop = async () => {
    stopped(transport);
    await transport.close();
  };
  return { transport, seen, logs, stop };
}

/** The TLS port of a transport started with a certificate. */
function tlsPortOf(transport: LineServer): number {
  const address = transport.tlsAddress();
  if (!address) throw new Error('the transport has no TLS port (started without a certificate?)');
  return address.port;
}

describe('TLS identities: what each side presented', () => {
  test('a client presenting a certificate has its fingerprint on the session', async () => {
    const accepting = await startTransport(serverCert);
    try {
      const { client } = await connectOverTls(tlsPortOf(accepting.transport), 'with a certificate', clientCert);
      client.send('FEDERATE-OUT client.test');
      await client.expectLine('RESULT FEDERATE-OUT 1');
      client.close();
      expect(accepting.seen).toEqual([{ secure: true, tlsFingerprint: clientCert.fingerprint }]);
    } finally {
      await accepting.stop();
    }
  });

  test('a client presenting no certificate is secure with no fingerprint', async () => {
    const accepting = await startTransport(serverCert);
    try {
      const { client } = await connectOverTls(tlsPortOf(accepting.transport), 'without a certificate');
      client.send('FEDERATE-OUT anonymous.test');
      await client.expectLine('RESULT FEDERATE-OUT 1');
      client.close();
      expect(accepting.seen).toEqual([{ secure: true, tlsFingerprint: undefined }]);
    } finally {
      await accepting.stop();
    }
  });

  test('a plain connection is not secure and has no fingerprint', async () => {
    const accepting = await startTransport(serverCert);
    try {
      const client = await LineClient.connect(accepting.transport.address().port, 'plain');
      client.send('FEDERATE-OUT plain.test');
      await client.expectLine('RESULT FEDERATE-OUT 1');
      client.close();
      expect(accepting.seen).toEqual([{ secure: false, tlsFingerprint: undefined }]);
    } finally {
      await accepting.stop();
    }
  });
});

describe('dialing a link over TLS (DialTarget.tls)', () => {
  test("with the peer's fingerprint: the link is up, and the peer sees this server's certificate", async () => {
    const peer = await startTransport(peerCert);
    const dialer = await startTransport(serverCert);
    try {
      const port = tlsPortOf(peer.transport);
      const session = await dialer.transport.dial({ host: '127.0.0.1', port, tls: { fingerprint: peerCert.fingerprint } });
      expect(session.secure).toBe(true);
      expect(session.tlsFingerprint).toBe(peerCert.fingerprint);
      session.send(Reply.federateOut('chat.test'));
      await eventually(
        () => (peer.seen.length > 0 ? Promise.resolve() : Promise.reject(new Error('no FEDERATE-OUT handled yet'))),
        5000,
        "the peer's handling of FEDERATE-OUT over the dialed link",
      );
      expect(peer.seen).toEqual([{ secure: true, tlsFingerprint: serverCert.fingerprint }]);
      session.close();
    } finally {
      await dialer.stop();
      await peer.stop();
    }
  });

  test('a fingerprint written in lower case without colons is the same fingerprint', async () => {
    const peer = await startTransport(peerCert);
    const dialer = await startTransport(serverCert);
    try {
      const port = tlsPortOf(peer.transport);
      const loose = peerCert.fingerprint.replace(/:/g, '').toLowerCase();
      const session = await dialer.transport.dial({ host: '127.0.0.1', port, tls: { fingerprint: loose } });
      expect(session.tlsFingerprint).toBe(peerCert.fingerprint);
      session.close();
    } finally {
      await dialer.stop();
      await peer.stop();
    }
  });

  test('with another fingerprint: refused, naming the expected and the presented fingerprint', async () => {
    const peer = await startTransport(peerCert);
    const dialer = await startTransport(serverCert);
    try {
      const port = tlsPortOf(peer.transport);
      await expect(
        dialer.transport.dial({ host: '127.0.0.1', port, tls: { fingerprint: nextCert.fingerprint } }),
      ).rejects.toThrow(`certificate fingerprint mismatch: expected ${nextCert.fingerprint}, got ${peerCert.fingerprint}`);
      expect(dialer.transport.stats().connectionsOpen).toBe(0);
    } finally {
      await dialer.stop();
      await peer.stop();
    }
  });

  test('without a certificate of its own a server refuses to dial over TLS', async () => {
    const peer = await startTransport(peerCert);
    const dialer = await startTransport();
    try {
      const port = tlsPortOf(peer.transport);
      await expect(
        dialer.transport.dial({ host: '127.0.0.1', port, tls: { fingerprint: peerCert.fingerprint } }),
      ).rejects.toThrow(`cannot dial 127.0.0.1:${port} over TLS: this server has no certificate (tls.certFile, tls.keyFile)`);
    } finally {
      await dialer.stop();
      await peer.stop();
    }
  });
});

describe('certificate files are read again when they change', () => {
  /** Waits until a new TLS connection is served `fingerprint`; returns how the last connection saw it. */
  async function servedFingerprintBecomes(port: number, fingerprint: string): Promise<void> {
    await eventually(
      async () => {
        const { client, serverFingerprint } = await connectOverTls(port, 'probe');
        client.close();
        if (serverFingerprint !== fingerprint) throw new Error(`still served ${serverFingerprint}`);
      },
      10_000,
      'the new certificate (the file watcher never reloaded it?)',
    );
  }

  // "Existing connections are unaffected; new ones get the new certificate."
  test('new TLS connections get the new certificate, and a connection already open keeps working', async () => {
    const files = liveCopy(serverCert, 'reload');
    const { server, tlsPort, logs } = await startTlsServer(files);
    try {
      const { client: early, serverFingerprint } = await connectOverTls(tlsPort, 'connected before the change');
      expect(serverFingerprint).toBe(serverCert.fingerprint);
      await early.registerAndLogin('early');

      writeFileSync(files.keyFile, readFileSync(nextCert.keyFile));
      writeFileSync(files.certFile, readFileSync(nextCert.certFile));
      await servedFingerprintBecomes(tlsPort, nextCert.fingerprint);

      expect(logs.entries.map((entry) => entry.msg)).toContain(
        `TLS certificate reloaded from ${files.certFile} (fingerprint ${nextCert.fingerprint})`,
      );
      expect(logs.atLeast(LEVEL.error)).toEqual([]);
      early.send('CREATE after-reload');
      await early.expectLine('RESULT CREATE after-reload 1');
      early.close();
    } finally {
      await server.stop();
    }
  });

  test('a certificate file that is not a certificate is logged, and the old certificate keeps being served', async () => {
    const files = liveCopy(serverCert, 'garbage');
    const { server, tlsPort, logs } = await startTlsServer(files);
    try {
      writeFileSync(files.certFile, 'this is not a certificate\n');
      await eventually(
        () => {
          const errors = logs.atLeast(LEVEL.error).map((entry) => entry.msg);
          const named = errors.find((message) => message.includes(`${files.certFile}: tls.certFile: not a PEM certificate`));
          return named ? Promise.resolve() : Promise.reject(new Error(`errors logged so far: ${JSON.stringify(errors)}`));
        },
        10_000,
        'the error naming the bad certificate file (the file watcher never looked?)',
      );
      const { client, serverFingerprint } = await connectOverTls(tlsPort, 'after the bad replacement');
      expect(serverFingerprint).toBe(serverCert.fingerprint);
      client.send('CHANNELS');
      await client.expectLine('RESULT CHANNELS ');
      client.close();
    } finally {
      await server.stop();
    }
  });

  test('a key that does not belong to the new certificate is refused naming the key file', async () => {
    const files = liveCopy(serverCert, 'mismatch');
    const { server, tlsPort, logs } = await startTlsServer(files);
    try {
      writeFileSync(files.certFile, readFileSync(nextCert.certFile));
      await eventually(
        () => {
          const errors = logs.atLeast(LEVEL.error).map((entry) => entry.msg);
          const expected = `${files.keyFile}: tls.keyFile: the key does not belong to the certificate in ${files.certFile}`;
          return errors.some((message) => message.includes(expected))
            ? Promise.resolve()
            : Promise.reject(new Error(`errors logged so far: ${JSON.stringify(errors)}`));
        },
        10_000,
        'the error naming the key file (the file watcher never looked?)',
      );
      const { client, serverFingerprint } = await connectOverTls(tlsPort, 'after the mismatched replacement');
      expect(serverFingerprint).toBe(serverCert.fingerprint);
      client.close();
    } finally {
      await server.stop();
    }
  });
});

interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runNode(script: string, args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<Exited> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('node dist/main.js with certificate files it cannot use', () => {
  // "At start, unreadable or invalid certificate files stop the server with exit code 2 and one line."
  test('a missing key file exits 2 with one line naming the file and the problem', async () => {
    const keyFile = join(scratch, 'missing.key');
    const { code, stdout, stderr } = await runNode(MAIN, ['0'], {
      HOST: '127.0.0.1',
      CHAT_DATA_DIR: mkdtempSync(join(scratch, 'data-')),
      TLS_CERT_FILE: serverCert.certFile,
      TLS_KEY_FILE: keyFile,
      TLS_PORT: '0',
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`chat-server: invalid configuration: ${keyFile}: tls.keyFile: cannot read the file (ENOENT)\n`);
  });

  test('a certificate file that holds no certificate exits 2 naming it', async () => {
    const { code, stdout, stderr } = await runNode(MAIN, ['0'], {
      HOST: '127.0.0.1',
      CHAT_DATA_DIR: mkdtempSync(join(scratch, 'data-')),
      TLS_CERT_FILE: serverCert.keyFile,
      TLS_KEY_FILE: serverCert.keyFile,
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(`chat-server: invalid configuration: ${serverCert.keyFile}: tls.certFile: not a PEM certificate`);
  });
});

describe('chat-client --tls against the TLS port', () => {
  let server: TestServer;
  let tlsPort: number;
  const script = 'REGISTER tina pw\nLOGIN tina pw\nCREATE tls-room\nJOIN tls-room\nSAY tls-room hi over TLS\n';
  const answered =
    'RESULT REGISTER 1\nRESULT LOGIN 1\nRESULT CREATE tls-room 1\nRESULT JOIN tls-room 1\nRECV tina tls-room hi over TLS\n';

  beforeAll(async () => {
    ({ server, tlsPort } = await startTlsServer(serverCert));
  });

  afterAll(() => server.stop());

  test("with --tls-fingerprint of the server's certificate it talks to the server", async () => {
    const args = ['--tls', '--tls-fingerprint', serverCert.fingerprint, '--wait', '100', '127.0.0.1', String(tlsPort)];
    const { code, stdout, stderr } = await runNode(CLIENT_MAIN, args, {}, script);
    expect(stderr).toBe('');
    expect(stdout).toBe(answered);
    expect(code).toBe(0);
  });

  test('with another fingerprint it exits 1 naming both fingerprints', async () => {
    const args = ['--tls', '--tls-fingerprint', nextCert.fingerprint, '127.0.0.1', String(tlsPort)];
    const { code, stdout, stderr } = await runNode(CLIENT_MAIN, args, {}, 'CHANNELS\n');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `chat-client: cannot connect to 127.0.0.1:${tlsPort}: certificate fingerprint mismatch: ` +
        `expected ${nextCert.fingerprint}, got ${serverCert.fingerprint}\n`,
    );
  });

  test('with --tls-ca naming the self-signed certificate it verifies it and talks to the server', async () => {
    const args = ['--tls-ca', serverCert.certFile, '127.0.0.1', String(tlsPort)];
    const { code, stdout, stderr } = await runNode(CLIENT_MAIN, args, {}, 'CHANNELS\n');
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^RESULT CHANNELS /);
    expect(code).toBe(0);
  });

  test('with --tls alone a self-signed certificate is not trusted: exit 1 with one line', async () => {
    const { code, stderr } = await runNode(CLIENT_MAIN, ['--tls', '127.0.0.1', String(tlsPort)], {}, 'CHANNELS\n');
    expect(code).toBe(1);
    expect(stderr).toBe(
      `chat-client: cannot connect to 127.0.0.1:${tlsPort}: the server's certificate is not trusted: ` +
        'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)\n',
    );
  });

  test('with --tls-ca naming another certificate the server is not trusted: exit 1', async () => {
    const args = ['--tls-ca', nextCert.certFile, '127.0.0.1', String(tlsPort)];
    const { code, stderr } = await runNode(CLIENT_MAIN, args, {}, 'CHANNELS\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`^chat-client: cannot connect to 127\\.0\\.0\\.1:${tlsPort}: the server's certificate is not trusted: .+\\n$`),
    );
  });
});
