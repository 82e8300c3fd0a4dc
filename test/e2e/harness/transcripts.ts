import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay, LineClient } from './line-client';
import { testDatabases } from './databases';
import { SettingsOverrides, TestServer } from './test-server';

/**
 * A step of a transcript. Strings mirror PROTOCOL.md's notation: `"a> LINE"` — client a sends
 * LINE and an LF; `"a< LINE"` — the next line client a receives is exactly LINE. Objects do the rest.
 * In any text, `{{x*N}}` stands for N copies of x.
 */
type Step =
  | string
  | { client: string; write: string }
  | { client: string; writeHex: string }
  | { client: string; writeBytewise: string }
  | { client: string; silence: number }
  | { client: string; close: true }
  | { client: string; end: true }
  | { client: string; expectClosed: true }
  | { sleep: number }
  | { restart: true };

export interface TranscriptCase {
  name: string;
  /** The PROTOCOL.md sentence the case checks. */
  spec?: string;
  settings?: SettingsOverrides;
  steps: Step[];
}

interface TranscriptFile {
  family: string;
  cases: TranscriptCase[];
}

const MACRO = /\{\{(.+?)\*(\d+)\}\}/g;

function expand(text: string): string {
  return text.replace(MACRO, (_, unit: string, count: string) => unit.repeat(Number(count)));
}

class TranscriptRun {
  private readonly clients = new Map<string, LineClient>();

  constructor(private server: TestServer) {}

  async step(step: Step): Promise<void> {
    if (typeof step === 'string') return this.lineStep(step);
    if ('sleep' in step) return delay(step.sleep);
    if ('restart' in step) {
      this.closeAll();
      await this.server.restart();
      return;
    }
    const client = await this.client(step.client);
    if ('write' in step) client.write(expand(step.write));
    else if ('writeHex' in step) client.write(Buffer.from(step.writeHex.replace(/\s+/g, ''), 'hex'));
    else if ('writeBytewise' in step) await client.writeBytewise(Buffer.from(expand(step.writeBytewise)));
    else if ('silence' in step) await client.expectSilence(step.silence);
    else if ('close' in step) this.drop(step.client);
    else if ('end' in step) client.end();
    else if ('expectClosed' in step) await client.expectClosed();
  }

  /** Every line a client received was expected. */
  verifyNothingUnread(): void {
    for (const client of this.clients.values()) {
      if (client.unread().length > 0) {
        throw new Error(`${client.name}: unexpected line(s) ${JSON.stringify(client.unread())}`);
      }
    }
  }

  closeAll(): void {
    for (const name of [...this.clients.keys()]) this.drop(name);
  }

  private async lineStep(step: string): Promise<void> {
    const match = /^(\w+)([<>]) ?(.*)$/s.exec(step);
    if (!match) throw new Error(`bad transcript step ${JSON.stringify(step)}`);
    const [, name, direction, text] = match;
    const client = await this.client(name);
    if (direction === '>') client.send(expand(text));
    else await client.expectLine(expand(text));
  }

  private drop(name: string): void {
    this.clients.get(name)?.close();
    this.clients.delete(name);
  }

  /** A client connects on its first step, and again after it was closed or the server restarted. */
  private async client(name: string): Promise<LineClient> {
    let client = this.clients.get(name);
    if (!client) {
      client = await LineClient.connect(this.server.port, name);
      this.clients.set(name, client);
    }
    return client;
  }
}

function loadFamily(family: string): TranscriptFile {
  const path = join(__dirname, '..', 'transcripts', `${family}.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as TranscriptFile;
}

/**
 * jest's time for one case: the default, plus a start's worth for every restart in it, since a
 * restart of the embedded database on a busy machine can take several seconds.
 */
function timeoutOf(transcript: TranscriptCase): number {
  const restarts = transcript.steps.filter((step) => typeof step === 'object' && 'restart' in step).length;
  return 30_000 + restarts * 30_000;
}

/** Registers one jest test per case of `transcripts/<family>.json`, on every test database. */
export function runTranscripts(family: string): void {
  const file = loadFamily(family);
  for (const database of testDatabases()) {
    describe(`${file.family} [${database.name}]`, () => {
      afterAll(() => database.dispose());
      for (const transcript of file.cases) {
        test(
          transcript.name,
          async () => {
            const server = await TestServer.start(await database.fresh(), transcript.settings);
            const run = new TranscriptRun(server);
            try {
              for (const [index, step] of transcript.steps.entries()) {
                try {
                  await run.step(step);
                } catch (error) {
                  (error as Error).message = `step ${index + 1} ${JSON.stringify(step)}: ${(error as Error).message}`;
                  throw error;
                }
              }
              run.verifyNothingUnread();
            } finally {
              run.closeAll();
              await server.stop();
            }
          },
          timeoutOf(transcript),
        );
      }
    });
  }
}
