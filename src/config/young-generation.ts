import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flag that stops allocation-site pretenuring. V8 watches the objects each allocation site
 * (an object or array literal) creates, and once most of them outlive a few scavenges it
 * allocates that site's objects in the old generation from then on. A storm of logins does that
 * to the sites every command passes through, since each login's objects wait for bcrypt and the
 * database, and the decision stays until a full collection finds most of the old generation dead.
 * Meanwhile every SAY's short-lived objects went to the old generation, where only a full
 * collection frees them, and kept the young objects they point to alive through every scavenge:
 * at 200 messages/s to 1,000 members each scavenge moved 17–25 KB of such garbage to the old
 * generation, where the same server without pretenuring moves 0–1 KB, as a server that answers
 * every command at once does. Without it, a command's objects die young whatever the start-up
 * looked like; objects that do live long (a connection, a channel) are copied once more before
 * they are promoted, as any object is.
 */
export const NO_PRETENURING = '--no-allocation-site-pretenuring';

/**
 * Keeps the objects of each command in the young generation (see `NO_PRETENURING`). V8 reads the
 * flag whenever a scavenge weighs its allocation sites, so setting it at the start of the process,
 * before any command is read, covers every site; the server calls it first thing.
 */
export function keepCommandObjectsYoung(setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(NO_PRETENURING);
}
