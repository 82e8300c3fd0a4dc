/** A PGlite whose file system is full: creating or opening a database throws what PGlite's does. */
export class PGlite {
  static readonly defaultStartParams: string[] = [];

  static create(): Promise<never> {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what PGlite's file system rejects with
    return Promise.reject({ name: 'ErrnoError', errno: 51 });
  }
}
