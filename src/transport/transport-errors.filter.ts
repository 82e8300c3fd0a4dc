import { Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Hands every handler error to the line transport unchanged. Nest's default filter would log it
 * without the connection and replace it with a generic object; the transport instead logs it
 * with the connection id and the verb and answers with the command's failure reply.
 */
@Catch()
export class TransportErrorsFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
