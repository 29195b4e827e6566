/**
 * The worker side of a copy lane (see `copy_lane.ts`): joins the coordinator's snapshot on its
 * own connection and copies the tables (or slices of tables) it is sent into its own repository
 * instance.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import type postgres from "postgres";
import { engineSql } from "./connect.ts";
import { openRepository } from "../repository/open.ts";
import type { Repository } from "../repository/mod.ts";
import type { CopyCounter } from "./copy_out.ts";
import { type LaneOptions, type WorkerReply, type WorkerRequest, writeTable } from "./copy_lane.ts";
import { prepareSession } from "./session.ts";
import { findSliceEnd } from "./slices.ts";

const SNAPSHOT_NAME = /^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?$/;

let sql: postgres.Sql | undefined;
let tx: postgres.ReservedSql | undefined;
let repository: Repository | undefined;
let closeTarget: (() => Promise<void>) | undefined;
let options: LaneOptions | undefined;
let current: AbortController | undefined;
/** The connection was lost: nothing may be sent on it any more. */
let lost = false;
const CONNECTION_LOST = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "ECONNRESET",
  "57P01",
]);

function reply(message: WorkerReply): void {
  self.postMessage(message);
}

function failure(error: unknown): WorkerReply {
  if (CONNECTION_LOST.has((error as { code?: string } | null)?.code ?? "")) lost = true;
  return {
    type: "failed",
    message: error instanceof Error ? error.message : String(error),
    code: (error as { code?: string } | null)?.code,
  };
}

async function init(request: Extract<WorkerRequest, { type: "init" }>): Promise<void> {
  if (!SNAPSHOT_NAME.test(request.snapshotId)) throw new Error("Bad snapshot name");
  options = request.options;
  const opened = await openRepository(
    request.repository.name,
    request.repository.url,
    request.repository.config,
  );
  repository = opened.repository;
  closeTarget = () => opened.target.close();
  sql = engineSql(request.db, { max: 1 });
  tx = await sql.reserve();
  await tx`begin isolation level repeatable read read only`;
  // Must come first in the transaction; takes no parameters (the name was checked).
  await tx.unsafe(`set transaction snapshot '${request.snapshotId}'`);
  await prepareSession(tx, { local: true });
}

async function copy(request: Extract<WorkerRequest, { type: "copy" }>): Promise<WorkerReply> {
  const counter: CopyCounter = { rows: 0, bytes: 0 };
  current = new AbortController();
  const ticker = setInterval(() => reply({ type: "progress", ...counter }), 500);
  try {
    const result = await writeTable(tx!, repository!, request.table, {
      ...options!,
      counter,
      signal: current.signal,
    });
    return { type: "done", result, rows: counter.rows, bytes: counter.bytes, path: counter.path };
  } finally {
    clearInterval(ticker);
    current = undefined;
  }
}

async function close(): Promise<void> {
  if (tx && !lost) {
    await tx`rollback`.catch(() => {});
    tx.release();
  }
  await sql?.end({ timeout: lost ? 0 : 1 }).catch(() => {});
  await closeTarget?.().catch(() => {});
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  switch (request.type) {
    case "init":
      try {
        await init(request);
        reply({ type: "ready" });
      } catch (error) {
        reply(failure(error));
      }
      return;
    case "copy":
      try {
        reply(await copy(request));
      } catch (error) {
        reply(failure(error));
      }
      return;
    case "slice-end":
      try {
        const through = await findSliceEnd(
          tx!,
          request.table,
          request.key,
          request.after,
          request.rows,
        );
        reply({ type: "slice-end", through });
      } catch (error) {
        reply(failure(error));
      }
      return;
    case "abort":
      current?.abort(new Error("The backup was cancelled"));
      return;
    case "close":
      await close();
      reply({ type: "closed" });
      return;
  }
};
