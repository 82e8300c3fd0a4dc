#!/usr/bin/env node
import { accessSync, constants, createReadStream, readFileSync } from 'node:fs';
import { ClientArguments, parseClientArguments } from './client-arguments';
import { InteractiveClient } from './interactive-mode';
import { EXIT, runScript } from './script-mode';
import { TlsTrust } from './server-link';
import { Style } from './style';

async function main(): Promise<number> {
  let args: ClientArguments | undefined;
  try {
    args = parseClientArguments(process.argv.slice(2), (text) => process.stderr.write(text));
  } catch {
    return EXIT.arguments;
  }
  if (!args) return EXIT.ok;
  if (args.script) {
    try {
      accessSync(args.script, constants.R_OK);
    } catch (error) {
      process.stderr.write(`chat-client: cannot read ${args.script}: ${(error as NodeJS.ErrnoException).code}\n`);
      return EXIT.arguments;
    }
  }
  let tls: TlsTrust | undefined;
  if (args.tls) {
    const { fingerprint, caFile } = args.tls;
    try {
      tls = { fingerprint, ca: caFile === undefined ? undefined : readFileSync(caFile) };
    } catch (error) {
      process.stderr.write(`chat-client: cannot read ${caFile}: ${(error as NodeJS.ErrnoException).code}\n`);
      return EXIT.arguments;
    }
  }
  if (args.script || !process.stdin.isTTY) {
    return runScript({
      host: args.host,
      port: args.port,
      tls,
      input: args.script ? createReadStream(args.script) : process.stdin,
      output: process.stdout,
      errors: process.stderr,
      waitMs: args.waitMs,
      timeoutMs: args.timeoutMs,
    });
  }
  return new InteractiveClient({
    host: args.host,
    port: args.port,
    tls,
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    style: Style.for(process.stdout, process.env),
  }).run();
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
