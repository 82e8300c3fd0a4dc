import { Command, CommanderError } from 'commander';
import { ConfigurationError } from './configuration-error';

export interface LaunchArguments {
  readonly port?: number;
  readonly configurationPath?: string;
}

/** Thrown for `--help` and `--version`: the text was printed and the process should exit 0. */
export class InformationShown extends Error {}

const INTEGER = /^\d+$/;

/**
 * `[port] [configuration]` (PROTOCOL.md §3): an integer argument is the port, anything else the
 * path of a configuration file, so `chat-server config.yaml` works as well as `chat-server 4401 config.yaml`.
 */
export function parseLaunchArguments(argv: readonly string[], print: (text: string) => void): LaunchArguments {
  const program = new Command('chat-server')
    .description('Line-protocol chat server')
    .argument('[port]', 'TCP port to listen on (default 4400)')
    .argument('[configuration]', 'a YAML configuration file or a federation peers list')
    .version(readVersion())
    .exitOverride()
    .configureOutput({ writeOut: print, writeErr: () => undefined });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) throw new InformationShown();
      throw new ConfigurationError(`command line: ${error.message.replace(/^error: /, '')}`);
    }
    throw error;
  }
  const [first, second] = program.args;
  if (first === undefined) return {};
  if (!INTEGER.test(first)) {
    if (second !== undefined) throw new ConfigurationError(`command line: port: expected an integer, got "${first}"`);
    return { configurationPath: first };
  }
  const port = Number(first);
  if (port > 65535) throw new ConfigurationError(`command line: port: must be at most 65535, got ${first}`);
  return { port, configurationPath: second };
}

function readVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json lies outside rootDir, so it is read at run time
  return (require('../../package.json') as { version: string }).version;
}
