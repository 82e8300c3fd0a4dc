import { Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { ConfiguredPeers } from '../../src/modules/federation/configured-peers';
import { agreedCaps, parseHandshakeWords } from '../../src/modules/federation/handshake-words';
import { LinkHandshake } from '../../src/modules/federation/link-handshake';
import { HandshakeTranscript, newNonce, NONCE, proofOf, proves } from '../../src/modules/federation/link-proof';
import { Session } from '../../src/transport/session';

const transcript: HandshakeTranscript = {
  dialer: 'a.example',
  acceptor: 'b.example',
  dialerNonce: '0'.repeat(32),
  acceptorNonce: '1'.repeat(32),
  offered: 'cast',
  agreed: 'cast',
};

describe('the handshake words (docs/PROTOCOL.md §6.2)', () => {
  test('a plain line is its hostname alone, or nothing', () => {
    expect(parseHandshakeWords('server1.com')).toMatchObject({ hostname: 'server1.com', extended: false, caps: [] });
    expect(parseHandshakeWords('')).toMatchObject({ hostname: '', extended: false });
  });

  test('the extension words follow the hostname; unknown keys are ignored', () => {
    expect(parseHandshakeWords('a.example ext=1 caps=cast,future nonce=abc proof=def later=2')).toEqual({
      hostname: 'a.example',
      extended: true,
      caps: ['cast', 'future'],
      capsText: 'cast,future',
      nonce: 'abc',
      proof: 'def',
    });
  });

  test.each([['a,b'], ['x'.repeat(256)], ['bell\u0007'], ['a.example ext=1 ext=1']])('%j is refused', (text) => {
    expect(parseHandshakeWords(text)).toBeUndefined();
  });

  test('only capabilities both sides offer are agreed', () => {
    expect(agreedCaps(['future', 'cast'])).toBe('cast');
    expect(agreedCaps(['future'])).toBe('');
  });
});

describe('the proof', () => {
  test('is HMAC-SHA256 of the role and the transcript, one field a line', () => {
    const expected = createHmac('sha256', 'secret-secret-secret')
      .update('chat-link-v1\nconfirm\na.example\nb.example\n' + '0'.repeat(32) + '\n' + '1'.repeat(32) + '\ncast\ncast')
      .digest('hex');
    expect(proofOf('secret-secret-secret', 'confirm', transcript)).toBe(expected);
  });

  test('does not hold for the other role, another secret, another nonce or another capability list', () => {
    const proof = proofOf('secret-secret-secret', 'confirm', transcript);
    expect(proves('secret-secret-secret', 'confirm', transcript, proof)).toBe(true);
    expect(proves('secret-secret-secret', 'auth', transcript, proof)).toBe(false);
    expect(proves('secret-secret-secreT', 'confirm', transcript, proof)).toBe(false);
    expect(proves('secret-secret-secret', 'confirm', { ...transcript, acceptorNonce: '2'.repeat(32) }, proof)).toBe(false);
    expect(proves('secret-secret-secret', 'confirm', { ...transcript, agreed: '' }, proof)).toBe(false);
    expect(proves('secret-secret-secret', 'confirm', transcript, 'not hex')).toBe(false);
  });

  test('nonces are fresh 128-bit hex', () => {
    const [first, second] = [newNonce(), newNonce()];
    expect(first).toMatch(NONCE);
    expect(first).not.toBe(second);
  });
});

describe('FEDERATE-OUT from a client that may not link', () => {
  test('a flood is logged once, then summed up when the connection closes; the connection stays a client', () => {
    const warnings: string[] = [];
    const log = { warn: (message: string) => warnings.push(message) } as unknown as Logger;
    const peers = { mayConnect: () => false } as unknown as ConfiguredPeers;
    const handshake = new LinkHandshake(peers, 'server1.com', log, () => undefined);
    let closed = 0;
    const session = {
      id: 'c7',
      remoteAddress: '203.0.113.9',
      role: 'client',
      close: () => closed++,
    } as unknown as Session;
    for (let i = 0; i < 500; i++) expect(handshake.accept(session, 'evil.example')).toBeUndefined();
    expect(warnings).toEqual(['c7 refused a federation handshake from 203.0.113.9: not an allowed peer']);
    expect(closed).toBe(0);
    handshake.forget(session);
    expect(warnings).toEqual([
      'c7 refused a federation handshake from 203.0.113.9: not an allowed peer',
      'c7 refused 499 more FEDERATE-OUT from 203.0.113.9 before it closed',
    ]);
  });
});
