import { Command, CommanderError } from 'commander';
import { ConfigurationError } from './configuration-error';
import { ENVIRONMENT } from './load-settings';

export interface LaunchArguments {
  readonly port?: number;
  readonly configurationPath?: string;
}

/** Thrown for `--help` and `--version`: the text was printed and the process should exit 0. */
export class InformationShown extends Error {}

/** Anything a person would read as a number, `-1`, `+5`, `1.5` or `1e3`, is meant as a port, never a file name. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const PORT_RANGE = 'from 0 to 65535';

/**
 * `[port] [configuration]` (PROTOCOL.md §3): a number is the port, anything else the path of a
 * configuration file, so `chat-server config.yaml` works as well as `chat-server 4401 config.yaml`.
 */
export function parseLaunchArguments(argv: readonly string[], print: (text: string) => void): LaunchArguments {
  const program = new Command('chat-server')
    .description('Line-protocol chat server')
    .argument('[port]', 'TCP port to listen on (default 4400)')
    .argument('[configuration]', 'a YAML configuration file or a federation peers list')
    .version(readVersion())
    .addHelpText('after', environmentHelp())
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
  const shown = JSON.stringify(first);
  if (NUMBER.test(first)) {
    if (!/^-?\d+$/.test(first))
      throw new ConfigurationError(`command line: port: must be an integer ${PORT_RANGE}, got ${shown}`);
    if (first.startsWith('-') || Number(first) > 65535) {
      throw new ConfigurationError(`command line: port: must be ${PORT_RANGE}, got ${shown}`);
    }
    return { port: Number(first), configurationPath: second };
  }
  if (second !== undefined) throw new ConfigurationError(`command line: port: expected an integer, got ${shown}`);
  return { configurationPath: first };
}

/** The environment variables and the key each one sets, from the table the loader reads. */
function environmentHelp(): string {
  const width = Math.max(...ENVIRONMENT.map(({ variable }) => variable.length)) + 2;
  const rows = ENVIRONMENT.map(
    ({ variable, key, kind }) => `  ${variable.padEnd(width)}${key}${kind === 'list' ? ' (comma-separated)' : ''}`,
  );
  return [
    '',
    'Environment variables (each overrides its key in the configuration file; a port argument overrides PORT):',
    ...rows,
  ].join('\n');
}

function readVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json lies outside rootDir, so it is read at run time
  return (require('../../package.json') as { version: string }).version;
}
