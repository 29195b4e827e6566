/**
 * Restore order: a topological sort of the dump graph that, among the nodes whose
 * dependencies are met, takes the lowest (section, type priority, schema, name) first, like
 * pg_dump's sort. Pre-data nodes that need a post-data node (a view grouping by a primary
 * key) pull that node into pre-data.
 *
 * @module
 */
import { type DumpGraph, type DumpNode, PRIORITY } from "./graph.ts";
import type { SchemaStatement } from "./model.ts";

function compare(a: DumpNode, b: DumpNode): number {
  const sa = a.section === "pre-data" ? 0 : 1;
  const sb = b.section === "pre-data" ? 0 : 1;
  if (sa !== sb) return sa - sb;
  if (a.priority !== b.priority) return a.priority - b.priority;
  const schema = (a.schema ?? "").localeCompare(b.schema ?? "", "en");
  if (schema !== 0) return schema;
  const name = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  if (name !== 0) return name;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A binary min-heap of nodes. */
class Heap {
  readonly #items: DumpNode[] = [];
  get size(): number {
    return this.#items.length;
  }
  push(node: DumpNode): void {
    const items = this.#items;
    items.push(node);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(items[parent], items[i]) <= 0) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }
  pop(): DumpNode | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && compare(items[l], items[m]) < 0) m = l;
        if (r < items.length && compare(items[r], items[m]) < 0) m = r;
        if (m === i) break;
        [items[m], items[i]] = [items[i], items[m]];
        i = m;
      }
    }
    return top;
  }
}

/** The result of ordering: statements in restore order, and notes on broken cycles. */
export interface Ordered {
  statements: SchemaStatement[];
  warnings: string[];
}

/** Sorts the graph into statements: every pre-data statement, then post-data, then ACLs. */
export function orderGraph(graph: DumpGraph): Ordered {
  const warnings: string[] = [];
  const deps = new Map<DumpNode, Set<DumpNode>>();
  for (const node of graph.nodes.values()) {
    const resolved = new Set<DumpNode>();
    for (const dep of node.deps) {
      const id = graph.resolve(dep);
      const target = id === undefined ? undefined : graph.nodes.get(id);
      if (target !== undefined && target !== node) resolved.add(target);
    }
    deps.set(node, resolved);
  }
  // Pre-data may not wait for post-data: promote what pre-data needs.
  const promote = (node: DumpNode) => {
    for (const dep of deps.get(node)!) {
      if (dep.section === "post-data") {
        dep.section = "pre-data";
        for (const s of dep.after) s.section = "pre-data";
        promote(dep);
      }
    }
  };
  for (const node of graph.nodes.values()) if (node.section === "pre-data") promote(node);

  const waiting = new Map<DumpNode, number>();
  const dependents = new Map<DumpNode, DumpNode[]>();
  for (const [node, set] of deps) {
    waiting.set(node, set.size);
    for (const dep of set) {
      const list = dependents.get(dep);
      if (list) list.push(node);
      else dependents.set(dep, [node]);
    }
  }
  const ready = new Heap();
  for (const [node, count] of waiting) if (count === 0) ready.push(node);
  const sorted: DumpNode[] = [];
  const done = new Set<DumpNode>();
  while (sorted.length < graph.nodes.size) {
    let next = ready.pop();
    if (next === undefined) {
      // A dependency cycle: take the first remaining node and note it.
      const remaining = [...graph.nodes.values()].filter((n) => !done.has(n)).sort(compare);
      next = remaining[0];
      warnings.push(
        `Dependency cycle broken at ${next.kind} ${next.schema ? next.schema + "." : ""}` +
          next.name,
      );
      waiting.set(next, 0);
    }
    if (done.has(next)) continue;
    done.add(next);
    sorted.push(next);
    for (const dependent of dependents.get(next) ?? []) {
      const left = waiting.get(dependent)! - 1;
      waiting.set(dependent, left);
      if (left === 0 && !done.has(dependent)) ready.push(dependent);
    }
  }
  const statements: SchemaStatement[] = [];
  const acl: SchemaStatement[] = [];
  const last: SchemaStatement[] = [];
  for (const section of ["pre-data", "post-data"] as const) {
    for (const node of sorted) {
      if (node.section !== section) continue;
      if (node.priority >= PRIORITY.afterAcl) {
        if (node.sql !== "") {
          last.push({
            section,
            kind: node.kind,
            schema: node.schema,
            name: node.name,
            sql: node.sql,
          });
        }
        last.push(...node.after.map((s) => ({ ...s, section })));
        last.push(...node.acl.map((s) => ({ ...s, section: "post-data" as const })));
        continue;
      }
      if (node.sql !== "") {
        statements.push({
          section,
          kind: node.kind,
          schema: node.schema,
          name: node.name,
          sql: node.sql,
        });
      }
      statements.push(...node.after.map((s) => ({ ...s, section })));
      acl.push(...node.acl.map((s) => ({ ...s, section: "post-data" as const })));
    }
  }
  // Default privileges last, so they do not touch the objects the dump creates.
  const isDefault = (s: SchemaStatement) => s.kind === "DEFAULT ACL";
  statements.push(...acl.filter((s) => !isDefault(s)), ...acl.filter(isDefault), ...last);
  return { statements, warnings };
}
