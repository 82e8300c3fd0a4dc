import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Which side a proof comes from: `confirm` is the accepting server's, `auth` the dialing server's. */
export type ProofRole = 'confirm' | 'auth';

/** Everything both sides said in a handshake; a proof covers all of it (docs/PROTOCOL.md §6.2). */
export interface HandshakeTranscript {
  /** The hostname the dialing server announced in FEDERATE-OUT. */
  readonly dialer: string;
  /** The hostname the accepting server announced in FEDERATE-CONFIRM. */
  readonly acceptor: string;
  readonly dialerNonce: string;
  readonly acceptorNonce: string;
  /** The `caps` the dialer offered and the ones the acceptor agreed, as written on the wire. */
  readonly offered: string;
  readonly agreed: string;
}

/** 128 random bits, as 32 lowercase hex digits. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export const NONCE = /^[0-9a-f]{32,128}$/;
export const PROOF = /^[0-9a-f]{64}$/;

/**
 * HMAC-SHA256 over the role and the transcript. The role keeps one side's proof from being
 * reflected as the other's; the fresh nonce of each side keeps a recorded handshake from being
 * replayed; the hostnames and capabilities keep a proof from being moved to another pair of
 * servers or a downgraded offer.
 */
export function proofOf(secret: string, role: ProofRole, transcript: HandshakeTranscript): string {
  const { dialer, acceptor, dialerNonce, acceptorNonce, offered, agreed } = transcript;
  return createHmac('sha256', secret)
    .update(['chat-link-v1', role, dialer, acceptor, dialerNonce, acceptorNonce, offered, agreed].join('\n'))
    .digest('hex');
}

/** Compares in constant time, so a guess learns nothing from how long the check took. */
export function proves(secret: string, role: ProofRole, transcript: HandshakeTranscript, proof: string): boolean {
  if (!PROOF.test(proof)) return false;
  return timingSafeEqual(Buffer.from(proofOf(secret, role, transcript), 'hex'), Buffer.from(proof, 'hex'));
}
