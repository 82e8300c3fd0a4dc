import { PGlite as Real } from '@electric-sql/pglite';

/**
 * The real PGlite, except that the statement `SELECT 'crash'` ends the thread as an abort inside
 * PostgreSQL would, and `SELECT 'fail'` fails with PostgreSQL's fields.
 */
export class PGlite {
  static readonly defaultStartParams = Real.defaultStartParams;

  static async create(folder: string, options: object): Promise<PGlite> {
    return new PGlite(await Real.create(folder, options));
  }

  private constructor(private readonly real: Real) {}

  query(text: string, params: unknown[]): ReturnType<Real['query']> {
    return this.real.query(text, params);
  }

  exec(text: string): ReturnType<Real['exec']> {
    if (text === "SELECT 'crash'") process.exit(3);
    if (text === "SELECT 'fail'") {
      return Promise.reject(
        Object.assign(new Error('duplicate key value violates unique constraint "users_pkey"'), {
          code: '23505',
          constraint: 'users_pkey',
          severity: 'ERROR',
        }),
      );
    }
    return this.real.exec(text);
  }

  close(): Promise<void> {
    return this.real.close();
  }
}
