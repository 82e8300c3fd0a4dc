import { LocalPresence } from '../../src/modules/presence/presence';
import { Reply } from '../../src/transport/replies';
import { Session } from '../../src/transport/session';

function session(id: string, received: Reply[] = []): Session {
  return {
    id,
    remoteAddress: '127.0.0.1',
    role: 'client',
    send: (reply) => void received.push(reply),
    close: () => undefined,
    awaitSettled: () => undefined,
  };
}

describe('LocalPresence', () => {
  let presence: LocalPresence;

  beforeEach(() => {
    presence = new LocalPresence();
  });

  it('attaches a user to a session and answers that it is online', async () => {
    const bob = session('c1');
    expect(await presence.attach(bob, 'bob')).toBe(true);
    expect(bob.user).toBe('bob');
    expect(await presence.isOnline('bob')).toBe(true);
    expect(presence.sessionOf('bob')).toBe(bob);
  });

  it('refuses a user already online on another session', async () => {
    await presence.attach(session('c1'), 'bob');
    expect(await presence.attach(session('c2'), 'bob')).toBe(false);
  });

  it('decides between two concurrent attaches of one name before either answer is awaited', async () => {
    const outcomes = await Promise.all([presence.attach(session('c1'), 'bob'), presence.attach(session('c2'), 'bob')]);
    expect(outcomes).toEqual([true, false]);
  });

  it('takes the user offline when its session detaches', async () => {
    const bob = session('c1');
    await presence.attach(bob, 'bob');
    await presence.detach(bob);
    expect(await presence.isOnline('bob')).toBe(false);
    expect(bob.user).toBeUndefined();
  });

  it('emits userOnline and userOffline', async () => {
    const heard: string[] = [];
    presence.events.on('userOnline', ({ user }) => heard.push(`online ${user}`));
    presence.events.on('userOffline', ({ user }) => heard.push(`offline ${user}`));
    const bob = session('c1');
    await presence.attach(bob, 'bob');
    await presence.detach(bob);
    expect(heard).toEqual(['online bob', 'offline bob']);
  });

  it('keeps the user online when a session it was refused on detaches', async () => {
    await presence.attach(session('c1'), 'bob');
    const other = session('c2');
    await presence.attach(other, 'bob');
    await presence.detach(other);
    expect(await presence.isOnline('bob')).toBe(true);
  });

  it('hands one reply object to each member online here, skipping the others', async () => {
    const bobGot: Reply[] = [];
    const annGot: Reply[] = [];
    await presence.attach(session('c1', bobGot), 'bob');
    await presence.attach(session('c2', annGot), 'ann');
    const reply = Reply.recv('bob', 'alpha', 'hi');
    presence.deliver(['bob', 'cid', 'dan@server2.com', 'ann'], reply);
    expect(bobGot).toEqual([reply]);
    expect(annGot[0]).toBe(reply);
    expect(presence.delivered).toBe(2);
  });
});
