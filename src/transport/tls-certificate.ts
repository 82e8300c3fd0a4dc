import { Stats, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, SecureContext } from 'node:tls';
import { ConfigurationError } from '../config/configuration-error';
import { Logger } from '../logging/logger';

export interface CertificateFiles {
  /** PEM certificate chain, this server's certificate first. */
  readonly certFile: string;
  /** PEM private key of that certificate. */
  readonly keyFile: string;
}

/** One certificate and key as read together, already checked to belong together. */
export interface CertificatePair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** For dialing: built once per pair. */
  readonly context: SecureContext;
  /** SHA-256, `AB:CD:…`, as a peer sees it in `fingerprint256`. */
  readonly fingerprint: string;
}

/** How often the files are looked at. */
const POLL_INTERVAL_MS = 1000;
/**
 * A change waits this long before the files are read, so that a certificate and key replaced one
 * after the other are read as the new pair rather than as a mismatch.
 */
const SETTLE_MS = 500;

class CertificateProblem extends Error {
  constructor(
    readonly file: string,
    readonly key: 'tls.certFile' | 'tls.keyFile',
    problem: string,
  ) {
    super(`${file}: ${key}: ${problem}`);
  }
}

function readPem(file: string, key: 'tls.certFile' | 'tls.keyFile'): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CertificateProblem(file, key, `cannot read the file (${reason})`);
  }
}

/** Reads both files and checks that they hold a certificate and the private key that matches it. */
function readPair({ certFile, keyFile }: CertificateFiles): CertificatePair {
  const cert = readPem(certFile, 'tls.certFile');
  const key = readPem(keyFile, 'tls.keyFile');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new CertificateProblem(certFile, 'tls.certFile', `not a PEM certificate (${(error as Error).message})`);
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) {
      throw new CertificateProblem(keyFile, 'tls.keyFile', `the key does not belong to the certificate in ${certFile}`);
    }
  } catch (error) {
    if (error instanceof CertificateProblem) throw error;
    throw new CertificateProblem(keyFile, 'tls.keyFile', `not a PEM private key (${(error as Error).message})`);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ cert, key });
  } catch (error) {
    throw new CertificateProblem(certFile, 'tls.certFile', `refused by TLS (${(error as Error).message})`);
  }
  return { cert, key, context, fingerprint: certificate.fingerprint256 };
}

/**
 * This server's TLS certificate, read from its files and read again whenever they change: a valid
 * new pair replaces the current one for whatever starts afterwards (handshakes on the TLS port,
 * links dialed); connections already open keep the certificate they began with. A pair that
 * cannot be read or does not belong together is logged and the current one stays.
 */
export class ServerCertificate {
  private readonly log: Logger;
  private readonly listeners = new Set<(pair: CertificatePair) => void>();
  private readonly onFileChange = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) {
      this.scheduleReload();
    }
  };
  private settleTimer?: NodeJS.Timeout;
  private watching = false;

  private constructor(
    private readonly files: CertificateFiles,
    private pair: CertificatePair,
    logger: Logger,
  ) {
    this.log = logger.child({ context: 'Tls' });
  }

  /**
   * Reads the pair and starts watching both files. A file that cannot be read or is not a valid
   * certificate or key throws a ConfigurationError naming the file and the problem.
   */
  static load(files: CertificateFiles, logger: Logger): ServerCertificate {
    let pair: CertificatePair;
    try {
      pair = readPair(files);
    } catch (error) {
      if (error instanceof CertificateProblem) throw new ConfigurationError(error.message);
      throw error;
    }
    const certificate = new ServerCertificate(files, pair, logger);
    certificate.log.info(
      { certFile: files.certFile, fingerprint: pair.fingerprint },
      `TLS certificate ${files.certFile} (fingerprint ${pair.fingerprint})`,
    );
    certificate.watch();
    return certificate;
  }

  get current(): CertificatePair {
    return this.pair;
  }

  /** The SHA-256 fingerprint peers put in their configuration to pin this server. */
  get fingerprint(): string {
    return this.pair.fingerprint;
  }

  /** `listener` gets each new pair once it has replaced the current one. */
  onReload(listener: (pair: CertificatePair) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the files now; true when a new pair replaced the current one. */
  reload(): boolean {
    let pair: CertificatePair;
    try {
      pair = readPair(this.files);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(
        { certFile: this.files.certFile, keyFile: this.files.keyFile },
        `TLS certificate not reloaded, still serving fingerprint ${this.pair.fingerprint}: ${message}`,
      );
      return false;
    }
    this.pair = pair;
    for (const listener of this.listeners) listener(pair);
    this.log.info(
      { certFile: this.files.certFile, fingerprint: pair.fingerprint },
      `TLS certificate reloaded from ${this.files.certFile} (fingerprint ${pair.fingerprint})`,
    );
    return true;
  }

  /** Stops watching the files. */
  close(): void {
    clearTimeout(this.settleTimer);
    if (!this.watching) return;
    this.watching = false;
    unwatchFile(this.files.certFile, this.onFileChange);
    unwatchFile(this.files.keyFile, this.onFileChange);
  }

  private watch(): void {
    this.watching = true;
    // Not persistent: watching never keeps the process alive.
    const options = { interval: POLL_INTERVAL_MS, persistent: false };
    watchFile(this.files.certFile, options, this.onFileChange);
    watchFile(this.files.keyFile, options, this.onFileChange);
  }

  private scheduleReload(): void {
    if (!this.watching) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.reload(), SETTLE_MS);
    this.settleTimer.unref();
  }
}
