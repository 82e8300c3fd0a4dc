import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  /** PEM certificate, self-signed. */
  readonly certFile: string;
  /** Its PEM private key (P-256), unencrypted. */
  readonly keyFile: string;
  /** SHA-256, `AB:CD:…`, as Node's `fingerprint256` and the `tls.fingerprint` setting spell it. */
  readonly fingerprint: string;
}

/** Where openssl is, for the message when it is missing. */
const OPENSSL = 'openssl';

/**
 * A self-signed certificate for `commonName`, made by the openssl CLI in `directory` as
 * `<fileName>.crt` and `<fileName>.key` (`fileName` defaults to the common name). Its subject
 * alternative names are the common name (as a DNS name, or as an IP address when it is one) and
 * 127.0.0.1, so a client that verifies host names accepts it on loopback.
 */
export async function makeCertificate(directory: string, commonName: string, fileName = commonName): Promise<TestCertificate> {
  const certFile = join(directory, `${fileName}.crt`);
  const keyFile = join(directory, `${fileName}.key`);
  const names = [isIP(commonName) ? `IP:${commonName}` : `DNS:${commonName}`];
  if (commonName !== '127.0.0.1') names.push('IP:127.0.0.1');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  args.push('-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', `/CN=${commonName}`);
  args.push('-addext', `subjectAltName=${names.join(',')}`);
  try {
    await run(OPENSSL, args, { timeout: 20_000 });
  } catch (error) {
    const { code, stderr } = error as NodeJS.ErrnoException & { stderr?: string };
    const why =
      code === 'ENOENT' ? "openssl is not installed (.ci/run installs Debian's openssl package)" : (stderr ?? String(error));
    throw new Error(`could not make a test certificate for ${commonName}: ${why}`, { cause: error });
  }
  return { certFile, keyFile, fingerprint: fingerprintOf(certFile) };
}

/** The SHA-256 fingerprint of the (first) certificate in a PEM file. */
export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}
