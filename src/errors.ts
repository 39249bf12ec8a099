// Errors a user can cause: a stable code, a message that names the file/key/line, and a hint
// saying what to do. Bugs stay ordinary exceptions. Any room may import this file. Codes, their
// exit statuses and default hints live in src/error-codes.ts (docs/ERRORS.md).
import { defaultHint, type ErrorCode } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

export interface ExpErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra structured detail (file, key, line...) for --json output. */
  detail?: Record<string, unknown>;
}

export class ExpError extends Error {
  readonly code: ErrorCode;
  /** The thrower's hint, else the catalogue's default hint for the code. */
  readonly hint?: string;
  readonly detail?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ExpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ExpError';
    this.code = code;
    this.hint = options.hint ?? defaultHint(code);
    this.detail = options.detail;
  }

  /** `✖ message` then `→ hint`, as printed by the CLI. */
  format(): string {
    return `✖ [${this.code}] ${this.message}${this.hint ? `\n  → ${this.hint}` : ''}`;
  }
}

export function isExpError(e: unknown): e is ExpError {
  return (
    e instanceof ExpError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: string }).name === 'ExpError' &&
      typeof (e as { code?: unknown }).code === 'string')
  );
}
