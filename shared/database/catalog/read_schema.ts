/**
 * `readSchema`: reads the catalogs inside the caller's snapshot and returns the DDL in restore
 * order plus the list of tables whose rows to copy. A dozen set-based queries, pipelined on
 * one connection, whatever the number of objects.
 *
 * @module
 */
import { buildAccessMethods, queryAccessMethods } from "./access_methods.ts";
import { buildAggregates, queryAggregates } from "./aggregates.ts";
import { buildBaseTypes, queryBaseTypes, useShellTypes } from "./base_types.ts";
import { buildCasts, queryCasts } from "./casts.ts";
import { buildCollations, queryCollations } from "./collations.ts";
import { buildConstraints, checksByTable, queryConstraints } from "./constraints.ts";
import { buildConversions, queryConversions } from "./conversions.ts";
import { addCronReload } from "./cron_reload.ts";
import { queryCopyKeys } from "./copy_keys.ts";
import type { ReadContext } from "./context.ts";
import type { Queryable } from "./db.ts";
import { buildDefaultAcls, queryDefaultAcls } from "./default_acl.ts";
import { addDepends, queryDepends } from "./depends.ts";
import { buildEventTriggers, queryEventTriggers } from "./event_triggers.ts";
import { buildExtensionConfig, queryExtensionConfig } from "./extension_config.ts";
import {
  buildForeignData,
  queryForeignDataWrappers,
  queryForeignServers,
  queryUserMappings,
} from "./foreign_data.ts";
import { buildFunctions, queryFunctions } from "./functions.ts";
import { DumpGraph, ref } from "./graph.ts";
import { buildIndexes, queryIndexes } from "./indexes.ts";
import { buildLanguages, queryLanguages } from "./languages.ts";
import {
  buildLargeObjects,
  dumpsLargeObjects,
  isLargeObjectStatement,
  queryLargeObjectDetails,
  queryLargeObjectGroups,
} from "./large_objects.ts";
import { largeObjectCensus } from "../../pg/large_objects.ts";
import type { DatabaseSchema, DumpScope, KeyColumn, TableToCopy } from "./model.ts";
import {
  buildOperatorClasses,
  buildOperatorFamilies,
  queryOperatorClasses,
  queryOperatorFamilies,
} from "./operator_classes.ts";
import { buildOperators, queryOperators } from "./operators.ts";
import { orderGraph } from "./order.ts";
import { buildPolicies, queryPolicies } from "./policies.ts";
import { buildPublications, queryPublications } from "./publications.ts";
import { settingsStatement } from "./preamble.ts";
import { makeQuoter } from "./quote.ts";
import { buildRelations } from "./relations.ts";
import { buildRoles, queryRoleMemberships, queryRoles } from "./roles.ts";
import { queryRelations, type RelationRow } from "./relations_query.ts";
import { buildRules, queryRules } from "./rules.ts";
import {
  buildExtensions,
  buildSchemas,
  queryExtensionMembers,
  queryExtensions,
  querySchemas,
} from "./schemas.ts";
import { isSupabaseManagedSchema, scopeFilter, SUPABASE_MANAGED_DATA_TABLES } from "./scope.ts";
import { buildSequenceSets, querySequenceValues } from "./sequence_values.ts";
import { buildStatistics, queryStatistics } from "./statistics.ts";
import { queryPrivilegeLetters, supabaseCreatedAcl } from "./supabase_grants.ts";
import { buildTextSearch, queryTextSearch } from "./text_search.ts";
import { buildTransforms, queryTransforms } from "./transforms.ts";
import { buildTriggers, queryTriggers } from "./triggers.ts";
import { buildTypes, queryTypes } from "./types.ts";
import { queryUnsupported } from "./unsupported.ts";

interface Basics {
  serverVersion: string;
  database: string;
  searchPath: string;
  jit: string;
  isSupabase: boolean;
  keywords: string[];
}

function readBasics(sql: Queryable): Promise<Basics[]> {
  return sql<Basics[]>`
    select current_setting('server_version') as "serverVersion",
      current_database() as database, current_setting('search_path') as "searchPath",
      current_setting('jit') as jit,
      (to_regclass('auth.users') is not null and to_regclass('storage.objects') is not null
        and exists (select from pg_roles where rolname = 'service_role')) as "isSupabase",
      array(select word from pg_get_keywords() where catcode <> 'U') as keywords`;
}

function validateScope(scope: DumpScope): void {
  if (scope.schemaOnly && scope.dataOnly) {
    throw new Error("A dump cannot be both schema-only and data-only");
  }
  for (const name of [...(scope.includeTables ?? []), ...(scope.excludeTables ?? [])]) {
    if (!name.includes(".")) {
      throw new Error(`Table "${name}" must be given as schema.table`);
    }
  }
}

/**
 * Reads everything inside the caller's transaction (the caller sets REPEATABLE READ READ ONLY
 * and, for a multi-connection dump, the snapshot). `sql` is a postgres.js `TransactionSql`
 * (or a reserved connection inside a transaction the caller began); given a pool `Sql`, a
 * REPEATABLE READ READ ONLY transaction is opened for the read.
 * The transaction's search_path is emptied while reading (so every name the server deparses
 * is schema-qualified) and JIT is turned off; both are put back afterwards.
 */
export async function readSchema(
  sql: Queryable,
  scope: DumpScope = {},
): Promise<DatabaseSchema> {
  validateScope(scope);
  // A pool (neither a transaction nor a reserved connection) gets a transaction of its own.
  if (!("savepoint" in sql) && !("release" in sql)) {
    return await sql.begin(
      "isolation level repeatable read read only",
      (tx) => read(tx, scope),
    ) as DatabaseSchema;
  }
  return await read(sql, scope);
}

async function read(sql: Queryable, scope: DumpScope): Promise<DatabaseSchema> {
  const [basics] = await readBasics(sql);
  // JIT compiling these catalog queries costs far more than running them (as pg_dump knows).
  await sql`select set_config('search_path', '', true), set_config('jit', 'off', true)`;
  try {
    return await readWithEmptyPath(sql, scope, basics);
  } finally {
    await sql`select set_config('search_path', ${basics.searchPath}, true),
      set_config('jit', ${basics.jit}, true)`;
  }
}

async function readWithEmptyPath(
  sql: Queryable,
  scope: DumpScope,
  basics: Basics,
): Promise<DatabaseSchema> {
  const filter = scopeFilter(scope, { isSupabase: basics.isSupabase });
  const [schemaRows, extensionRows, memberRows] = await Promise.all([
    querySchemas(sql),
    queryExtensions(sql),
    queryExtensionMembers(sql),
  ]);
  const members = new Set(memberRows.map((m) => ref(m.catalog, m.oid)));
  const ddlSchemas = schemaRows
    .filter((s) => !s.extensionMember && filter.schemaDdl(s.name))
    .map((s) => s.name);
  const managedSchemas = basics.isSupabase
    ? [...new Set(SUPABASE_MANAGED_DATA_TABLES.map((t) => t.split(".")[0]))]
    : [];
  // On Supabase, the project's hooks on the platform's tables are dumped unless turned off.
  const hooks = basics.isSupabase && (scope.managedTableHooks ?? true);
  const hookSchemas = hooks
    ? [
      ...ddlSchemas,
      ...schemaRows.filter((s) => isSupabaseManagedSchema(s.name)).map((s) => s.name),
    ]
    : ddlSchemas;
  const relationSchemas = [...new Set([...ddlSchemas, ...managedSchemas, ...hookSchemas])];
  const wantsData = !scope.schemaOnly;
  // A Supabase project's own roles, and what the platform grants (`supabase_grants.ts`).
  const supabaseReads = basics.isSupabase
    ? Promise.all([queryPrivilegeLetters(sql), queryRoles(sql), queryRoleMemberships(sql)])
    : undefined;
  // Large objects and extensions' configuration, data to pg_dump, read beside the rest.
  const largeObjectsToo = dumpsLargeObjects(scope);
  const dataObjects = Promise.all([
    wantsData ? queryExtensionConfig(sql) : Promise.resolve([]),
    largeObjectsToo ? queryLargeObjectGroups(sql) : Promise.resolve([]),
    largeObjectsToo ? queryLargeObjectDetails(sql) : Promise.resolve([]),
    largeObjectsToo ? largeObjectCensus(sql) : Promise.resolve(undefined),
  ]);
  dataObjects.catch(() => {}); // Awaited below, unless another query failed first.

  const [
    typeRows,
    functionRows,
    relationRows,
    constraintRows,
    indexRows,
    triggerRows,
    ruleRows,
    policyRows,
    statisticsRows,
    defaultAclRows,
    dependRows,
    sequenceValues,
    publicationRows,
    eventTriggerRows,
    collationRows,
    textSearchRows,
    conversionRows,
    castRows,
    languageRows,
    transformRows,
    accessMethodRows,
    wrapperRows,
    serverRows,
    userMappingRows,
    aggregateRows,
    operatorRows,
    operatorFamilyRows,
    operatorClassRows,
    baseTypeRows,
    unsupportedRows,
    keyRows,
  ] = await Promise.all([
    queryTypes(sql, ddlSchemas),
    queryFunctions(sql, ddlSchemas),
    queryRelations(sql, relationSchemas),
    queryConstraints(sql, ddlSchemas),
    queryIndexes(sql, ddlSchemas),
    queryTriggers(sql, hookSchemas),
    queryRules(sql, ddlSchemas),
    queryPolicies(sql, hookSchemas),
    queryStatistics(sql, ddlSchemas),
    queryDefaultAcls(sql),
    queryDepends(sql),
    wantsData ? querySequenceValues(sql, relationSchemas) : Promise.resolve([]),
    queryPublications(sql),
    queryEventTriggers(sql),
    queryCollations(sql, ddlSchemas),
    queryTextSearch(sql, ddlSchemas),
    queryConversions(sql, ddlSchemas),
    queryCasts(sql),
    queryLanguages(sql),
    queryTransforms(sql),
    queryAccessMethods(sql),
    queryForeignDataWrappers(sql),
    queryForeignServers(sql),
    queryUserMappings(sql),
    queryAggregates(sql, ddlSchemas),
    queryOperators(sql, ddlSchemas),
    queryOperatorFamilies(sql, ddlSchemas),
    queryOperatorClasses(sql, ddlSchemas),
    queryBaseTypes(sql, ddlSchemas),
    queryUnsupported(sql, ddlSchemas),
    wantsData ? queryCopyKeys(sql, relationSchemas) : Promise.resolve([]),
  ]);

  const ctx: ReadContext = {
    graph: new DumpGraph(),
    quoter: makeQuoter(basics.keywords),
    filter,
    roles: new Set(),
    warnings: [],
    members,
    ...(basics.isSupabase ? { createdAcl: supabaseCreatedAcl } : {}),
  };
  const [letters, roleRows, membershipRows] = (await supabaseReads) ?? [];
  buildSchemas(ctx, schemaRows);
  buildExtensions(ctx, extensionRows, {
    members: memberRows,
    restricted: scope.includeSchemas !== undefined || scope.includeTables !== undefined,
    excluded: new Set(scope.excludeSchemas ?? []),
  });
  buildCollations(ctx, collationRows);
  buildTypes(ctx, typeRows);
  buildFunctions(ctx, functionRows);
  const shellTypes = buildBaseTypes(ctx, baseTypeRows);
  buildAggregates(ctx, aggregateRows);
  buildOperators(ctx, operatorRows);
  buildOperatorFamilies(ctx, operatorFamilyRows);
  buildOperatorClasses(ctx, operatorClassRows);
  buildConversions(ctx, conversionRows);
  buildTextSearch(ctx, textSearchRows);
  const relations = buildRelations(ctx, relationRows, {
    checks: checksByTable(constraintRows),
    managedTableHooks: hooks,
  });
  buildConstraints(ctx, constraintRows, { relations });
  buildIndexes(ctx, indexRows, { relations });
  buildTriggers(ctx, triggerRows, { relations });
  buildRules(ctx, ruleRows, { relations });
  buildPolicies(ctx, policyRows, { relations });
  buildStatistics(ctx, statisticsRows, { relations });
  buildDefaultAcls(ctx, defaultAclRows, { isSupabase: basics.isSupabase, letters });
  // Created first in a restore, before anything names them.
  const roleStatements = roleRows && !scope.dataOnly && !ctx.filter.tablesRestricted
    ? buildRoles(ctx, roleRows, membershipRows ?? [])
    : [];
  buildPublications(ctx, publicationRows, { relations });
  buildEventTriggers(ctx, eventTriggerRows);
  // Database-wide kinds, dumped only when nothing restricts the dump (as pg_dump does).
  const everything = scope.includeSchemas === undefined && scope.includeTables === undefined;
  buildLanguages(ctx, languageRows, { everything });
  buildTransforms(ctx, transformRows, { everything });
  buildAccessMethods(ctx, accessMethodRows, { everything });
  buildCasts(ctx, castRows, { everything });
  buildForeignData(ctx, {
    wrappers: wrapperRows,
    servers: serverRows,
    mappings: userMappingRows,
  }, { everything });
  if (!ctx.filter.tablesRestricted) {
    for (const row of unsupportedRows) ctx.warnings.push(`${row.kind} ${row.name} is not dumped`);
  }
  const schemaNames = new Set(schemaRows.map((s) => s.name));
  for (const name of scope.includeSchemas ?? []) {
    if (!schemaNames.has(name)) ctx.warnings.push(`Schema ${name} does not exist`);
  }
  const relationNames = new Set(relationRows.map((r) => `${r.schema}.${r.name}`));
  for (const name of scope.includeTables ?? []) {
    if (!relationNames.has(name)) ctx.warnings.push(`Table ${name} does not exist`);
  }

  const keys = new Map(keyRows.map((row) => [row.tableOid, row.key]));
  const tables = wantsData ? tablesToCopy(ctx, relations.byOid, keys) : [];
  if (wantsData) {
    const copied = new Set(tables.map((t) => `${t.schema}.${t.name}`));
    buildSequenceSets(ctx, sequenceValues, {
      byOid: relations.byOid,
      dumped: relations.dumped,
      tableData: new Set(
        relationRows.filter((r) => copied.has(`${r.schema}.${r.name}`)).map((r) => r.oid),
      ),
    });
  }
  const [configRows, largeObjectGroups, largeObjectDetails, largeObjects] = await dataObjects;
  buildLargeObjects(ctx, largeObjectGroups, largeObjectDetails);
  if (wantsData) {
    tables.push(...buildExtensionConfig(ctx, configRows, scope));
    addCronReload(ctx, tables);
    tables.sort((a, b) =>
      a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1
    );
  }

  addDepends(ctx.graph, dependRows);
  useShellTypes(ctx.graph, shellTypes);
  chainRefreshes(ctx);
  const ordered = orderGraph(ctx.graph);
  ctx.warnings.push(...ordered.warnings);

  let statements = ordered.statements;
  if (scope.dataOnly) {
    statements = statements.filter((s) =>
      s.kind === "SEQUENCE SET" || s.kind === "CRON RELOAD" || isLargeObjectStatement(s)
    );
  } else {
    const pre = statements.filter((s) => s.section === "pre-data");
    const post = statements.filter((s) => s.section === "post-data");
    statements = [
      settingsStatement("pre-data"),
      ...roleStatements,
      ...pre,
      settingsStatement("post-data"),
      ...post,
    ];
  }
  return {
    isSupabase: basics.isSupabase,
    serverVersion: basics.serverVersion,
    database: basics.database,
    schemas: ctx.filter.tablesRestricted ? [] : [...ddlSchemas].sort(),
    statements,
    tables,
    ...(largeObjects?.count ? { largeObjects } : {}),
    roles: [...ctx.roles].filter((r) => r !== "").sort(),
    warnings: ctx.warnings,
  };
}

/** A materialized view is refreshed after the materialized views it reads. */
function chainRefreshes(ctx: ReadContext): void {
  const graph = ctx.graph;
  for (const node of graph.nodes.values()) {
    if (!node.id.startsWith("refresh:")) continue;
    const view = graph.nodes.get(ref("pg_class", node.id.slice("refresh:".length)));
    for (const dep of view?.deps ?? []) {
      const target = graph.resolve(dep);
      if (target?.startsWith("pg_class:")) {
        const refresh = `refresh:${target.slice("pg_class:".length)}`;
        if (graph.nodes.has(refresh) && refresh !== node.id) node.deps.add(refresh);
      }
    }
  }
}

function tablesToCopy(
  ctx: ReadContext,
  byOid: Map<string, RelationRow>,
  keys: ReadonlyMap<string, KeyColumn[]>,
): TableToCopy[] {
  const ancestors = (row: RelationRow): string[] => {
    const out: string[] = [];
    let current: RelationRow | undefined = row;
    while (current?.isPartition && current.parents.length > 0) {
      const parent: RelationRow | undefined = byOid.get(current.parents[0].oid);
      if (!parent) break;
      out.push(`${parent.schema}.${parent.name}`);
      current = parent;
    }
    return out;
  };
  const tables: TableToCopy[] = [];
  for (const row of byOid.values()) {
    if (row.kind !== "r" || ctx.members.has(ref("pg_class", row.oid))) continue;
    if (!ctx.filter.tableData(row.schema, row.name, ancestors(row))) continue;
    tables.push({
      schema: row.schema,
      name: row.name,
      columns: row.columns.filter((c) => c.generated === "").map((c) => c.name),
      kind: row.isPartition ? "partition" : "table",
      estimatedRows: Math.round(row.rows),
      estimatedBytes: Number(row.bytes),
      managed: ctx.filter.managed(row.schema, row.name),
      ...(keys.has(row.oid) ? { key: keys.get(row.oid) } : {}),
    });
  }
  return tables.sort((a, b) =>
    a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1
  );
}
