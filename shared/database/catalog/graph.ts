/**
 * The dump graph: one node per dumpable object, edges from pg_depend and from the way the
 * DDL is split (an ATTACH needs both tables), aliases from catalog objects to the node that
 * creates them (a column default to its table, a view's `_RETURN` rule to the view, …).
 *
 * @module
 */
import type { SchemaStatement, Section } from "./model.ts";

/** A catalog object, as `"<catalog>:<oid>"`, for example `"pg_class:16384"`. */
export type ObjectRef = string;

/** Makes an {@link ObjectRef}. */
export function ref(catalog: string, oid: number | string): ObjectRef {
  return `${catalog}:${oid}`;
}

/** One thing the dump creates, with what follows it. */
export interface DumpNode {
  /** Unique; the object's {@link ObjectRef} when there is one. */
  id: string;
  section: Section;
  kind: string;
  schema: string | null;
  name: string;
  /** The creating statement; empty for nodes that only order others (pre-existing schemas). */
  sql: string;
  /** Sort priority among nodes whose dependencies are satisfied (pg_dump's type order). */
  priority: number;
  /** Object refs or node ids this node needs first. */
  deps: Set<string>;
  /** Statements that follow the node at once (owner, comments, column settings). */
  after: SchemaStatement[];
  /** Privileges, applied after everything else like pg_dump's ACL entries. */
  acl: SchemaStatement[];
}

/** Priorities, after pg_dump's object type order. */
export const PRIORITY = {
  set: 0,
  schema: 1,
  /** pg_dump: languages, collations, transforms, then extensions. */
  language: 1.2,
  collation: 1.4,
  transform: 1.6,
  extension: 2,
  type: 3,
  /** A cast waits for its function (pg_depend), and comes before the views that spell it. */
  cast: 3.5,
  function: 4,
  /** pg_dump: aggregates, then operators (and access methods), then operator classes/families. */
  aggregate: 4.2,
  operator: 4.5,
  accessMethod: 4.5,
  operatorFamily: 4.6,
  operatorClass: 4.6,
  /** pg_dump: conversions, then text search parsers, templates, dictionaries, configurations. */
  conversion: 5,
  tsParser: 5.1,
  tsTemplate: 5.2,
  tsDictionary: 5.3,
  tsConfiguration: 5.4,
  /** pg_dump: foreign data wrappers and servers (their user mappings) just before tables. */
  foreignDataWrapper: 5.5,
  foreignServer: 5.6,
  userMapping: 5.7,
  sequence: 6,
  table: 7,
  tableAttach: 8,
  ownedBy: 9,
  /** pg_dump: large objects' definitions last in pre-data (their contents load with the rows). */
  largeObject: 10,
  postSet: 20,
  constraint: 21,
  index: 22,
  indexAttach: 23,
  statistics: 24,
  rule: 25,
  trigger: 26,
  fkConstraint: 27,
  policy: 28,
  rowSecurity: 28,
  sequenceSet: 29,
  publication: 31,
  /**
   * From here on, after the privileges (pg_restore's post-ACL pass): a materialized view is
   * refreshed with its owner's privileges, and event triggers must not fire during the restore.
   */
  afterAcl: 80,
  refresh: 80,
  eventTrigger: 90,
} as const;

/** Collects nodes and the aliases that map catalog objects to them. */
export class DumpGraph {
  readonly nodes = new Map<string, DumpNode>();
  readonly #alias = new Map<ObjectRef, string>();

  /** Adds a node; its id is also an alias of itself. */
  add(node: Omit<DumpNode, "deps" | "after" | "acl"> & { deps?: Iterable<string> }): DumpNode {
    if (this.nodes.has(node.id)) throw new Error(`Duplicate dump node ${node.id}`);
    const full: DumpNode = { ...node, deps: new Set(node.deps ?? []), after: [], acl: [] };
    this.nodes.set(full.id, full);
    return full;
  }

  /** Declares that `object` is created by node `nodeId` (a column default by its table). */
  alias(object: ObjectRef, nodeId: string): void {
    if (!this.#alias.has(object)) this.#alias.set(object, nodeId);
  }

  /** The node that creates `object`, if it is dumped. */
  resolve(object: ObjectRef): string | undefined {
    const aliased = this.#alias.get(object);
    if (aliased !== undefined) return aliased;
    return this.nodes.has(object) ? object : undefined;
  }

  /** Adds a dependency of `from` (a node id or an object ref) on `to` (likewise). */
  depend(from: string, to: string): void {
    const node = this.nodes.get(this.resolve(from) ?? from);
    node?.deps.add(to);
  }
}
