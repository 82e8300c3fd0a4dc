import { BaseRpcContext } from '@nestjs/microservices';
import { Session } from './session';

type LineContextArgs = [Session];

/** The context every line-protocol handler receives: the client session that sent the command. */
export class LineContext extends BaseRpcContext<LineContextArgs> {
  constructor(args: LineContextArgs) {
    super(args);
  }

  getSession(): Session {
    return this.args[0];
  }
}
