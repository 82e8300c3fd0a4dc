import { Command, CommanderError, InvalidArgumentError } from 'commander';

export interface ClientArguments {
  readonly host: string;
  readonly port: number;
  readonly script?: string;
  readonly waitMs: number;
  readonly timeoutMs: number;
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
  1  cannot connect, or the connection was lost before the input ended or while replies were owed
  2  bad arguments, or a --script file that cannot be read
  3  script mode: replies still missing after --timeout`;

/** `chat-client [host] [port] [--script FILE] [--wait MS] [--timeout MS]`; undefined after --help or --version. */
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
  const { script, wait, timeout } = program.opts<{ script?: string; wait: number; timeout: number }>();
  return { host, port, script, waitMs: wait, timeoutMs: timeout };
}
