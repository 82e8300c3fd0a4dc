import { DomainEvents } from '../../src/domain/domain-events';

interface Events {
  posted: { readonly message: string };
  joined: { readonly member: string };
}

describe('DomainEvents', () => {
  it('hands an event to every listener of its name, in the order they subscribed', () => {
    const events = new DomainEvents<Events>();
    const heard: string[] = [];
    events.on('posted', ({ message }) => heard.push(`first ${message}`));
    events.on('posted', ({ message }) => heard.push(`second ${message}`));
    events.emit('posted', { message: 'hi' });
    expect(heard).toEqual(['first hi', 'second hi']);
  });

  it('runs the listeners before emit returns', () => {
    const events = new DomainEvents<Events>();
    let heard = false;
    events.on('joined', () => (heard = true));
    events.emit('joined', { member: 'bob' });
    expect(heard).toBe(true);
  });

  it('does not hand an event to the listeners of another name', () => {
    const events = new DomainEvents<Events>();
    const listener = jest.fn();
    events.on('joined', listener);
    events.emit('posted', { message: 'hi' });
    expect(listener).not.toHaveBeenCalled();
  });

  it('lets a listener’s error reach the emitter', () => {
    const events = new DomainEvents<Events>();
    events.on('posted', () => {
      throw new Error('listener failed');
    });
    expect(() => events.emit('posted', { message: 'hi' })).toThrow('listener failed');
  });
});
