import type { ChatServer } from './chat-server';
import { ConfigurationError } from './config/configuration-error';
import { InformationShown, parseLaunchArguments } from './config/launch-arguments';
import { loadSettings } from './config/load-settings';
import { openEarly } from './database/embedded-database';
import { discardPreparedThread } from './database/embedded-thread';
import { preparePgThread } from './database/pg-thread';
import { plainFailure } from './database/plain-failure';
import { withDeferredDateFormats } from './deferred-date-formats';
import { startupTimes } from './startup-times';

export interface LaunchOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Exit codes: 0 after --help/--version, 1 when the server cannot start, 2 for bad configuration. */
export type LaunchResult = { readonly exitCode: number } | { readonly server: ChatServer };

/** `chat-server [port] [configuration]`: reads the configuration and starts the server. */
export async function launch(argv: readonly string[], env: NodeJS.ProcessEnv, output: LaunchOutput): Promise<LaunchResult> {
  let settings;
  const launched = performance.now();
  startupTimes.record('launch', 0, launched);
  try {
    settings = loadSettings(parseLaunchArguments(argv, output.stdout), env);
    startupTimes.record('configuration', launched);
  } catch (error) {
    if (error instanceof InformationShown) return { exitCode: 0 };
    if (error instanceof ConfigurationError) {
      output.stderr(`chat-server: invalid configuration: ${error.message}\n`);
      return { exitCode: 2 };
    }
    throw error;
  }
  // The embedded database opens in its thread (the one main started ahead, if it did) while this
  // one loads the server's modules; on PostgreSQL that thread is not wanted, and the driver's
  // thread starts instead.
  const { url, dataDir, templateDir } = settings.database;
  if (url) {
    void discardPreparedThread();
    preparePgThread();
  }
  const early = url ? undefined : openEarly(dataDir, templateDir);
  try {
    await early?.begun;
    const loading = performance.now();
    const { startChatServer } = await withDeferredDateFormats(() => import('./chat-server'));
    startupTimes.record('modules', loading);
    return { server: await startChatServer(settings, { startup: startupTimes }) };
  } catch (error) {
    // The certificate files are read as the server starts, and are configuration all the same.
    if (error instanceof ConfigurationError) {
      output.stderr(`chat-server: invalid configuration: ${error.message}\n`);
      return { exitCode: 2 };
    }
    output.stderr(`chat-server: cannot start: ${plainFailure(error)}\n`);
    return { exitCode: 1 };
  } finally {
    await early?.discard();
  }
}

/** Where a reload reports: the server's log. */
export interface ReloadLog {
  readonly log: (message: string) => void;
  readonly error: (message: string) => void;
}

/**
 * Reads the configuration again as at launch (the same command line; the environment cannot
 * change under a running process, the files can) and puts it in force where it can be. One line
 * says what changed and what waits for a restart; a configuration that does not load is refused
 * with one line and the running one stays.
 */
export async function reloadConfiguration(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  server: ChatServer,
  log: ReloadLog,
): Promise<void> {
  let next;
  try {
    next = loadSettings(
      parseLaunchArguments(argv, () => undefined),
      env,
    );
  } catch (error) {
    const reason = error instanceof ConfigurationError ? error.message : plainFailure(error);
    log.error(`configuration not reloaded: ${reason}; the running configuration stays`);
    return;
  }
  const { applied, needRestart } = await server.reload(next);
  const changed = applied.length > 0 ? applied.join(', ') : 'nothing changed';
  const waiting = needRestart.length > 0 ? `; these need a restart to change: ${needRestart.join(', ')}` : '';
  log.log(`configuration reloaded: ${changed}${waiting}`);
}
