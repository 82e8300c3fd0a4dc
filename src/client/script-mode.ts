import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { reasonOf, ServerLink } from './server-link';

export interface ScriptOptions {
  readonly host: string;
  readonly port: number;
  readonly input: Readable;
  readonly output: Writable;
  readonly errors: Writable;
  /** After the input ends, exit once no line has arrived for this long. */
  readonly waitMs: number;
}

/**
 * Netcat-style: sends each input line, prints every line received exactly as it came, and
 * exits once the input has ended and the replies have settled. Returns the exit code: 0, or 1
 * when the connection fails or is lost before the input ends.
 */
export async function runScript(options: ScriptOptions): Promise<number> {
  let link: ServerLink;
  try {
    link = await ServerLink.connect(options.host, options.port);
  } catch (error) {
    options.errors.write(`chat-client: cannot connect to ${options.host}:${options.port}: ${reasonOf(error)}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let inputEnded = false;
    let settleTimer: NodeJS.Timeout | undefined;
    const finish = (code: number) => {
      clearTimeout(settleTimer);
      reader.close();
      link.removeAllListeners();
      link.close();
      resolve(code);
    };
    const settleLater = () => {
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => finish(0), options.waitMs);
    };

    link.on('line', (line) => {
      options.output.write(`${line}\n`);
      if (inputEnded) settleLater();
    });
    link.on('closed', () => {
      if (inputEnded) return finish(0);
      options.errors.write(`chat-client: connection to ${options.host}:${options.port} lost\n`);
      finish(1);
    });

    const reader = createInterface({ input: options.input, crlfDelay: Infinity, terminal: false });
    reader.on('line', (line) => link.send(line));
    reader.on('close', () => {
      inputEnded = true;
      settleLater();
    });
  });
}
