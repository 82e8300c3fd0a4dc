import { ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Observable, throwError } from 'rxjs';

/**
 * Hands every line-protocol handler error to the transport unchanged. Nest's default filter would
 * log it without the connection and replace it with a generic object; the transport instead logs
 * it with the connection id and the verb and answers with the command's failure reply. HTTP
 * requests (health and metrics) keep Nest's usual error responses.
 */
@Catch()
export class TransportErrorsFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    super.catch(exception, host);
  }
}
