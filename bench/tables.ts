/** What a measurement returns: plain rows in titled tables, which the report renders. */

/** One figure: a number (NaN when not measured), or a text. */
export type Cell = string | number;

/** One row of figures by column key; `label` names the row in the report's target summary. */
export type Row = Record<string, Cell> & { label: string };

/** A column of a table: the row key it shows and its header. */
export interface Column {
  key: string;
  header: string;
}

/** A measurement's table: figures and the notes that say what they are. */
export interface Table {
  /** What targets refer to (targets.ts). */
  id: string;
  title: string;
  columns: Column[];
  rows: Row[];
  notes: string[];
}

/** Columns from `[key, header]` pairs. */
export function columns(...pairs: [string, string][]): Column[] {
  return pairs.map(([key, header]) => ({ key, header }));
}
