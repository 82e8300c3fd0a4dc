import { styleText } from 'node:util';

type Format = Parameters<typeof styleText>[0];

/** Terminal styling that becomes plain text when the terminal has no colours. */
export class Style {
  constructor(readonly colors: boolean) {}

  /** Colours when the stream is a colour terminal and NO_COLOR is not set. */
  static for(stream: NodeJS.WritableStream & { hasColors?: () => boolean; isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
    const colors = !env.NO_COLOR && stream.isTTY === true && typeof stream.hasColors === 'function' && stream.hasColors();
    return new Style(colors);
  }

  private apply(format: Format, text: string): string {
    // This object alone decides: styleText would otherwise look at process.stdout itself.
    return this.colors ? styleText(format, text, { validateStream: false }) : text;
  }

  time(text: string): string {
    return this.apply('gray', text);
  }

  channel(text: string): string {
    return this.apply('cyan', text);
  }

  user(text: string): string {
    return this.apply('bold', text);
  }

  host(text: string): string {
    return this.apply('gray', text);
  }

  ok(text: string): string {
    return this.apply('green', text);
  }

  failure(text: string): string {
    return this.apply('red', text);
  }

  notice(text: string): string {
    return this.apply('yellow', text);
  }
}
