import { isDeepStrictEqual } from 'node:util';
import { PeerSettings, Settings } from './settings';

/** Injection token for the `SettingsReload` of a running server. */
export const SETTINGS_RELOAD = Symbol('SettingsReload');

/** What a reload changed, and what it could not change without a restart. */
export interface ReloadOutcome {
  /** Keys whose new values are in force, e.g. `limits.maxChannels`, `federation.peers`. */
  readonly applied: readonly string[];
  /** Keys whose new values wait for a restart; the running values stay. */
  readonly needRestart: readonly string[];
}

/** Called after the running settings took the new values; `changed` lists the keys that did. */
export type ReloadListener = (settings: Settings, changed: readonly string[]) => void | Promise<void>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Keys read once, as the server starts: listening addresses, identity, storage, the cluster, the
 * certificate's paths (the files themselves are re-read on every change and on reload).
 */
const AT_START_ONLY = [
  'port',
  'host',
  'hostname',
  'database',
  'http',
  'cluster',
  'proxyProtocol',
  'tls',
  'logFormat',
] as const satisfies readonly (keyof Settings)[];

/**
 * The running configuration, reloaded in place (SIGHUP, as IRC servers do). Every module holds
 * the same `Settings` object and reads limits from it when it needs them, so a reload is seen at
 * once; modules that keep derived state (peer links, the transport's options, the log level)
 * register a listener. Keys that cannot change while running keep their values and are named.
 */
export class SettingsReload {
  private readonly listeners: ReloadListener[] = [];

  constructor(private readonly live: Settings) {}

  /** Follows reloads, in the order listeners registered. */
  onReload(listener: ReloadListener): void {
    this.listeners.push(listener);
  }

  /** Puts `next` in force where it can be, and says what it changed and what waits for a restart. */
  async apply(next: Settings): Promise<ReloadOutcome> {
    const live = this.live as Mutable<Settings>;
    const needRestart = AT_START_ONLY.filter((key) => !isDeepStrictEqual(live[key], next[key]));
    const applied: string[] = [];
    for (const key of Object.keys({ ...live.limits, ...next.limits }) as (keyof Settings['limits'])[]) {
      if (live.limits[key] !== next.limits[key]) applied.push(`limits.${key}`);
    }
    live.limits = { ...next.limits };
    if (live.logLevel !== next.logLevel) applied.push('logLevel');
    live.logLevel = next.logLevel;
    if (live.idleFlushMs !== next.idleFlushMs) applied.push('idleFlushMs');
    live.idleFlushMs = next.idleFlushMs;
    if (live.bcryptCost !== next.bcryptCost) applied.push('bcryptCost');
    live.bcryptCost = next.bcryptCost;
    const federation = live.federation as Mutable<Settings['federation']>;
    for (const key of ['acceptFrom', 'requestTimeoutMs'] as const) {
      if (!isDeepStrictEqual(federation[key], next.federation[key])) applied.push(`federation.${key}`);
    }
    federation.acceptFrom = next.federation.acceptFrom;
    federation.requestTimeoutMs = next.federation.requestTimeoutMs;
    const peers = samePeersKept(federation.peers, next.federation.peers);
    if (!isDeepStrictEqual(federation.peers, peers)) applied.push('federation.peers');
    federation.peers = peers;
    for (const listener of this.listeners) await listener(this.live, applied);
    return { applied, needRestart };
  }
}

/**
 * `next`'s peers, where a peer configured exactly as before is the same object as before: the
 * links, retries and channels kept for it carry on.
 */
function samePeersKept(current: readonly PeerSettings[], next: readonly PeerSettings[]): readonly PeerSettings[] {
  return next.map((peer) => current.find((old) => isDeepStrictEqual(old, peer)) ?? peer);
}
