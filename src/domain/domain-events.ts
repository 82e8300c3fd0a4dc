type Listener<Event> = (event: Event) => void;

/**
 * Typed publish/subscribe between modules: the module that owns the events emits them, others
 * subscribe without the emitter knowing them. Listeners run synchronously, in the order they
 * subscribed, so the lines they send leave in the same turn as the emitter's own; a listener that
 * throws fails the emitter's command, as a direct call would.
 */
export class DomainEvents<Events extends object> {
  private readonly listeners: { [Name in keyof Events]?: Listener<Events[Name]>[] } = {};

  on<Name extends keyof Events>(name: Name, listener: Listener<Events[Name]>): void {
    (this.listeners[name] ??= []).push(listener);
  }

  emit<Name extends keyof Events>(name: Name, event: Events[Name]): void {
    const listeners = this.listeners[name];
    if (listeners) for (const listener of listeners) listener(event);
  }
}
