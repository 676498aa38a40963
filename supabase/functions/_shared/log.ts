/** Structured logging: one JSON line per request or event, nothing secret in it. */

/** Fields of one log line. Values are plain data; never put secrets or tokens here. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where log lines go; tests capture them. */
export type LogSink = (line: string) => void;

/** Writes structured log lines. */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Creates a logger that writes one JSON object per line to `sink` (the console by default). */
export function createLogger(sink: LogSink = (line) => console.log(line)): Logger {
  const write = (level: string, message: string, fields: LogFields = {}) => {
    sink(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  };
  return {
    info: (message, fields) => write("info", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}

const SECRET_PATTERNS = [
  /\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]+/g,
  /\bwhsec_[A-Za-z0-9+/=]+/g,
  /\bsb_(?:secret|publishable)_[A-Za-z0-9_-]+/g,
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
];
const CONNECTION_PASSWORD = /(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g;

/** Masks anything shaped like a key, token or connection password in a message. */
export function redact(text: string): string {
  let result = text.replace(CONNECTION_PASSWORD, "$1[redacted]@");
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, "[redacted]");
  return result;
}

/** Describes an unexpected error for the log: its kind, a redacted message and cause chain. */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: redact(String(error)) };
  const fields: LogFields = { error: redact(`${error.name}: ${error.message}`) };
  const extra = error as Error & { code?: unknown; type?: unknown; requestId?: unknown };
  if (typeof extra.code === "string") fields.errorCode = extra.code;
  if (typeof extra.type === "string") fields.errorType = extra.type;
  if (typeof extra.requestId === "string") fields.stripeRequestId = extra.requestId;
  if (error.cause !== undefined) {
    fields.cause = redact(error.cause instanceof Error ? error.cause.message : String(error.cause));
  }
  if (error.stack) fields.stack = redact(error.stack.split("\n").slice(1, 6).join(" | ").trim());
  return fields;
}
