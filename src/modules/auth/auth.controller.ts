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

  // REGISTER <user> <password>
  @Verb('REGISTER', { fields: ['user', 'password'] })
  async register(@Payload() command: Credentials, @Ctx() context: LineContext): Promise<Reply> {
    const { user, password } = command.args;
    return resultOf(command, await this.auth.register(context.getSession(), user, password));
  }

  // LOGIN <user> <password>
  @Verb('LOGIN', { fields: ['user', 'password'] })
  async login(@Payload() command: Credentials, @Ctx() context: LineContext): Promise<Reply> {
    const { user, password } = command.args;
    return resultOf(command, await this.auth.login(context.getSession(), user, password));
  }
}
