/** Injection token: federation's `SharedLinks` on an instance of a cluster, `null` for a server alone. */
export const SHARED_LINKS = Symbol('SharedLinks');
