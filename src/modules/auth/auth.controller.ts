import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Command, resultOf, Verb } from '../../transport/command';
import { LineContext } from '../../transport/line-context';
import { Reply } from '../../transport/replies';
import { AuthService } from './auth.service';

type Credentials = Command<{ user: string; password: string }>;

@Controller()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  // REGISTER <user> <password>; completable: a REGISTER cut in two by the idle flush gets its whole password.
  @Verb('REGISTER', { fields: ['user', 'password'], completable: true, bounded: true })
  async register(@Payload() command: Credentials, @Ctx() context: LineContext): Promise<Reply | undefined> {
    const { user, password } = command.args;
    if (command.completes) {
      await this.auth.completeRegistration(context.getSession(), user, password);
      return undefined;
    }
    return resultOf(command, await this.auth.register(context.getSession(), user, password));
  }

  // LOGIN <user> <password>
  @Verb('LOGIN', { fields: ['user', 'password'], bounded: true })
  async login(@Payload() command: Credentials, @Ctx() context: LineContext): Promise<Reply> {
    const { user, password } = command.args;
    return resultOf(command, await this.auth.login(context.getSession(), user, password));
  }
}
