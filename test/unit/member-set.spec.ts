import { DerivedFromMembers, MemberSet } from '../../src/domain/member-set';

describe('MemberSet', () => {
  it('counts its changes, and only real ones', () => {
    const members = new MemberSet();
    expect(members.add('bob')).toBe(true);
    const before = members.version;
    expect(members.add('bob')).toBe(false);
    expect(members.delete('nobody')).toBe(false);
    expect(members.version).toBe(before);
    expect(members.add('eve')).toBe(true);
    expect(members.delete('eve')).toBe(true);
    expect(members.version).toBe(before + 2);
  });

  it('reads as a set of names', () => {
    const members = new MemberSet();
    for (const name of ['bob', 'ann', 'dan@server2.com']) members.add(name);
    expect([...members]).toEqual(['bob', 'ann', 'dan@server2.com']);
    expect(members.size).toBe(3);
    expect(members.has('ann')).toBe(true);
    expect(new Set(members.values())).toEqual(new Set(['bob', 'ann', 'dan@server2.com']));
    const seen: string[] = [];
    members.forEach((name, key, set) => {
      expect(key).toBe(name);
      expect(set).toBe(members);
      seen.push(name);
    });
    expect(seen).toEqual(['bob', 'ann', 'dan@server2.com']);
  });
});

describe('DerivedFromMembers', () => {
  let derived: string[][];
  let remote: DerivedFromMembers<string[]>;

  beforeEach(() => {
    derived = [];
    remote = new DerivedFromMembers((members) => {
      const names = [...members].filter((name) => name.includes('@'));
      derived.push(names);
      return names;
    });
  });

  it('derives once per version of the set', () => {
    const members = new MemberSet();
    members.add('bob');
    members.add('dan@server2.com');
    expect(remote.of(members)).toEqual(['dan@server2.com']);
    expect(remote.of(members)).toBe(remote.of(members));
    expect(derived).toHaveLength(1);
    members.add('eve@server3.com');
    expect(remote.of(members)).toEqual(['dan@server2.com', 'eve@server3.com']);
    members.delete('dan@server2.com');
    expect(remote.of(members)).toEqual(['eve@server3.com']);
    expect(derived).toHaveLength(3);
  });

  it('derives every set again after a clear', () => {
    const one = new MemberSet();
    const two = new MemberSet();
    one.add('dan@server2.com');
    remote.of(one);
    remote.of(two);
    remote.clear();
    remote.of(one);
    remote.of(one);
    remote.of(two);
    expect(derived).toHaveLength(4);
  });

  it('keeps a value per set', () => {
    const one = new MemberSet();
    const two = new MemberSet();
    one.add('dan@server2.com');
    two.add('eve@server3.com');
    expect(remote.of(one)).toEqual(['dan@server2.com']);
    expect(remote.of(two)).toEqual(['eve@server3.com']);
    expect(remote.of(one)).toEqual(['dan@server2.com']);
    expect(derived).toHaveLength(2);
  });

  it('derives from any other collection of names at every call', () => {
    const plain = new Set(['dan@server2.com']);
    remote.of(plain);
    plain.add('eve@server3.com');
    expect(remote.of(plain)).toEqual(['dan@server2.com', 'eve@server3.com']);
    expect(derived).toHaveLength(2);
  });
});
