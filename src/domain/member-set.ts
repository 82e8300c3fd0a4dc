/**
 * The names of a group's members (a channel's), counting its changes: `version` grows with each
 * name added or removed, so what is derived from the names (the sessions a message goes to) can be
 * kept until they change. Every change goes through `add` and `delete`; readers see it as a
 * `ReadonlySet`.
 */
export class MemberSet implements ReadonlySet<string> {
  private readonly names = new Set<string>();
  private changes = 0;

  /** Grows with every change of the names. */
  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.names.size;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** False when `name` was a member already. */
  add(name: string): boolean {
    if (this.names.has(name)) return false;
    this.names.add(name);
    this.changes++;
    return true;
  }

  /** False when `name` was not a member. */
  delete(name: string): boolean {
    if (!this.names.delete(name)) return false;
    this.changes++;
    return true;
  }

  [Symbol.iterator](): SetIterator<string> {
    return this.names[Symbol.iterator]();
  }

  keys(): SetIterator<string> {
    return this.names.keys();
  }

  values(): SetIterator<string> {
    return this.names.values();
  }

  entries(): SetIterator<[string, string]> {
    return this.names.entries();
  }

  forEach(callback: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const name of this.names) callback.call(thisArg, name, name, this);
  }
}

/**
 * One value derived from each `MemberSet` (the sessions of a channel's members, the servers its
 * remote members are on), kept and computed again only after the set changed, or after `clear`,
 * called when anything else the values depend on changed. Any other collection of names is
 * derived from at every call.
 */
export class DerivedFromMembers<T> {
  private kept = new WeakMap<MemberSet, { readonly version: number; readonly value: T }>();

  constructor(private readonly derive: (members: Iterable<string>) => T) {}

  of(members: Iterable<string>): T {
    if (!(members instanceof MemberSet)) return this.derive(members);
    const kept = this.kept.get(members);
    if (kept?.version === members.version) return kept.value;
    const value = this.derive(members);
    this.kept.set(members, { version: members.version, value });
    return value;
  }

  /** Forgets every value kept, at once: none holds on to what it was derived from. */
  clear(): void {
    this.kept = new WeakMap();
  }
}
