/**
 * An expected refusal raised before or inside a handler (for instance "not logged in"). The
 * transport answers it with the command's failure reply and does not log it as an error.
 */
export class Refusal extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Refusal';
  }
}
