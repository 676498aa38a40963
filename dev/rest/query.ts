/**
 * PostgREST's read syntax, the part supabase-js's `from(...).select(...)` sends: `select=` (a
 * list of columns, or `*`), filters `column=op.value` (`eq`, `neq`, `gt`, `gte`, `lt`, `lte`,
 * `is`, `in`), `order=column.asc|desc[.nullsfirst|.nullslast]`, `limit=` and `offset=`. Column
 * names are checked against the table's columns as the database lists them; nothing a request
 * says reaches SQL as an identifier otherwise. Anything else is refused as PostgREST does.
 */
import { RestError } from "./errors.ts";

/** A column the stand-in may name in SQL: its name and type, both from the catalog. */
export interface Column {
  name: string;
  /** `format_type` of the column, e.g. `uuid`, `text[]`, `timestamp with time zone`. */
  type: string;
}

/** Comparison operators and their SQL. */
const OPERATORS = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;
type Operator = keyof typeof OPERATORS;

/** One filter of a read. */
export type Filter =
  | { column: Column; op: Operator; value: string }
  | { column: Column; op: "is"; value: IsValue }
  | { column: Column; op: "in"; values: string[] };

/** One ordering term. */
export interface Order {
  column: Column;
  descending: boolean;
  nulls: "first" | "last" | undefined;
}

/** A parsed read of one table. */
export interface ReadQuery {
  table: string;
  columns: Column[];
  filters: Filter[];
  order: Order[];
  limit: number | undefined;
  offset: number | undefined;
}

/** Parameters that are not filters; `apikey` is the gateway's. */
const RESERVED = new Set(["select", "order", "limit", "offset", "apikey", "columns"]);
const UNSUPPORTED = new Set(["or", "and", "not.or", "not.and", "on_conflict"]);

function parseError(what: string, details: string): RestError {
  return new RestError(400, "PGRST100", `"failed to parse ${what}"`, details);
}

function columnOf(table: string, columns: Map<string, Column>, name: string): Column {
  const column = columns.get(name);
  if (column === undefined) {
    throw new RestError(400, "42703", `column ${table}.${name} does not exist`);
  }
  return column;
}

function parseSelect(table: string, columns: Map<string, Column>, value: string | null) {
  if (value === null || value.trim() === "" || value.trim() === "*") return [...columns.values()];
  return value.split(",").map((entry) => {
    const name = entry.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw parseError(
        `select (${value})`,
        "the local REST stand-in reads plain columns only (no aliases, casts, JSON paths or embeds)",
      );
    }
    return columnOf(table, columns, name);
  });
}

/** Splits `in.(a,b,"c,d")`'s list, with PostgREST's double quotes and backslash escapes. */
function parseList(text: string, param: string): string[] {
  if (!text.startsWith("(") || !text.endsWith(")")) {
    throw parseError(`filter (${param})`, 'expected a list such as "in.(a,b)"');
  }
  const inner = text.slice(1, -1);
  const values: string[] = [];
  let current = "";
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i] ?? "";
    if (quoted) {
      if (char === "\\" && i + 1 < inner.length) current += inner[++i] ?? "";
      else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (char === ",") {
      values.push(wasQuoted ? current : current.trim());
      current = "";
      wasQuoted = false;
    } else {
      current += char;
    }
  }
  if (quoted) throw parseError(`filter (${param})`, "unterminated double quote");
  if (inner !== "") values.push(wasQuoted ? current : current.trim());
  return values;
}

const IS_VALUES = ["null", "true", "false", "unknown"] as const;
type IsValue = typeof IS_VALUES[number];

function isOperator(op: string): op is Operator {
  return Object.hasOwn(OPERATORS, op);
}

function isIsValue(value: string): value is IsValue {
  return (IS_VALUES as readonly string[]).includes(value);
}

function parseFilter(
  table: string,
  columns: Map<string, Column>,
  name: string,
  raw: string,
): Filter {
  const column = columnOf(table, columns, name);
  const dot = raw.indexOf(".");
  const op = dot < 0 ? raw : raw.slice(0, dot);
  const value = dot < 0 ? "" : raw.slice(dot + 1);
  if (dot < 0) throw parseError(`filter (${raw})`, "expected an operator, e.g. eq.value");
  if (isOperator(op)) return { column, op, value };
  if (op === "is") {
    const wanted = value.toLowerCase();
    if (!isIsValue(wanted)) {
      throw parseError(
        `filter (${raw})`,
        'expected "is.null", "is.true", "is.false" or "is.unknown"',
      );
    }
    return { column, op: "is", value: wanted };
  }
  if (op === "in") return { column, op: "in", values: parseList(value, raw) };
  throw parseError(
    `filter (${raw})`,
    `the local REST stand-in supports ${[...Object.keys(OPERATORS), "is", "in"].join(", ")}`,
  );
}

function parseOrder(table: string, columns: Map<string, Column>, value: string): Order[] {
  return value.split(",").map((term) => {
    const [name = "", ...modifiers] = term.trim().split(".");
    const order: Order = {
      column: columnOf(table, columns, name),
      descending: false,
      nulls: undefined,
    };
    for (const modifier of modifiers) {
      if (modifier === "asc") order.descending = false;
      else if (modifier === "desc") order.descending = true;
      else if (modifier === "nullsfirst") order.nulls = "first";
      else if (modifier === "nullslast") order.nulls = "last";
      else throw parseError(`order (${value})`, `unknown ordering "${modifier}"`);
    }
    return order;
  });
}

function parseCount(name: string, value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw parseError(`${name} (${value})`, "expected a whole number");
  return Number(value);
}

/** Parses a read of `table`, whose columns the catalog lists as `columns`. */
export function parseReadQuery(
  table: string,
  columns: Map<string, Column>,
  params: URLSearchParams,
): ReadQuery {
  const filters: Filter[] = [];
  for (const [name, value] of params) {
    if (RESERVED.has(name)) continue;
    if (UNSUPPORTED.has(name)) {
      throw parseError(`logic tree (${name})`, "the local REST stand-in has no or/and filters");
    }
    filters.push(parseFilter(table, columns, name, value));
  }
  const order = params.get("order");
  return {
    table,
    columns: parseSelect(table, columns, params.get("select")),
    filters,
    order: order === null || order === "" ? [] : parseOrder(table, columns, order),
    limit: parseCount("limit", params.get("limit")),
    offset: parseCount("offset", params.get("offset")),
  };
}

/** `"name"`, for a name the catalog gave. */
function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** SQL text and its parameters. */
export interface Statement {
  text: string;
  params: string[];
}

/**
 * The statement PostgREST would run: the rows as one JSON array (Postgres's own JSON, as
 * PostgREST returns it), how many there are, and, when `withTotal`, how many match in all.
 * Values travel as parameters, cast to their column's type.
 */
export function toStatement(query: ReadQuery, withTotal: boolean): Statement {
  const params: string[] = [];
  const param = (value: string, type: string) => {
    params.push(value);
    return `$${params.length}::text::${type}`;
  };
  const conditions = query.filters.map((filter) => {
    const column = identifier(filter.column.name);
    if (filter.op === "is") return `${column} is ${filter.value}`;
    if (filter.op === "in") {
      params.push(JSON.stringify(filter.values));
      return `${column} = any(array(select jsonb_array_elements_text($${params.length}::text::jsonb))::${filter.column.type}[])`;
    }
    return `${column} ${OPERATORS[filter.op]} ${param(filter.value, filter.column.type)}`;
  });
  const where = conditions.length > 0 ? ` where ${conditions.join(" and ")}` : "";
  const orderBy = query.order.length > 0
    ? ` order by ${
      query.order.map((term) =>
        `${identifier(term.column.name)} ${term.descending ? "desc" : "asc"}${
          term.nulls ? ` nulls ${term.nulls}` : ""
        }`
      ).join(", ")
    }`
    : "";
  const limit = query.limit === undefined ? "" : ` limit ${query.limit}`;
  const offset = query.offset === undefined ? "" : ` offset ${query.offset}`;
  const from = `public.${identifier(query.table)}`;
  const selected = query.columns.map((column) => identifier(column.name)).join(", ");
  const total = withTotal ? `(select count(*) from ${from}${where})` : "null";
  return {
    text: `select coalesce(json_agg(rows), '[]')::text as body, count(rows)::int as found,
      ${total}::bigint as total
      from (select ${selected} from ${from}${where}${orderBy}${limit}${offset}) as rows`,
    params,
  };
}
