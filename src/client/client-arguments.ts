import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { normalizeFingerprint } from '../config/settings';

export interface ClientArguments {
  readonly host: string;
  readonly port: number;
  readonly script?: string;
  readonly waitMs: number;
  readonly timeoutMs: number;
  /** Set: connect over TLS, trusting the server's certificate as it says. */
  readonly tls?: ClientTlsArguments;
}

/** With neither, the system's CAs and the host name decide. */
export interface ClientTlsArguments {
  /** `AB:CD:…`: only the certificate with this SHA-256 fingerprint is trusted, whoever signed it. */
  readonly fingerprint?: string;
  /** A PEM file of the CA (or the self-signed certificate) to trust instead of the system's CAs. */
  readonly caFile?: string;
}

function fingerprint(value: string): string {
  const normalized = normalizeFingerprint(value);
  if (normalized === undefined) {
    throw new InvalidArgumentError('--tls-fingerprint must be a SHA-256 fingerprint: 64 hex digits, optionally separated by ":"');
  }
  return normalized;
}

function wholeNumber(name: string, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) > max)
      throw new InvalidArgumentError(`${name} must be a whole number up to ${max}`);
    return Number(value);
  };
}

const EXIT_CODES = `
Exit codes:
  0  every command was answered (script mode), or the user quit (interactive mode)
  1  cannot connect (with --tls: the server's certificate is not trusted, or its fingerprint is not
     the one given), or the connection was lost before the input ended or while replies were owed
  2  bad arguments, or a --script file that cannot be read
  3  script mode: replies still missing after --timeout`;

/**
 * `chat-client [host] [port] [--script FILE] [--wait MS] [--timeout MS] [--tls] [--tls-fingerprint SHA256 | --tls-ca FILE]`;
 * undefined after --help or --version.
 */
export function parseClientArguments(argv: readonly string[], print: (text: string) => void): ClientArguments | undefined {
  const program = new Command('chat-client')
    .description('Terminal client for the chat server: interactive on a terminal, script mode otherwise')
    .argument('[host]', 'server address', '127.0.0.1')
    .argument('[port]', 'server port', wholeNumber('port', 65535), 4400)
    .option('--script <file>', 'send the lines of <file> (script mode, even on a terminal)')
    .option(
      '--wait <ms>',
      'script mode: once every command is answered and the input has ended, exit when no line has arrived for this long',
      wholeNumber('--wait', 600000),
      500,
    )
    .option(
      '--timeout <ms>',
      'script mode: after the input ends, fail (exit 3) when no owed reply has arrived for this long',
      wholeNumber('--timeout', 3600000),
      30000,
    )
    .option('--tls', "connect over TLS (to the server's TLS port), verifying its certificate against the system's CAs")
    .addOption(
      new Option(
        '--tls-fingerprint <sha256>',
        'trust only the certificate with this SHA-256 fingerprint, signed or not (implies --tls)',
      )
        .argParser(fingerprint)
        .conflicts('tlsCa'),
    )
    .option('--tls-ca <file>', "trust the CA or self-signed certificate in <file> instead of the system's CAs (implies --tls)")
    .addHelpText('after', EXIT_CODES)
    .exitOverride()
    .configureOutput({ writeOut: print, writeErr: print });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return undefined;
    throw error;
  }
  const [host, port] = program.processedArgs as [string, number];
  const options = program.opts<{
    script?: string;
    wait: number;
    timeout: number;
    tls?: true;
    tlsFingerprint?: string;
    tlsCa?: string;
  }>();
  const { script, wait, timeout, tlsFingerprint, tlsCa } = options;
  const tls =
    options.tls || tlsFingerprint !== undefined || tlsCa !== undefined
      ? { fingerprint: tlsFingerprint, caFile: tlsCa }
      : undefined;
  return { host, port, script, waitMs: wait, timeoutMs: timeout, tls };
}
