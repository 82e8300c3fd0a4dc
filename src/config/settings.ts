import * as v from 'valibot';
import { forbiddenInHostname, HOSTNAME_MAX } from '../domain/names';
import { connectionCapFor, openFilesLimit } from './descriptor-limit';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** `auto`: readable lines on a terminal, JSON lines otherwise (files, pipes, containers). */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * A configured peer (docs/PROTOCOL.md §6.1): where to dial it, and what it must prove to be
 * accepted as a link. Only the address is required; a peers list gives nothing else.
 */
export interface PeerSettings extends PeerAddress {
  /** The name the peer must announce; unset, its address `host:port` (or `host` alone, when no other peer shares it). */
  readonly hostname?: string;
  /** Shared secret for the authenticated handshake; the peer must prove it holds the same one. */
  readonly secret?: string;
  /** Links with this peer run over TLS, and its certificate must have this SHA-256 fingerprint. */
  readonly tls?: { readonly fingerprint: string };
  /** Offer the handshake's extensions (capabilities, proof) when dialing; implied by a secret. */
  readonly extensions?: boolean;
}

/** This server's certificate, for TLS links and for the TLS client port (docs/PROTOCOL.md §2.1). */
export interface TlsSettings {
  /** PEM certificate chain file; re-read when it changes. */
  readonly certFile: string;
  /** PEM private key file; re-read when it changes. */
  readonly keyFile: string;
  /** Port for clients (and inbound TLS links) speaking TLS; 0 leaves it closed. */
  readonly port: number;
}

/** The validated configuration of one server (PROTOCOL.md §3). */
export interface Settings {
  readonly port: number;
  readonly host: string;
  /** This server's identity in federation. */
  readonly hostname: string;
  readonly database: {
    readonly url?: string;
    readonly dataDir: string;
    /** Where new embedded databases are copied from; unset, the installation's `node_modules/.cache`. */
    readonly templateDir?: string;
    /** Retries of a failed connection at start, after the first attempt; `DEFAULT_DATABASE_CONNECT` when unset. */
    readonly connectRetries?: number;
    readonly connectRetryDelayMs?: number;
    /** How long opening a PostgreSQL connection may take; unset, no bound (`DEFAULT_DATABASE_TIMEOUTS` from configuration). */
    readonly connectTimeoutMs?: number;
    /** How long one statement may run on PostgreSQL; unset, no bound (`DEFAULT_DATABASE_TIMEOUTS` from configuration). */
    readonly statementTimeoutMs?: number;
  };
  readonly federation: {
    readonly peers: readonly PeerSettings[];
    readonly acceptFrom: 'listed' | readonly string[];
    readonly requestTimeoutMs: number;
  };
  /** Health and metrics over HTTP; port 0 turns the HTTP listener off. Unset `host` means 127.0.0.1. */
  readonly http: { readonly port: number; readonly host: string };
  readonly limits: Limits;
  readonly idleFlushMs: number;
  readonly bcryptCost: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Several instances sharing one PostgreSQL and one Redis; unset, the server runs alone. */
  readonly cluster?: ClusterSettings;
  /** Load balancers whose connections start with a PROXY protocol header (v1 or v2); unset, none. */
  readonly proxyProtocol?: { readonly from: readonly string[] };
  /** Unset: no certificate, so no TLS port and no TLS links. */
  readonly tls?: TlsSettings;
}

/** Cluster mode (docs/PROTOCOL.md §7, README "Running several instances"). */
export interface ClusterSettings {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. */
  readonly redisUrl: string;
  /** This instance's name in logs, metrics and the shared state; unique within the cluster. */
  readonly instanceId: string;
  /**
   * How long an instance's claims (its users' logins, the peer links it holds) outlive it: an
   * instance that dies without a word has them released within this time, and one cut off from
   * Redis for this long drops its own clients.
   */
  readonly leaseMs: number;
}

export const DEFAULT_CLUSTER_LEASE_MS = 10_000;

/** What one client may cost the server (PROTOCOL.md §4); SECURITY.md lists each with its outcome. */
export interface Limits {
  readonly maxLineBytes: number;
  readonly commandsPerSecond: number;
  readonly commandBurst: number;
  /** Commands waiting behind the rate limit before the connection is closed. */
  readonly maxQueuedCommands: number;
  readonly connectionsPerAddress: number;
  /**
   * Inbound connections open at once, from all addresses; beyond it a new one is closed at once,
   * except from a peer's address. By default derived from the limit on open files.
   */
  readonly maxConnections: number;
  readonly unauthenticatedIdleSeconds: number;
  readonly sendQueueBytes: number;
  /** Failed LOGINs for one account from one address in the last minute, beyond which that address's LOGINs for it fail at once. */
  readonly loginFailuresPerMinute: number;
  /** Failed LOGINs from one address for any account in the last minute, beyond which its LOGINs fail at once. */
  readonly loginFailuresPerAddressPerMinute: number;
  readonly registrationsPerMinute: number;
  /** Channels one peer server may have listed here; FEDCHANNELS and FEDNEW beyond it are refused. */
  readonly channelsPerPeer: number;
  /** Channels one user may have created; CREATE beyond it is refused. */
  readonly channelsPerUser: number;
  /** Channels this server holds; CREATE beyond it is refused, so CHANNELS stays readable. */
  readonly maxChannels: number;
  /** 127.0.0.0/8 and ::1 skip the rate, per-address, registration and per-address login limits (for benchmarks). */
  readonly exemptLoopback: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxLineBytes: 8192,
  commandsPerSecond: 50,
  commandBurst: 200,
  maxQueuedCommands: 1000,
  connectionsPerAddress: 256,
  maxConnections: connectionCapFor(openFilesLimit()),
  unauthenticatedIdleSeconds: 300,
  sendQueueBytes: 1_048_576,
  loginFailuresPerMinute: 10,
  loginFailuresPerAddressPerMinute: 60,
  registrationsPerMinute: 600,
  channelsPerPeer: 1000,
  channelsPerUser: 1000,
  maxChannels: 100_000,
  exemptLoopback: false,
};

/** Injection token for `Settings`. */
export const SETTINGS = Symbol('Settings');

export const DEFAULT_PORT = 4400;

/** Health and metrics are unauthenticated, so they stay on loopback unless an address is configured. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';

/** Six attempts two seconds apart: long enough for a database container that is still starting. */
export const DEFAULT_DATABASE_CONNECT = { retries: 5, retryDelayMs: 2000 } as const;

/**
 * A database that stops answering (packets dropped, not refused) costs a connection at most
 * `connectTimeoutMs` and a command at most `statementTimeoutMs` and a second, not the outage.
 */
export const DEFAULT_DATABASE_TIMEOUTS = { connectTimeoutMs: 5000, statementTimeoutMs: 5000 } as const;

const PEER = /^(\S+):(\d{1,5})$/;

export function parsePeer(text: string): PeerAddress | undefined {
  const match = PEER.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1], port } : undefined;
}

const integer = (min: number, max: number) =>
  v.pipe(
    v.number((issue) => `expected an integer, got ${shown(issue.input)}`),
    v.integer((issue) => `expected an integer, got ${shown(issue.input)}`),
    v.minValue(min, (issue) => outOfRange(min, max, issue.input)),
    v.maxValue(max, (issue) => outOfRange(min, max, issue.input)),
  );

function outOfRange(min: number, max: number, input: unknown): string {
  return `must be from ${min} to ${max}, got ${shown(input)}`;
}

/** A value as the configuration wrote it: text quoted, numbers (Infinity too) as they are. */
const shown = (input: unknown) => (typeof input === 'number' ? String(input) : JSON.stringify(input));

const text = v.pipe(v.string('expected a string'), v.minLength(1, 'must not be empty'));

/** A text that `problem` finds nothing wrong with; otherwise its words are the message. */
const textWithout = (problem: (value: string) => string | undefined) =>
  v.pipe(
    text,
    v.check(
      (value) => problem(value) === undefined,
      (issue) => problem(issue.input) as string,
    ),
  );

const hostname = textWithout((value) => {
  const forbidden = forbiddenInHostname(value);
  if (forbidden !== undefined) {
    return `must not contain ${JSON.stringify(forbidden)} (whitespace, control characters, "@" and "," are not allowed)`;
  }
  return [...value].length > HOSTNAME_MAX ? `must be at most ${HOSTNAME_MAX} characters` : undefined;
});

const URL_SHAPE = 'postgres://[user[:password]@]host[:port]/database';

/**
 * A PostgreSQL connection string as `pg` reads it, with a host (or a `host` parameter, for a Unix
 * socket). The value is never echoed: it may hold a password.
 */
const databaseUrl = textWithout(databaseUrlProblem);

function databaseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a URL: expected ${URL_SHAPE} (characters such as @ # / in the password must be percent-encoded)`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return `expected a postgres:// or postgresql:// URL, got the scheme ${JSON.stringify(url.protocol.slice(0, -1))}`;
  }
  if (url.hostname === '' && !url.searchParams.get('host')) return `the URL has no host: expected ${URL_SHAPE}`;
  return undefined;
}

const REDIS_URL_SHAPE = 'redis://[user[:password]@]host[:port][/db] or rediss://…';

/** A Redis URL with a host; the value is never echoed: it may hold a password. */
const redisUrl = textWithout((value) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a URL: expected ${REDIS_URL_SHAPE}`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `expected a redis:// or rediss:// URL, got the scheme ${JSON.stringify(url.protocol.slice(0, -1))}`;
  }
  return url.hostname === '' ? `the URL has no host: expected ${REDIS_URL_SHAPE}` : undefined;
});

/** Letters, digits, `.`, `_` and `-`: safe in Redis keys, metric labels and log fields. */
const instanceId = v.pipe(
  v.string('expected a string'),
  v.regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1 to 64 letters, digits, ".", "_" or "-"'),
);

const PEER_ADDRESS = 'expected <host>:<port> with a port from 1 to 65535';

const peerAddress = v.pipe(
  text,
  v.check((value) => parsePeer(value) !== undefined, PEER_ADDRESS),
);

/** A SHA-256 certificate fingerprint as 64 hex digits, with or without `:` between bytes. */
const fingerprint = v.pipe(
  text,
  v.check(
    (value) => normalizeFingerprint(value) !== undefined,
    'expected a SHA-256 fingerprint: 64 hex digits, optionally separated by ":"',
  ),
  v.transform((value) => normalizeFingerprint(value) as string),
);

/** `AB:CD:…`, as Node reports `fingerprint256`; undefined when the text is not a SHA-256 fingerprint. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.trim().replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)?.join(':');
}

/** Shortest shared secret: 16 characters (`openssl rand -hex 32` gives 64). */
export const SECRET_MIN = 16;

const secret = v.pipe(
  v.string('expected a string'),
  v.minLength(SECRET_MIN, `must be at least ${SECRET_MIN} characters (openssl rand -hex 32 makes one)`),
  v.maxLength(1024, 'must be at most 1024 characters'),
);

/** What a configuration section's unknown keys are reported as; the issue's input lists them. */
export const UNKNOWN_KEYS = 'unknown key';

/**
 * A section of the configuration: the keys it may set, each optional. Every key it does not know
 * is reported at once (one issue listing them), so typos do not pass silently.
 */
function section<const Entries extends v.ObjectEntries>(entries: Entries, expected = 'expected a mapping') {
  // A key the section requires and that is missing is an issue of the section too, with a path.
  const message = (issue: v.BaseIssue<unknown>) => (issue.path ? 'must be given' : expected);
  return v.pipe(
    v.looseObject(entries, message),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const unknown = Object.keys(dataset.value).filter((key) => !Object.hasOwn(entries, key));
      if (unknown.length > 0) addIssue({ message: UNKNOWN_KEYS, input: unknown });
    }),
  );
}

const peerMapping = section(
  {
    address: peerAddress,
    hostname: v.optional(hostname),
    secret: v.optional(secret),
    secretFile: v.optional(text),
    tls: v.optional(section({ fingerprint })),
    extensions: v.optional(v.boolean('expected true or false')),
  },
  'expected <host>:<port> or a mapping with an address',
);

/**
 * A peer: `<host>:<port>`, or a mapping with its address and what it must prove. A problem is
 * reported in the form the peer was written in, so the message names the key that is wrong inside it.
 */
const peer = v.lazy((input) => (typeof input === 'string' ? peerAddress : peerMapping));

/** Every key a configuration file may set; unknown keys are refused so typos do not pass silently. */
export const settingsFileSchema = section({
  port: v.optional(integer(0, 65535)),
  host: v.optional(text),
  hostname: v.optional(hostname),
  database: v.optional(
    section({
      url: v.optional(databaseUrl),
      dataDir: v.optional(text),
      templateDir: v.optional(text),
      connectRetries: v.optional(integer(0, 100)),
      connectRetryDelayMs: v.optional(integer(0, 60_000)),
      connectTimeoutMs: v.optional(integer(100, 600_000)),
      statementTimeoutMs: v.optional(integer(100, 3_600_000)),
    }),
  ),
  federation: v.optional(
    section({
      peers: v.optional(v.array(peer, 'expected a list of <host>:<port> or peer entries')),
      peersFile: v.optional(text),
      acceptFrom: v.optional(v.union([v.literal('listed'), v.array(text)], 'expected "listed" or a list of addresses')),
      requestTimeoutMs: v.optional(integer(1, 600_000)),
    }),
  ),
  http: v.optional(section({ port: v.optional(integer(0, 65535)), host: v.optional(text) })),
  limits: v.optional(
    section({
      maxLineBytes: v.optional(integer(256, 1_048_576)),
      commandsPerSecond: v.optional(integer(1, 1_000_000)),
      commandBurst: v.optional(integer(1, 1_000_000)),
      maxQueuedCommands: v.optional(integer(1, 1_000_000)),
      connectionsPerAddress: v.optional(integer(1, 1_000_000)),
      maxConnections: v.optional(integer(1, 10_000_000)),
      unauthenticatedIdleSeconds: v.optional(integer(1, 86_400)),
      sendQueueBytes: v.optional(integer(65_536, 1_073_741_824)),
      loginFailuresPerMinute: v.optional(integer(1, 1_000_000)),
      loginFailuresPerAddressPerMinute: v.optional(integer(1, 1_000_000)),
      registrationsPerMinute: v.optional(integer(1, 1_000_000)),
      channelsPerPeer: v.optional(integer(1, 1_000_000)),
      channelsPerUser: v.optional(integer(1, 10_000_000)),
      maxChannels: v.optional(integer(1, 10_000_000)),
      exemptLoopback: v.optional(v.boolean('expected true or false')),
    }),
  ),
  cluster: v.optional(
    section({
      redisUrl: v.optional(redisUrl),
      instanceId: v.optional(instanceId),
      leaseMs: v.optional(integer(1000, 600_000)),
    }),
  ),
  proxyProtocol: v.optional(section({ from: v.optional(v.array(text, 'expected a list of addresses')) })),
  tls: v.optional(section({ certFile: v.optional(text), keyFile: v.optional(text), port: v.optional(integer(0, 65535)) })),
  idleFlushMs: v.optional(integer(0, 60_000)),
  bcryptCost: v.optional(integer(4, 20)),
  logLevel: v.optional(v.picklist(['error', 'warn', 'info', 'debug'], 'expected one of error, warn, info, debug')),
  logFormat: v.optional(v.picklist(['auto', 'json', 'pretty'], 'expected one of auto, json, pretty')),
});

export type SettingsInput = v.InferOutput<typeof settingsFileSchema>;
