import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { safeParse } from 'valibot';
import { ConfigurationError } from './configuration-error';
import type { LaunchArguments } from './launch-arguments';
import {
  DEFAULT_CLUSTER_LEASE_MS,
  DEFAULT_DATABASE_CONNECT,
  DEFAULT_DATABASE_TIMEOUTS,
  DEFAULT_HTTP_HOST,
  DEFAULT_LIMITS,
  DEFAULT_PORT,
  parsePeer,
  PeerAddress,
  PeerSettings,
  SECRET_MIN,
  Settings,
  SettingsInput,
  settingsFileSchema,
  UNKNOWN_KEYS,
} from './settings';

type Environment = Readonly<Record<string, string | undefined>>;

export interface EnvironmentVariable {
  readonly variable: string;
  readonly key: string;
  readonly kind: 'integer' | 'string' | 'list';
}

/** Environment variables that override the configuration file (PROTOCOL.md §3); `--help` lists them. */
export const ENVIRONMENT: readonly EnvironmentVariable[] = [
  { variable: 'PORT', key: 'port', kind: 'integer' },
  { variable: 'HOST', key: 'host', kind: 'string' },
  { variable: 'CHAT_HOSTNAME', key: 'hostname', kind: 'string' },
  { variable: 'DATABASE_URL', key: 'database.url', kind: 'string' },
  { variable: 'DATABASE_CONNECT_RETRIES', key: 'database.connectRetries', kind: 'integer' },
  { variable: 'DATABASE_CONNECT_RETRY_DELAY_MS', key: 'database.connectRetryDelayMs', kind: 'integer' },
  { variable: 'DATABASE_CONNECT_TIMEOUT_MS', key: 'database.connectTimeoutMs', kind: 'integer' },
  { variable: 'DATABASE_STATEMENT_TIMEOUT_MS', key: 'database.statementTimeoutMs', kind: 'integer' },
  { variable: 'CHAT_DATA_DIR', key: 'database.dataDir', kind: 'string' },
  { variable: 'CHAT_TEMPLATE_DIR', key: 'database.templateDir', kind: 'string' },
  { variable: 'CHAT_PEERS', key: 'federation.peers', kind: 'list' },
  { variable: 'CHAT_PEERS_FILE', key: 'federation.peersFile', kind: 'string' },
  { variable: 'BCRYPT_COST', key: 'bcryptCost', kind: 'integer' },
  { variable: 'LOG_LEVEL', key: 'logLevel', kind: 'string' },
  { variable: 'LOG_FORMAT', key: 'logFormat', kind: 'string' },
  { variable: 'HTTP_PORT', key: 'http.port', kind: 'integer' },
  { variable: 'HTTP_HOST', key: 'http.host', kind: 'string' },
  { variable: 'REDIS_URL', key: 'cluster.redisUrl', kind: 'string' },
  { variable: 'INSTANCE_ID', key: 'cluster.instanceId', kind: 'string' },
  { variable: 'CLUSTER_LEASE_MS', key: 'cluster.leaseMs', kind: 'integer' },
  { variable: 'PROXY_PROTOCOL_FROM', key: 'proxyProtocol.from', kind: 'list' },
  { variable: 'TLS_PORT', key: 'tls.port', kind: 'integer' },
  { variable: 'TLS_CERT_FILE', key: 'tls.certFile', kind: 'string' },
  { variable: 'TLS_KEY_FILE', key: 'tls.keyFile', kind: 'string' },
];

const PEER_EXPECTED = 'expected <host>:<port> with a port from 1 to 65535';
/** A line meant as a peer, even with a port out of range, for telling a peers list from YAML. */
const PEER_SHAPED = /^\S+:\d*$/;

/**
 * Builds the settings from defaults, then the configuration file, then the environment, then the
 * command-line port. Any problem throws a ConfigurationError naming where it came from.
 */
export function loadSettings(launch: LaunchArguments, env: Environment): Settings {
  const path = launch.configurationPath;
  const raw: Record<string, unknown> = path ? readConfigurationFile(path) : {};
  const sources = new Map<string, string>();
  for (const { variable, key, kind } of ENVIRONMENT) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    setAt(raw, key, coerce(value, kind));
    sources.set(key, `environment variable ${variable}`);
  }
  const parsed = safeParse(settingsFileSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const key = (issue.path ?? []).map((item) => String(item.key)).join('.');
    if (issue.message === UNKNOWN_KEYS && Array.isArray(issue.input)) {
      const unknown = issue.input.map((name) => (key ? `${key}.${String(name)}` : String(name))).join(', ');
      throw new ConfigurationError(`${path}: unknown key ${unknown}`);
    }
    throw new ConfigurationError(`${sourceOf(key, sources) ?? path ?? 'configuration'}: ${key}: ${issue.message}`);
  }
  try {
    return withDefaults(parsed.output, launch.port);
  } catch (error) {
    if (!(error instanceof KeyProblem)) throw error;
    throw new ConfigurationError(`${sourceOf(error.key, sources) ?? path ?? 'configuration'}: ${error.key}: ${error.problem}`);
  }
}

/** A problem with a key found once the values are known: reported with where the key was set. */
class KeyProblem extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

/** The environment variable behind a key, or behind the list or section the key is inside. */
function sourceOf(key: string, sources: ReadonlyMap<string, string>): string | undefined {
  for (const [prefix, source] of sources) {
    if (key === prefix || key.startsWith(`${prefix}.`)) return source;
  }
  return undefined;
}

function withDefaults(input: SettingsInput, cliPort: number | undefined): Settings {
  const port = cliPort ?? input.port ?? DEFAULT_PORT;
  const federation = input.federation ?? {};
  const peers: PeerSettings[] = (federation.peers ?? []).map(peerSettings);
  if (federation.peersFile) peers.push(...readPeersFile(federation.peersFile));
  const hostname = input.hostname ?? `127.0.0.1:${port}`;
  const tls = tlsSettings(input.tls);
  checkPeers(peers, hostname, tls !== undefined);
  const redisUrl = input.cluster?.redisUrl;
  if (redisUrl !== undefined && input.database?.url === undefined) {
    throw new ConfigurationError(
      'cluster mode (cluster.redisUrl, REDIS_URL) needs PostgreSQL (database.url, DATABASE_URL): the embedded database belongs to one process',
    );
  }
  const proxyFrom = input.proxyProtocol?.from ?? [];
  return {
    port,
    host: input.host ?? '0.0.0.0',
    hostname,
    database: {
      url: input.database?.url,
      dataDir: input.database?.dataDir ?? './data',
      templateDir: input.database?.templateDir,
      connectRetries: input.database?.connectRetries ?? DEFAULT_DATABASE_CONNECT.retries,
      connectRetryDelayMs: input.database?.connectRetryDelayMs ?? DEFAULT_DATABASE_CONNECT.retryDelayMs,
      connectTimeoutMs: input.database?.connectTimeoutMs ?? DEFAULT_DATABASE_TIMEOUTS.connectTimeoutMs,
      statementTimeoutMs: input.database?.statementTimeoutMs ?? DEFAULT_DATABASE_TIMEOUTS.statementTimeoutMs,
    },
    federation: {
      peers,
      acceptFrom: federation.acceptFrom ?? 'listed',
      requestTimeoutMs: federation.requestTimeoutMs ?? 5000,
    },
    http: { port: input.http?.port ?? 0, host: input.http?.host ?? DEFAULT_HTTP_HOST },
    limits: { ...DEFAULT_LIMITS, ...input.limits },
    idleFlushMs: input.idleFlushMs ?? 100,
    bcryptCost: input.bcryptCost ?? 10,
    logLevel: input.logLevel ?? 'info',
    logFormat: input.logFormat ?? 'auto',
    ...(redisUrl === undefined
      ? {}
      : {
          cluster: {
            redisUrl,
            instanceId: input.cluster?.instanceId ?? defaultInstanceId(),
            leaseMs: input.cluster?.leaseMs ?? DEFAULT_CLUSTER_LEASE_MS,
          },
        }),
    ...(proxyFrom.length === 0 ? {} : { proxyProtocol: { from: proxyFrom } }),
    ...(tls ? { tls } : {}),
  };
}

type PeerInput = NonNullable<NonNullable<SettingsInput['federation']>['peers']>[number];

/** A peer as written (`<host>:<port>` or a mapping), with its secret read from `secretFile`. */
function peerSettings(input: PeerInput, index: number): PeerSettings {
  if (typeof input === 'string') return parsePeer(input) as PeerAddress;
  const { host, port } = parsePeer(input.address) as PeerAddress;
  const key = `federation.peers.${index}`;
  if (input.secret !== undefined && input.secretFile !== undefined) {
    throw new KeyProblem(key, 'give secret or secretFile, not both');
  }
  const secret = input.secretFile === undefined ? input.secret : readSecretFile(input.secretFile, key);
  return {
    host,
    port,
    ...(input.hostname === undefined ? {} : { hostname: input.hostname }),
    ...(secret === undefined ? {} : { secret }),
    ...(input.tls === undefined ? {} : { tls: { fingerprint: input.tls.fingerprint } }),
    ...(input.extensions === undefined ? {} : { extensions: input.extensions }),
  };
}

function readSecretFile(path: string, key: string): string {
  const secret = readText(path).trim();
  if (secret.length < SECRET_MIN) {
    throw new ConfigurationError(`${path}: ${key}.secretFile: the secret must be at least ${SECRET_MIN} characters`);
  }
  return secret;
}

/** Each peer has its own name, none is this server's, and a TLS peer needs this server's certificate. */
function checkPeers(peers: readonly PeerSettings[], hostname: string, haveCertificate: boolean): void {
  const named = new Map<string, number>();
  peers.forEach((peer, index) => {
    const key = `federation.peers.${index}`;
    const name = peer.hostname ?? `${peer.host}:${peer.port}`;
    if (name === hostname) throw new KeyProblem(key, `${JSON.stringify(name)} is this server's own hostname`);
    const earlier = named.get(name);
    if (earlier !== undefined) {
      throw new KeyProblem(key, `${JSON.stringify(name)} is already the name of federation.peers.${earlier}`);
    }
    named.set(name, index);
    if (peer.tls && !haveCertificate) {
      throw new KeyProblem(`${key}.tls`, "a TLS link needs this server's certificate (tls.certFile and tls.keyFile)");
    }
  });
}

/** Both files or neither; a TLS port needs them. */
function tlsSettings(input: SettingsInput['tls']): Settings['tls'] {
  if (!input) return undefined;
  const { certFile, keyFile, port = 0 } = input;
  if (certFile === undefined && keyFile === undefined) {
    if (port !== 0) throw new KeyProblem('tls.port', 'a TLS port needs tls.certFile and tls.keyFile');
    return undefined;
  }
  if (certFile === undefined) throw new KeyProblem('tls.certFile', 'tls.keyFile is set, so the certificate is needed too');
  if (keyFile === undefined) throw new KeyProblem('tls.keyFile', 'tls.certFile is set, so the private key is needed too');
  return { certFile, keyFile, port };
}

/** The machine's name and the process id: unique per container or per process on one machine. */
function defaultInstanceId(): string {
  const machine = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 50);
  return `${machine}-${process.pid}`;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigurationError(`${path}: cannot read the file (${reason})`);
  }
}

interface Line {
  readonly number: number;
  readonly text: string;
}

/** The lines that count: not blank and not a `#` comment, trimmed, with their line numbers. */
function meaningfulLines(text: string): Line[] {
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ number: index + 1, text: line.trim() }))
    .filter((line) => line.text !== '' && !line.text.startsWith('#'));
}

/**
 * A peers list or a YAML document of configuration keys. A file whose lines are all `<host>:<port>`
 * is a peers list. Otherwise a file that is a YAML mapping is configuration; one that is not, but
 * of whose lines at least half are shaped like `<host>:<port>`, is a peers list with mistakes, and
 * its first bad line is named rather than a YAML error about the whole file.
 */
function readConfigurationFile(path: string): Record<string, unknown> {
  const text = readText(path);
  const lines = meaningfulLines(text);
  const bad = lines.find((line) => !parsePeer(line.text));
  if (!bad) return { federation: { peers: lines.map((line) => line.text) } };
  let document: unknown;
  let yamlError: string | undefined;
  try {
    document = parseYaml(text);
  } catch (error) {
    yamlError = (error as Error).message.split('\n')[0];
  }
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) return document as Record<string, unknown>;
  if (lines.filter((line) => PEER_SHAPED.test(line.text)).length * 2 >= lines.length) throw badPeerLine(path, bad);
  if (yamlError !== undefined) throw new ConfigurationError(`${path}: not a peers list and not valid YAML: ${yamlError}`);
  if (document === null || document === undefined) return {};
  throw new ConfigurationError(`${path}: expected a mapping of configuration keys or a list of <host>:<port> lines`);
}

/** The YAML parser is loaded on first use: a server configured by its environment alone never needs it. */
function parseYaml(text: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a configuration file is read
  return (require('yaml') as typeof import('yaml')).parse(text);
}

function badPeerLine(path: string, line: Line): ConfigurationError {
  return new ConfigurationError(`${path}: line ${line.number}: ${PEER_EXPECTED}, got ${JSON.stringify(line.text)}`);
}

function readPeersFile(path: string): PeerAddress[] {
  return meaningfulLines(readText(path)).map((line) => {
    const peer = parsePeer(line.text);
    if (!peer) throw badPeerLine(path, line);
    return peer;
  });
}

function coerce(value: string, kind: 'integer' | 'string' | 'list'): unknown {
  if (kind === 'integer') return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (kind === 'list') {
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  return value;
}

function setAt(target: Record<string, unknown>, key: string, value: unknown): void {
  const names = key.split('.');
  let node = target;
  for (const name of names.slice(0, -1)) {
    const next = node[name];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[name] = {};
    node = node[name] as Record<string, unknown>;
  }
  node[names[names.length - 1]] = value;
}
