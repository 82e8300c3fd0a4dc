import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { LineContext } from './line-context';
import { Refusal } from './refusal';

/** Lets a command through only on a logged-in connection; otherwise it gets its failure reply. */
@Injectable()
export class LoggedInGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.switchToRpc().getContext<LineContext>().getSession().user === undefined) {
      throw new Refusal('not logged in');
    }
    return true;
  }
}
