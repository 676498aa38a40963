/** Reads `supabase/functions/.env`, the file `supabase functions serve` reads too. */

const DOTENV_PATH = new URL("../supabase/functions/.env", import.meta.url).pathname;

/** Parses dotenv text: `KEY=value`, optional `export`, quotes, `#` comments. */
export function parseDotenv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, key = "", rest = ""] = match;
    let value = rest.trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replaceAll("\\n", "\n");
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    values.set(key, value);
  }
  return values;
}

/** Reads a dotenv file; empty when it does not exist. */
export async function readDotenv(path: string): Promise<Map<string, string>> {
  try {
    return parseDotenv(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Map();
    throw error;
  }
}

/**
 * The variables `deno task dev` runs with: `supabase/functions/.env`, overridden by the
 * process's environment. `deno task token` reads the same, to find the server's `PORT`.
 */
export async function readDevEnv(): Promise<Map<string, string>> {
  const env = await readDotenv(DOTENV_PATH);
  for (const [name, value] of Object.entries(Deno.env.toObject())) env.set(name, value);
  return env;
}
