import { Settings } from '../../src/config/settings';
import { ChannelEvents } from '../../src/modules/channels/channel-events';
import { ChannelsService } from '../../src/modules/channels/channels.service';
import { RemoteChannels } from '../../src/modules/channels/remote-channels';
import { Federation } from '../../src/modules/federation/federation.service';
import { PeerLinks } from '../../src/modules/federation/peer-links';
import { LocalPresence } from '../../src/modules/presence/presence';
import { serialize } from '../../src/transport/replies';
import { Session } from '../../src/transport/session';

describe('Federation as a consumer of the channels’ events', () => {
  let events: ChannelEvents;
  let plugged: RemoteChannels | undefined;
  let lines: string[];
  let link: Session;

  beforeEach(() => {
    lines = [];
    link = {
      id: 'd1',
      remoteAddress: '127.0.0.1',
      role: 'link',
      peer: 'server2.com',
      send: (reply) => void lines.push(serialize(reply)),
      close: () => undefined,
      awaitSettled: () => undefined,
    };
    const links = {
      hostname: 'server1.com',
      linkTo: (host: string) => (host === 'server2.com' ? link : undefined),
      relayLinkTo: (host: string) => (host === 'server2.com' ? link : undefined),
      liveLinks: () => [link],
      relayLinks: () => [link],
      listen: () => undefined,
    } as unknown as PeerLinks;
    const channels = {
      useRemoteChannels: (remote: RemoteChannels) => (plugged = remote),
      localNames: () => ['alpha'],
    } as unknown as ChannelsService;
    events = new ChannelEvents();
    const settings = { hostname: 'server1.com', federation: { requestTimeoutMs: 1000 } } as Settings;
    const federation = new Federation(links, new LocalPresence(), settings, channels, events, null);
    void federation.onModuleInit();
  });

  it('plugs itself into the channels module as its remote channels', () => {
    expect(plugged).toBeInstanceOf(Federation);
  });

  it('announces a created channel to every peer with FEDNEW', () => {
    events.emit('channelCreated', { channel: 'beta' });
    expect(lines).toEqual(['FEDNEW beta\n']);
  });

  it('sends a posted message to each member of another server with FEDRECV, and nothing for local members', () => {
    const members = new Set(['bob', 'ann@server2.com', 'cid@server3.com', 'dan@server2.com']);
    events.emit('messagePosted', { channel: 'alpha', from: 'bob', message: 'hi  all', members });
    expect(lines).toEqual([
      'FEDRECV ann bob@server1.com alpha:server1.com hi  all\n',
      'FEDRECV dan bob@server1.com alpha:server1.com hi  all\n',
    ]);
  });

  it('writes a sender of the member’s own server bare', () => {
    events.emit('messagePosted', {
      channel: 'alpha',
      from: 'ann@server2.com',
      message: 'hi',
      members: new Set(['dan@server2.com']),
    });
    expect(lines).toEqual(['FEDRECV dan ann alpha:server1.com hi\n']);
  });

  it('sends one FEDCAST for every member of a server whose link negotiated cast', () => {
    link.features = new Set(['cast']);
    const members = new Set(['bob', 'ann@server2.com', 'cid@server3.com', 'dan@server2.com']);
    events.emit('messagePosted', { channel: 'alpha', from: 'ann@server2.com', message: 'hi  all', members });
    expect(lines).toEqual(['FEDCAST ann alpha:server1.com hi  all\n']);
  });
});
