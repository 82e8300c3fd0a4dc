import { BenchClient, connectMany } from './bench-client';
import { Room } from './fanout';

/** For each of `size` members, the instance (0-based) it connects to: round-robin over `instances`. */
export function spreadMembers(size: number, instances: number): number[] {
  if (!Number.isInteger(instances) || instances < 1) throw new Error(`cannot spread members over ${instances} instances`);
  return Array.from({ length: size }, (_, index) => index % instances);
}

/** Runs one phase of a room's life for every member at once, e.g. between two readings of Redis's counters. */
export type PhaseRunner = (phase: SetupPhase, work: () => Promise<void>) => Promise<void>;
/** The room's set-up, and `logout`: its members gone and their logins released. */
export type SetupPhase = 'register' | 'login' | 'join' | 'logout';

/**
 * `size` members spread round-robin over the first `spread` ports, each registered, logged in
 * and joined to one fresh channel, one phase after the other for everyone at once.
 */
export async function openSpreadRoom(
  ports: readonly number[],
  spread: number,
  size: number,
  tag: string,
  phase: PhaseRunner = (_, work) => work(),
): Promise<Room> {
  const placement = spreadMembers(size, spread);
  const byInstance = await Promise.all(
    ports
      .slice(0, spread)
      .map((port, instance) =>
        connectMany(`${tag}i${instance}u`, placement.filter((at) => at === instance).length, port, '127.0.0.1'),
      ),
  );
  const members: BenchClient[] = [];
  const next = byInstance.map(() => 0);
  for (const instance of placement) members.push(byInstance[instance][next[instance]++]);
  const channel = `room${tag}`;
  try {
    const everyone = async (command: string, reply: string) => {
      await Promise.all(members.map((member) => member.exchange([`${command} ${member.name} pw`], [reply])));
    };
    await phase('register', () => everyone('REGISTER', 'RESULT REGISTER 1'));
    await phase('login', () => everyone('LOGIN', 'RESULT LOGIN 1'));
    await members[0].exchange([`CREATE ${channel}`], [`RESULT CREATE ${channel} 1`]);
    await phase('join', async () => {
      await Promise.all(members.map((member) => member.exchange([`JOIN ${channel}`], [`RESULT JOIN ${channel} 1`])));
    });
  } catch (error) {
    for (const member of members) member.close();
    throw error;
  }
  return { members, channels: members.map(() => channel) };
}
