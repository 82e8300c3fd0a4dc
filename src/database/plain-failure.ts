/** System error codes in plain words, for codes that reach a start-up message. */
const WORDS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENOMEM: 'out of memory',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument',
  EADDRINUSE: 'address already in use',
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'timed out',
};

/** Emscripten's errno numbers (PGlite's file system), which differ from the host's. */
const EMSCRIPTEN_ERRNO: Readonly<Record<number, string>> = {
  2: 'EACCES',
  19: 'EDQUOT',
  20: 'EEXIST',
  22: 'EFBIG',
  28: 'EINVAL',
  29: 'EIO',
  31: 'EISDIR',
  33: 'EMFILE',
  41: 'ENFILE',
  44: 'ENOENT',
  48: 'ENOMEM',
  51: 'ENOSPC',
  54: 'ENOTDIR',
  63: 'EPERM',
  69: 'EROFS',
};

/** Codes that mean the files could be read but not written. */
const WRITE_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG']);

type Fields = Readonly<Record<string, unknown>>;

/**
 * Any thrown value as one line that names its cause: an Error's message with its causes, a
 * system or Emscripten error code in words, a string as it is, an object by its fields. Never
 * `[object Object]`.
 */
export function plainFailure(value: unknown): string {
  return describe(value, new Set()).replace(/\s*\n\s*/g, '; ');
}

/** The system error code a thrown value carries (`ENOSPC`), if any; Emscripten's numbers included. */
export function errorCodeOf(value: unknown): string | undefined {
  for (let depth = 0; typeof value === 'object' && value !== null && depth < 10; depth++) {
    const code = ownCode(value as Fields);
    if (code !== undefined) return code;
    value = (value as Fields).cause;
  }
  return undefined;
}

function ownCode(value: Fields): string | undefined {
  const { code, errno, name } = value;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  if (typeof errno === 'number' && (name === 'ErrnoError' || !(value instanceof Error))) return EMSCRIPTEN_ERRNO[errno];
  return undefined;
}

/** Whether a failure is the disk refusing a write: full, over quota, read-only. */
export function isWriteFailure(value: unknown): boolean {
  const code = errorCodeOf(value);
  return code !== undefined && WRITE_FAILURES.has(code);
}

function describe(value: unknown, seen: Set<unknown>): string {
  if (typeof value === 'string') return value.trim() || 'an empty message';
  if (value === undefined || value === null) return 'an unknown failure';
  if (typeof value === 'function') return `a function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value !== 'object') return `${value as number | boolean | bigint}`;
  if (seen.has(value)) return '';
  seen.add(value);
  const own = ownMessage(value as Fields, seen);
  const cause = (value as Fields).cause;
  if (cause === undefined || quotes(own, cause)) return own;
  const inner = describe(cause, seen);
  return inner === '' || own.includes(inner) ? own : `${own}: ${inner}`;
}

/** A message that already quotes its cause's message says what the cause would add. */
function quotes(message: string, cause: unknown): boolean {
  if (typeof cause === 'string') return message.includes(cause.trim());
  if (typeof cause !== 'object' || cause === null) return false;
  const inner = (cause as Fields).message;
  return typeof inner === 'string' && inner.trim() !== '' && message.includes(inner.trim());
}

/** What the value says of itself, with its code in words when the message does not already give it. */
function ownMessage(value: Fields, seen: Set<unknown>): string {
  const code = ownCode(value);
  const message = typeof value.message === 'string' ? value.message.trim() : '';
  if (value instanceof AggregateError && message === '') {
    const inner = value.errors.map((error) => describe(error, seen)).filter((text) => text !== '');
    if (inner.length > 0) return [...new Set(inner)].join('; ');
  }
  if (code !== undefined) {
    if (message === '') return WORDS[code] ? `${WORDS[code]} (${code})` : code;
    return message.includes(code) ? message : `${message} (${code})`;
  }
  if (message !== '') return message;
  if (value instanceof Error) return value.name;
  return fieldsOf(value);
}

/** A plain object with no message: its name, or its fields as JSON, so the reader sees what it held. */
function fieldsOf(value: Fields): string {
  const name = typeof value.name === 'string' && value.name !== '' && value.name !== 'Object' ? value.name : undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const fields = json === undefined || json === '{}' ? undefined : json;
  if (name && fields) return `${name} ${fields}`;
  return name ?? fields ?? `an object of type ${(value as object).constructor?.name ?? 'unknown'} with no message`;
}
