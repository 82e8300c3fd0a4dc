import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigurationError } from './configuration-error';
import { LaunchArguments } from './launch-arguments';
import { DEFAULT_LIMITS, DEFAULT_PORT, parsePeer, PeerAddress, Settings, SettingsInput, settingsFileSchema } from './settings';

type Environment = Readonly<Record<string, string | undefined>>;

/** Environment variables that override the configuration file (PROTOCOL.md §3). */
const ENVIRONMENT: ReadonlyArray<{ variable: string; key: string; kind: 'integer' | 'string' | 'list' }> = [
  { variable: 'PORT', key: 'port', kind: 'integer' },
  { variable: 'HOST', key: 'host', kind: 'string' },
  { variable: 'CHAT_HOSTNAME', key: 'hostname', kind: 'string' },
  { variable: 'DATABASE_URL', key: 'database.url', kind: 'string' },
  { variable: 'CHAT_DATA_DIR', key: 'database.dataDir', kind: 'string' },
  { variable: 'CHAT_PEERS', key: 'federation.peers', kind: 'list' },
  { variable: 'CHAT_PEERS_FILE', key: 'federation.peersFile', kind: 'string' },
  { variable: 'BCRYPT_COST', key: 'bcryptCost', kind: 'integer' },
  { variable: 'LOG_LEVEL', key: 'logLevel', kind: 'string' },
  { variable: 'LOG_FORMAT', key: 'logFormat', kind: 'string' },
  { variable: 'HTTP_PORT', key: 'http.port', kind: 'integer' },
];

const PEER_LINE = /^\S+:\d+$/;

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
  const parsed = settingsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys.map((name) => (key ? `${key}.${name}` : name)).join(', ');
      throw new ConfigurationError(`${path}: unknown key ${unknown}`);
    }
    throw new ConfigurationError(`${sourceOf(key, sources) ?? path ?? 'configuration'}: ${key}: ${issue.message}`);
  }
  return withDefaults(parsed.data, launch.port);
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
  const peers: PeerAddress[] = (federation.peers ?? []).map((text) => parsePeer(text) as PeerAddress);
  if (federation.peersFile) peers.push(...readPeersFile(federation.peersFile));
  return {
    port,
    host: input.host ?? '0.0.0.0',
    hostname: input.hostname ?? `127.0.0.1:${port}`,
    database: { url: input.database?.url, dataDir: input.database?.dataDir ?? './data' },
    federation: {
      peers,
      acceptFrom: federation.acceptFrom ?? 'listed',
      requestTimeoutMs: federation.requestTimeoutMs ?? 5000,
    },
    http: { port: input.http?.port ?? 0 },
    limits: { ...DEFAULT_LIMITS, ...input.limits },
    idleFlushMs: input.idleFlushMs ?? 100,
    bcryptCost: input.bcryptCost ?? 10,
    logLevel: input.logLevel ?? 'info',
    logFormat: input.logFormat ?? 'auto',
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigurationError(`${path}: cannot read the file (${reason})`);
  }
}

function meaningfulLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** A peers list (the assignment's format) or a YAML document of configuration keys. */
function readConfigurationFile(path: string): Record<string, unknown> {
  const text = readText(path);
  const lines = meaningfulLines(text);
  if (lines.every((line) => PEER_LINE.test(line))) {
    return { federation: { peers: lines } };
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new ConfigurationError(`${path}: not a peers list and not valid YAML: ${reason}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigurationError(`${path}: expected a mapping of configuration keys or a list of <host>:<port> lines`);
  }
  return document as Record<string, unknown>;
}

function readPeersFile(path: string): PeerAddress[] {
  const peers: PeerAddress[] = [];
  readText(path)
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const peer = parsePeer(line);
      if (!peer) throw new ConfigurationError(`${path}: line ${index + 1}: expected <host>:<port>, got "${line}"`);
      peers.push(peer);
    });
  return peers;
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
