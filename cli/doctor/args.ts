/** The doctor's command line. */

/** What the command line asks for. */
export interface DoctorOptions {
  help: boolean;
  fix: boolean;
  /** The project URL, without a trailing slash. */
  url: string | undefined;
  /** A dotenv file read in place of `supabase/functions/.env`. */
  envFile: string | undefined;
}

/** A command line the doctor cannot run with (exit code 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The usage text of `deno task doctor`. */
export const USAGE = `Usage: deno task doctor [--fix] [--url <project URL>] [--env-file <path>]

Checks a set-up against Stripe and the database with the functions' variables (the environment,
then supabase/functions/.env) and prints one line per check: ✓ passed, ✗ failed (with what to run),
- could not run because a check above failed.
  --fix              create the Stripe webhook endpoint, or enable it and add the event types it
                     misses; a new endpoint's signing secret is printed once, to set
  --url <URL>        the project URL, https://<ref>.supabase.co (default: SUPABASE_URL)
  --env-file <path>  read this dotenv file instead of supabase/functions/.env
Exit codes: 0 every check passes, 1 a check fails, 2 usage error.`;

function projectUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url "${value}" is not a URL`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash) {
    throw new UsageError(`--url "${value}" is not a project URL such as https://<ref>.supabase.co`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Reads the arguments; throws a {@link UsageError} for anything it does not know. */
export function parseArgs(args: readonly string[]): DoctorOptions {
  const options: DoctorOptions = { help: false, fix: false, url: undefined, envFile: undefined };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const [flag = "", inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const next = inline ?? args[++i];
      if (next === undefined || next === "") throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "-h":
      case "--help":
        options.help = true;
        break;
      case "--fix":
        if (inline !== undefined) throw new UsageError(`--fix takes no value`);
        options.fix = true;
        break;
      case "--url":
        options.url = projectUrl(value());
        break;
      case "--env-file":
        options.envFile = value();
        break;
      default:
        throw new UsageError(`Unknown argument "${arg}"`);
    }
  }
  return options;
}
