import { MemberSet } from '../../src/domain/member-set';
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

  describe("a channel's members (a MemberSet), whose sessions are kept between messages", () => {
    let channel: MemberSet;
    const got = new Map<string, Reply[]>();
    const attach = (id: string, user: string) => {
      const received: Reply[] = [];
      got.set(id, received);
      return presence.attach(session(id, received), user);
    };
    const say = (text: string) => presence.deliver(channel, Reply.recv('bob', 'alpha', text));
    const texts = (id: string) => (got.get(id) ?? []).map((reply) => (reply.kind === 'recv' ? reply.message : reply.kind));

    beforeEach(async () => {
      got.clear();
      channel = new MemberSet();
      channel.add('bob');
      channel.add('ann');
      channel.add('dan@server2.com');
      await attach('c1', 'bob');
    });

    it('reaches a member who comes online after a first message', async () => {
      say('one');
      await attach('c2', 'ann');
      say('two');
      expect(texts('c1')).toEqual(['one', 'two']);
      expect(texts('c2')).toEqual(['two']);
      expect(presence.delivered).toBe(3);
    });

    it('no longer reaches a member who went offline, and reaches the new session of one who came back', async () => {
      await attach('c2', 'ann');
      say('one');
      const annFirst = presence.sessionOf('ann');
      await presence.detach(annFirst!);
      say('two');
      await attach('c3', 'ann');
      say('three');
      expect(texts('c2')).toEqual(['one']);
      expect(texts('c3')).toEqual(['three']);
      expect(texts('c1')).toEqual(['one', 'two', 'three']);
    });

    it('reaches a member added after a first message and not one removed', async () => {
      await attach('c2', 'cid');
      await attach('c3', 'ann');
      say('one');
      channel.add('cid');
      channel.delete('ann');
      say('two');
      expect(texts('c2')).toEqual(['two']);
      expect(texts('c3')).toEqual(['one']);
    });
  });
});
