import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flag that stops allocation-site pretenuring. V8 watches the objects each allocation site
 * (an object or array literal) creates, and once most of them outlive a few scavenges it
 * allocates that site's objects in the old generation from then on. A storm of logins does that
 * to the sites every command passes through, since each login's objects wait for bcrypt and the
 * database, and the decision is never taken back. Afterwards every SAY's short-lived objects went
 * to the old generation, where only a full collection frees them; until then they kept the young
 * objects they point to alive through every scavenge. At 200 messages/s to 1,000 members each
 * scavenge moved about 25 KB of such garbage to the old generation and took twice as long as the
 * same server's without pretenuring. Without it, a command's objects die young whatever the
 * start-up looked like; objects that do live long (a connection, a channel) are copied once and
 * then promoted, as they would be anyway.
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
