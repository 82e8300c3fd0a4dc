import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { BenchClient, connectMany } from './bench-client';
import { Room } from './fanout';
import { freePort, ServerProcess, startChatServerProcess } from './server-process';

/** One of the two federated servers: where it listens and the name its peer knows it by. */
export interface FederatedServer {
  readonly process: ServerProcess;
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  readonly metricsUrl: string;
}

/**
 * How the two servers list each other. `plain`: without the handshake's extensions, so the channel's
 * server sends one FEDRECV per remote member. `cast`: with `extensions: true`, so the link
 * negotiates `cast` and the channel's server sends one FEDCAST per message.
 */
export const FEDERATION_MODES = ['plain', 'cast'] as const;
export type FederationMode = (typeof FEDERATION_MODES)[number];

const SIDES = [
  { host: '127.0.0.2', hostname: 'bench-a' },
  { host: '127.0.0.3', hostname: 'bench-b' },
] as const;

/**
 * Two chat servers on their own loopback addresses, each listing the other as its peer under the
 * other's hostname, listed as `mode` says. `extraLines` are added to both configurations.
 */
export async function startFederatedPair(
  scratch: string,
  mode: FederationMode,
  extraLines: readonly string[],
  nodeOptions: readonly string[] = [],
): Promise<[FederatedServer, FederatedServer]> {
  const ports = await Promise.all(SIDES.map((side) => freePort(side.host)));
  const httpPorts = await Promise.all(SIDES.map(() => freePort()));
  const started: FederatedServer[] = [];
  try {
    for (const [index, side] of SIDES.entries()) {
      const other = SIDES[1 - index];
      const peer = `{ address: "${other.host}:${ports[1 - index]}", hostname: ${other.hostname}, extensions: ${mode === 'cast'} }`;
      const dir = mkdtempSync(join(scratch, `${side.hostname}-`));
      const server = await startChatServerProcess(
        dir,
        [
          `host: ${side.host}`,
          `hostname: ${side.hostname}`,
          `database:\n  dataDir: ${join(dir, 'data')}`,
          // Thousands of remote JOINs at once each wait for their FEDRESULT.
          `federation:\n  peers: [${peer}]\n  requestTimeoutMs: 120000`,
          `http:\n  port: ${httpPorts[index]}`,
          ...extraLines,
        ],
        nodeOptions,
        ports[index],
      );
      started.push({
        process: server,
        host: side.host,
        port: server.port,
        hostname: side.hostname,
        metricsUrl: `http://127.0.0.1:${httpPorts[index]}/metrics`,
      });
    }
    return started as [FederatedServer, FederatedServer];
  } catch (error) {
    await Promise.all(started.map((server) => server.process.stop()));
    throw error;
  }
}

/** Asks `client` for CHANNELS until `name` is in the list: the link is up and has carried the channel. */
async function waitForChannel(client: BenchClient, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    client.send('CHANNELS\n');
    const list = (await client.reply()).replace(/^RESULT CHANNELS /, '').split(', ');
    if (list.includes(name)) return;
    if (Date.now() > deadline)
      throw new Error(`${name} did not reach the other server within ${timeoutMs / 1000} s (is the link up?)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A channel on `home` with `size` members, every other one a user of `away` who joins it as
 * `<channel>:<home hostname>`. Member 0 (the first sender) is on `home`, member 1 on `away`.
 */
export async function openFederatedRoom(home: FederatedServer, away: FederatedServer, size: number, tag: string): Promise<Room> {
  const channel = `room${tag}`;
  const remoteName = `${channel}:${home.hostname}`;
  const homeCount = Math.ceil(size / 2);
  const atHome = await connectMany(`${tag}a`, homeCount, home.port, home.host);
  const atAway = await connectMany(`${tag}b`, size - homeCount, away.port, away.host);
  const members = Array.from({ length: size }, (_, index) => (index % 2 === 0 ? atHome[index / 2] : atAway[(index - 1) / 2]));
  const channels = members.map((_, index) => (index % 2 === 0 ? channel : remoteName));

  await Promise.all(
    members.map((member) =>
      member.exchange([`REGISTER ${member.name} pw`, `LOGIN ${member.name} pw`], ['RESULT REGISTER 1', 'RESULT LOGIN 1']),
    ),
  );
  await atHome[0].exchange([`CREATE ${channel}`], [`RESULT CREATE ${channel} 1`]);
  if (atAway.length > 0) await waitForChannel(atAway[0], remoteName);
  await Promise.all(
    members.map((member, index) => member.exchange([`JOIN ${channels[index]}`], [`RESULT JOIN ${channels[index]} 1`])),
  );
  return { members, channels };
}

/**
 * The FED… lines `server` has handled so far, by verb, from its `chat_commands_total`. A server
 * handles the lines its peer sends over the link as commands, so on the server without the channel
 * these are the lines the channel's server sent it.
 */
export async function linkLinesHandled(server: FederatedServer): Promise<Map<string, number>> {
  const response = await fetch(server.metricsUrl);
  if (!response.ok) throw new Error(`${server.metricsUrl} answered ${response.status}`);
  const counts = new Map<string, number>();
  for (const [, verb, count] of (await response.text()).matchAll(/^chat_commands_total\{verb="(FED\w+)"[^}]*\} (\d+)$/gm))
    counts.set(verb, (counts.get(verb) ?? 0) + Number(count));
  return counts;
}
