import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModuleKind, ScriptTarget, transpileModule } from 'typescript';

const ROOT = join(__dirname, '..');
const MAIN = join(ROOT, 'dist', 'main.js');
const REFERENCE = join(ROOT, 'bench', 'reference-server.ts');

const OUTPUT_KEPT = 64 * 1024;
const TAIL_KEPT = 16 * 1024;

/**
 * glibc's malloc arenas and trim threshold, as `npm start` and the container image set them
 * (README, "Memory"), for the chat server and the reference alike; a value in this process's
 * environment wins.
 */
const MALLOC_ENV = {
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '131072',
};

/** A server in a child process, known once it has printed `listening on <address>:<port>`. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resident memory of the process now, in KiB. */
  rssKb(): number;
  /** What it printed from its start, up to the first 64 KiB. */
  output(): string;
  /** The last 16 KiB or so of what it printed, from a line's start. */
  recentOutput(): string;
  /** How the process ended without stop() asking it to ("exit code 1", "signal SIGSEGV"), or undefined. */
  crash(): string | undefined;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/**
 * `child` gets SIGTERM when the bench exits, however it ends (a failed measurement included),
 * unless it has exited already: a server is never left running after the run.
 */
export function stopAtExit(child: ChildProcess): void {
  if (running.size === 0) process.once('exit', stopRunning);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) process.removeListener('exit', stopRunning);
  });
}

function stopRunning(): void {
  for (const child of running) child.kill('SIGTERM');
}

/** Starts `node <args>` and waits for its "listening on" line (JSON log or plain text). */
export async function spawnListening(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  stopAtExit(child);
  // Output is kept up to a bound, then only drained, so the child never blocks on a full pipe.
  let output = '';
  let tail = '';
  let listening = false;
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (output.length < OUTPUT_KEPT) output += text;
      tail += text;
      if (tail.length > 2 * TAIL_KEPT) tail = tail.slice(-TAIL_KEPT);
      if (listening) return;
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) {
        listening = true;
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`${args.join(' ')} exited at start:\n${output}`)));
  });
  let stopping = false;
  let crash: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      if (!stopping) crash = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    }),
  );
  return {
    child,
    port,
    rssKb: () => {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) : 0;
    },
    output: () => output,
    recentOutput: () => {
      const recent = tail.slice(-TAIL_KEPT);
      const lineStart = recent.length < tail.length ? recent.indexOf('\n') + 1 : 0;
      return recent.slice(lineStart);
    },
    crash: () => crash,
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The chat server (`dist/main.js`) on `port` (0: an ephemeral one) with a YAML configuration written
 * to `dir`, and `env` over this process's environment.
 */
export function startChatServerProcess(
  dir: string,
  yamlLines: readonly string[],
  nodeOptions: readonly string[] = [],
  port = 0,
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  const config = join(dir, 'server.yaml');
  writeFileSync(config, [...yamlLines, ''].join('\n'));
  return spawnListening([...nodeOptions, MAIN, String(port), config], { ...MALLOC_ENV, ...env });
}

let referenceJs: string | undefined;

/**
 * The reference as JavaScript, compiled once per bench run into a scratch folder removed at exit.
 * It runs on plain `node`, as the chat server runs its compiled `dist/`: under ts-node the process
 * would also hold TypeScript's compiler, about 50 MB more at start, and the compiler's freed memory,
 * which the first connections then reuse, so that they would seem to cost less than they do.
 */
function compiledReference(): string {
  if (referenceJs) return referenceJs;
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-reference-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { outputText } = transpileModule(readFileSync(REFERENCE, 'utf8'), {
    compilerOptions: { module: ModuleKind.CommonJS, target: ScriptTarget.ES2022 },
    fileName: REFERENCE,
  });
  referenceJs = join(dir, 'reference-server.js');
  writeFileSync(referenceJs, outputText);
  return referenceJs;
}

/** The reference fan-out server (bench/reference-server.ts, compiled) on an ephemeral port. */
export function startReferenceProcess(
  host = '127.0.0.1',
  nodeOptions: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  return spawnListening([...nodeOptions, compiledReference(), '0', host], { ...MALLOC_ENV, ...env });
}

/** A TCP port free on `host` right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
