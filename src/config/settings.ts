import { z } from 'zod';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** `auto`: readable lines on a terminal, JSON lines otherwise (files, pipes, containers). */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The validated configuration of one server (PROTOCOL.md §3). */
export interface Settings {
  readonly port: number;
  readonly host: string;
  /** This server's identity in federation. */
  readonly hostname: string;
  readonly database: { readonly url?: string; readonly dataDir: string };
  readonly federation: {
    readonly peers: readonly PeerAddress[];
    readonly acceptFrom: 'listed' | readonly string[];
    readonly requestTimeoutMs: number;
  };
  /** Health and metrics over HTTP; port 0 turns the HTTP listener off. */
  readonly http: { readonly port: number };
  readonly limits: Limits;
  readonly idleFlushMs: number;
  readonly bcryptCost: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

/** What one client may cost the server (PROTOCOL.md §4); SECURITY.md lists each with its outcome. */
export interface Limits {
  readonly maxLineBytes: number;
  readonly commandsPerSecond: number;
  readonly commandBurst: number;
  /** Commands waiting behind the rate limit before the connection is closed. */
  readonly maxQueuedCommands: number;
  readonly connectionsPerAddress: number;
  readonly unauthenticatedIdleSeconds: number;
  readonly sendQueueBytes: number;
  readonly loginFailuresPerMinute: number;
  readonly registrationsPerMinute: number;
  /** 127.0.0.0/8 and ::1 skip the rate, per-address and registration limits (for benchmarks). */
  readonly exemptLoopback: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxLineBytes: 8192,
  commandsPerSecond: 50,
  commandBurst: 200,
  maxQueuedCommands: 1000,
  connectionsPerAddress: 256,
  unauthenticatedIdleSeconds: 300,
  sendQueueBytes: 1_048_576,
  loginFailuresPerMinute: 10,
  registrationsPerMinute: 600,
  exemptLoopback: false,
};

/** Injection token for `Settings`. */
export const SETTINGS = Symbol('Settings');

export const DEFAULT_PORT = 4400;

const PEER = /^(.+):(\d{1,5})$/;

export function parsePeer(text: string): PeerAddress | undefined {
  const match = PEER.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1], port } : undefined;
}

const integer = (min: number, max: number) =>
  z
    .number({ error: (issue) => `expected an integer, got ${JSON.stringify(issue.input)}` })
    .int({ error: (issue) => `expected an integer, got ${JSON.stringify(issue.input)}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const text = z.string({ error: 'expected a string' }).min(1, { error: 'must not be empty' });

const peer = text.refine((value) => parsePeer(value) !== undefined, {
  error: 'expected <host>:<port> with a port from 1 to 65535',
});

/** Every key a configuration file may set; unknown keys are refused so typos do not pass silently. */
export const settingsFileSchema = z.strictObject({
  port: integer(0, 65535).optional(),
  host: text.optional(),
  hostname: text.optional(),
  database: z
    .strictObject({
      url: text.optional(),
      dataDir: text.optional(),
    })
    .optional(),
  federation: z
    .strictObject({
      peers: z.array(peer, { error: 'expected a list of <host>:<port>' }).optional(),
      peersFile: text.optional(),
      acceptFrom: z.union([z.literal('listed'), z.array(text)], { error: 'expected "listed" or a list of addresses' }).optional(),
      requestTimeoutMs: integer(1, 600_000).optional(),
    })
    .optional(),
  http: z.strictObject({ port: integer(0, 65535).optional() }).optional(),
  limits: z
    .strictObject({
      maxLineBytes: integer(256, 1_048_576).optional(),
      commandsPerSecond: integer(1, 1_000_000).optional(),
      commandBurst: integer(1, 1_000_000).optional(),
      maxQueuedCommands: integer(1, 1_000_000).optional(),
      connectionsPerAddress: integer(1, 1_000_000).optional(),
      unauthenticatedIdleSeconds: integer(1, 86_400).optional(),
      sendQueueBytes: integer(65_536, 1_073_741_824).optional(),
      loginFailuresPerMinute: integer(1, 1_000_000).optional(),
      registrationsPerMinute: integer(1, 1_000_000).optional(),
      exemptLoopback: z.boolean({ error: 'expected true or false' }).optional(),
    })
    .optional(),
  idleFlushMs: integer(0, 60_000).optional(),
  bcryptCost: integer(4, 20).optional(),
  logLevel: z.enum(['error', 'warn', 'info', 'debug'], { error: 'expected one of error, warn, info, debug' }).optional(),
  logFormat: z.enum(['auto', 'json', 'pretty'], { error: 'expected one of auto, json, pretty' }).optional(),
});

export type SettingsInput = z.infer<typeof settingsFileSchema>;
