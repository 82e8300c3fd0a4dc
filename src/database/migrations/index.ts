import { InitialSchema1795693295484 } from './1795693295484-InitialSchema';

/** Every migration, oldest first. `npm run migration:generate` writes a new file; list it here. */
export const MIGRATIONS = [InitialSchema1795693295484];
