/** A configuration problem that stops the server at start: one line naming the source, the key and the problem. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
