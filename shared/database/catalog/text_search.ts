/**
 * Text search objects, written as pg_dump writes them: parsers and templates (their support
 * functions by `regproc` name; creating them takes a superuser, as with pg_dump), dictionaries
 * (template and options), and configurations (parser, then one
 * `ALTER TEXT SEARCH CONFIGURATION … ADD MAPPING FOR <token> WITH <dictionaries>` per token
 * type, in token order). Dictionaries and configurations have owners; all four have comments.
 *
 * @module
 */
import { addComment, addOwner, type ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { PRIORITY, ref } from "./graph.ts";
import type { Quoter } from "./quote.ts";

interface Named {
  oid: string;
  schema: string;
  name: string;
  comment: string | null;
}

/** A text search parser: its support functions as `regproc` text. */
export interface ParserRow extends Named {
  start: string;
  token: string;
  end: string;
  headline: string | null;
  lextypes: string;
}

/** A text search template: its support functions as `regproc` text. */
export interface TemplateRow extends Named {
  init: string | null;
  lexize: string;
}

/** A text search dictionary. */
export interface DictionaryRow extends Named {
  owner: string;
  templateSchema: string;
  templateName: string;
  /** The options as the server keeps them: `stopwords = 'french', accept = 'false'`. */
  options: string | null;
}

/** One dictionary of a configuration's mapping for a token type. */
export interface MappingRow {
  token: string;
  /** As `regdictionary` prints it (qualified unless in pg_catalog). */
  dictionary: string;
}

/** A text search configuration. */
export interface ConfigurationRow extends Named {
  owner: string;
  parserSchema: string;
  parserName: string;
  /** In token type order, then dictionary order. */
  mappings: MappingRow[] | null;
}

/** The rows of {@link queryTextSearch}. */
export interface TextSearchRows {
  parsers: ParserRow[];
  templates: TemplateRow[];
  dictionaries: DictionaryRow[];
  configurations: ConfigurationRow[];
}

/** User text search objects in the given schemas, extension members excluded. */
export async function queryTextSearch(sql: Queryable, schemas: string[]): Promise<TextSearchRows> {
  const [parsers, templates, dictionaries, configurations] = await Promise.all([
    sql<ParserRow[]>`
      select p.oid::text as oid, n.nspname as schema, p.prsname as name,
        p.prsstart::regproc::text as start, p.prstoken::regproc::text as token,
        p.prsend::regproc::text as "end", nullif(p.prsheadline, 0)::regproc::text as headline,
        p.prslextype::regproc::text as lextypes,
        (select ds.description from pg_description ds where ds.objoid = p.oid
          and ds.classoid = 'pg_ts_parser'::regclass and ds.objsubid = 0) as comment
      from pg_ts_parser p join pg_namespace n on n.oid = p.prsnamespace
      where n.nspname = any(${schemas}) and p.oid >= 16384
        and not exists (select from pg_depend d where d.classid = 'pg_ts_parser'::regclass
          and d.objid = p.oid and d.deptype = 'e')
      order by n.nspname, p.prsname`,
    sql<TemplateRow[]>`
      select t.oid::text as oid, n.nspname as schema, t.tmplname as name,
        nullif(t.tmplinit, 0)::regproc::text as init, t.tmpllexize::regproc::text as lexize,
        (select ds.description from pg_description ds where ds.objoid = t.oid
          and ds.classoid = 'pg_ts_template'::regclass and ds.objsubid = 0) as comment
      from pg_ts_template t join pg_namespace n on n.oid = t.tmplnamespace
      where n.nspname = any(${schemas}) and t.oid >= 16384
        and not exists (select from pg_depend d where d.classid = 'pg_ts_template'::regclass
          and d.objid = t.oid and d.deptype = 'e')
      order by n.nspname, t.tmplname`,
    sql<DictionaryRow[]>`
      select d.oid::text as oid, n.nspname as schema, d.dictname as name,
        pg_get_userbyid(d.dictowner) as owner, tn.nspname as "templateSchema",
        t.tmplname as "templateName", d.dictinitoption as options,
        (select ds.description from pg_description ds where ds.objoid = d.oid
          and ds.classoid = 'pg_ts_dict'::regclass and ds.objsubid = 0) as comment
      from pg_ts_dict d join pg_namespace n on n.oid = d.dictnamespace
      join pg_ts_template t on t.oid = d.dicttemplate
      join pg_namespace tn on tn.oid = t.tmplnamespace
      where n.nspname = any(${schemas}) and d.oid >= 16384
        and not exists (select from pg_depend e where e.classid = 'pg_ts_dict'::regclass
          and e.objid = d.oid and e.deptype = 'e')
      order by n.nspname, d.dictname`,
    sql<ConfigurationRow[]>`
      select c.oid::text as oid, n.nspname as schema, c.cfgname as name,
        pg_get_userbyid(c.cfgowner) as owner, pn.nspname as "parserSchema",
        p.prsname as "parserName",
        (select json_agg(json_build_object('token', tt.alias,
            'dictionary', m.mapdict::regdictionary::text) order by m.maptokentype, m.mapseqno)
          from pg_ts_config_map m join ts_token_type(c.cfgparser) tt on tt.tokid = m.maptokentype
          where m.mapcfg = c.oid) as mappings,
        (select ds.description from pg_description ds where ds.objoid = c.oid
          and ds.classoid = 'pg_ts_config'::regclass and ds.objsubid = 0) as comment
      from pg_ts_config c join pg_namespace n on n.oid = c.cfgnamespace
      join pg_ts_parser p on p.oid = c.cfgparser
      join pg_namespace pn on pn.oid = p.prsnamespace
      where n.nspname = any(${schemas}) and c.oid >= 16384
        and not exists (select from pg_depend d where d.classid = 'pg_ts_config'::regclass
          and d.objid = c.oid and d.deptype = 'e')
      order by n.nspname, c.cfgname`,
  ]);
  return { parsers, templates, dictionaries, configurations };
}

/** `CREATE TEXT SEARCH PARSER …;` */
export function parserSql(row: ParserRow, quoter: Quoter): string {
  const lines = [
    `    START = ${row.start},`,
    `    GETTOKEN = ${row.token},`,
    `    END = ${row.end},`,
  ];
  if (row.headline !== null) lines.push(`    HEADLINE = ${row.headline},`);
  lines.push(`    LEXTYPES = ${row.lextypes} );`);
  return `CREATE TEXT SEARCH PARSER ${quoter.qualified(row.schema, row.name)} (\n${
    lines.join("\n")
  }`;
}

/** `CREATE TEXT SEARCH TEMPLATE …;` */
export function templateSql(row: TemplateRow, quoter: Quoter): string {
  const init = row.init === null ? "" : `    INIT = ${row.init},\n`;
  return `CREATE TEXT SEARCH TEMPLATE ${quoter.qualified(row.schema, row.name)} (\n${init}` +
    `    LEXIZE = ${row.lexize} );`;
}

/** `CREATE TEXT SEARCH DICTIONARY …;` with the options as the server keeps them. */
export function dictionarySql(row: DictionaryRow, quoter: Quoter): string {
  const options = row.options === null ? "" : `,\n    ${row.options}`;
  return `CREATE TEXT SEARCH DICTIONARY ${quoter.qualified(row.schema, row.name)} (\n` +
    `    TEMPLATE = ${quoter.qualified(row.templateSchema, row.templateName)}${options} );`;
}

/**
 * `CREATE TEXT SEARCH CONFIGURATION … (PARSER = …);` (a configuration with no mappings), then
 * one `ALTER … ADD MAPPING FOR <token> WITH <dictionaries>` per token type.
 */
export function configurationSql(row: ConfigurationRow, quoter: Quoter): string {
  const qualified = quoter.qualified(row.schema, row.name);
  const parts = [
    `CREATE TEXT SEARCH CONFIGURATION ${qualified} (\n` +
    `    PARSER = ${quoter.qualified(row.parserSchema, row.parserName)} );`,
  ];
  const groups: { token: string; dictionaries: string[] }[] = [];
  for (const m of row.mappings ?? []) {
    const last = groups.at(-1);
    if (last?.token === m.token) last.dictionaries.push(m.dictionary);
    else groups.push({ token: m.token, dictionaries: [m.dictionary] });
  }
  for (const g of groups) {
    parts.push(
      `ALTER TEXT SEARCH CONFIGURATION ${qualified}\n` +
        `    ADD MAPPING FOR ${quoter.ident(g.token)} WITH ${g.dictionaries.join(", ")};`,
    );
  }
  return parts.join("\n\n");
}

/** What one text search object adds to the graph. */
interface TextSearchNode {
  catalog: string;
  objectType: string;
  row: Named;
  sql: string;
  priority: number;
  owner?: string;
}

function addNode(ctx: ReadContext, object: TextSearchNode): void {
  const { row, objectType } = object;
  const id = ref(object.catalog, row.oid);
  if (ctx.members.has(id) || !ctx.filter.schemaDdl(row.schema)) return;
  if (ctx.filter.tablesRestricted) return;
  const qualified = ctx.quoter.qualified(row.schema, row.name);
  const node = ctx.graph.add({
    id,
    section: "pre-data",
    kind: objectType,
    schema: row.schema,
    name: row.name,
    sql: object.sql,
    priority: object.priority,
  });
  if (object.owner !== undefined) {
    addOwner(ctx, node, { objectType, name: qualified, owner: object.owner });
  }
  addComment(node, {
    what: `${objectType} ${qualified}`,
    label: `${objectType} ${row.name}`,
    comment: row.comment,
  });
}

/** Adds nodes for the parsers, templates, dictionaries and configurations in scope. */
export function buildTextSearch(ctx: ReadContext, rows: TextSearchRows): void {
  const q = ctx.quoter;
  for (const row of rows.parsers) {
    addNode(ctx, {
      catalog: "pg_ts_parser",
      objectType: "TEXT SEARCH PARSER",
      row,
      sql: parserSql(row, q),
      priority: PRIORITY.tsParser,
    });
  }
  for (const row of rows.templates) {
    addNode(ctx, {
      catalog: "pg_ts_template",
      objectType: "TEXT SEARCH TEMPLATE",
      row,
      sql: templateSql(row, q),
      priority: PRIORITY.tsTemplate,
    });
  }
  for (const row of rows.dictionaries) {
    addNode(ctx, {
      catalog: "pg_ts_dict",
      objectType: "TEXT SEARCH DICTIONARY",
      row,
      sql: dictionarySql(row, q),
      priority: PRIORITY.tsDictionary,
      owner: row.owner,
    });
  }
  for (const row of rows.configurations) {
    addNode(ctx, {
      catalog: "pg_ts_config",
      objectType: "TEXT SEARCH CONFIGURATION",
      row,
      sql: configurationSql(row, q),
      priority: PRIORITY.tsConfiguration,
      owner: row.owner,
    });
  }
}
