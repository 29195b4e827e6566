/**
 * `deno task cli <command> …` — operator commands over the shared engine.
 *
 * Each command lives in `cli/commands/<name>.ts` and exports `run(args): Promise<number>`
 * returning the exit code. Errors reach the operator as one clear line, never a stack trace.
 *
 * @module
 */
import { CliError } from "./cli_error.ts";
import { redactUrl } from "../shared/util/redact.ts";
import { autoEncodeThreads, useEncodeThreads } from "../shared/codec/encoder.ts";
import { CLI_HEAP_HEADROOM, governHeap } from "../shared/runtime/heap_governor.ts";

type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

/** Commands that serve functions keep Edge behaviour: blobs encoded on the calling thread. */
const EDGE_LIKE = new Set(["serve", "demo", "dashboard"]);

/** Encoder threads: SAUVEGARDE_ENCODE_THREADS when set (0 = none), else one per spare core. */
function encodeThreads(): number {
  const raw = Deno.env.get("SAUVEGARDE_ENCODE_THREADS");
  if (raw === undefined || raw === "") return autoEncodeThreads();
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 0 || threads > 16) {
    throw new CliError(
      `SAUVEGARDE_ENCODE_THREADS must be a whole number from 0 to 16, got "${raw}"`,
    );
  }
  return threads;
}

/** Heap headroom: SAUVEGARDE_HEAP_HEADROOM_MB when set (0 = leave the heap to V8), else 8 MiB. */
function heapHeadroom(): number {
  const raw = Deno.env.get("SAUVEGARDE_HEAP_HEADROOM_MB");
  if (raw === undefined || raw === "") return CLI_HEAP_HEADROOM;
  const megabytes = Number(raw);
  if (!Number.isFinite(megabytes) || megabytes < 0) {
    throw new CliError(
      `SAUVEGARDE_HEAP_HEADROOM_MB must be a number of MiB, 0 or more, got "${raw}"`,
    );
  }
  return megabytes * 1024 * 1024;
}

const commands: Record<string, Command> = {
  serve: {
    summary: "serve the functions over HTTP as /functions/v1/<name>",
    load: () => import("./commands/serve.ts"),
  },
  worker: {
    summary: "claim queued runs from backup_runs and run them without Edge limits",
    load: () => import("./commands/worker.ts"),
  },
  demo: {
    summary: "the whole job on a throwaway local stack, with a report",
    load: () => import("./commands/demo.ts"),
  },
  dashboard: {
    summary: "the dashboard on a throwaway local stack, signed in as a local backup admin",
    load: () => import("./commands/dashboard.ts"),
  },
  backup: {
    summary: "back up a database (--db <url>) into --to <target>",
    load: () => import("./commands/backup.ts"),
  },
  restore: {
    summary: "restore a database backup from --from <target> into --db <url>",
    load: () => import("./commands/restore.ts"),
  },
  list: {
    summary: "list the database backups in --from <target>",
    load: () => import("./commands/list.ts"),
  },
  "export-sql": {
    summary: "write a backup as one plain SQL script that psql restores",
    load: () => import("./commands/export_sql.ts"),
  },
  migrate: {
    summary: "apply supabase/migrations to --db in file-name order",
    load: () => import("./commands/migrate.ts"),
  },
  snapshot: {
    summary: "snapshot the Storage buckets, incrementally, into --to <target>",
    load: () => import("./commands/snapshot.ts"),
  },
  "restore-storage": {
    summary: "restore a Storage snapshot from --from <target> (--dry-run to plan)",
    load: () => import("./commands/restore_storage.ts"),
  },
  "test-restore": {
    summary: "restore the latest backup into a scratch database and check it (a restore test)",
    load: () => import("./commands/test_restore.ts"),
  },
  recover: {
    summary: "disaster recovery: restore the database then Storage, check both, report the RTO",
    load: () => import("./commands/recover.ts"),
  },
  prune: {
    summary: "apply retention to --from <target> and sweep unreferenced blobs (--dry-run)",
    load: () => import("./commands/prune.ts"),
  },
  replicate: {
    summary: "copy backups from --from <target> to each --to <target> (--backup id|latest)",
    load: () => import("./commands/replicate.ts"),
  },
  "backup-config": {
    summary: "encrypted backup of env files (--file .env…) into --to <target>",
    load: () => import("./commands/backup_config.ts"),
  },
  "backup-code": {
    summary: "the git repository (--repo <path>) as a verified bundle into --to <target>",
    load: () => import("./commands/backup_code.ts"),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, command]) =>
    `  ${name.padEnd(width)}  ${command.summary}`
  );
  return `Usage: deno task cli <command> [options]\n\nCommands:\n${lines.join("\n")}`;
}

async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    if (!EDGE_LIKE.has(name)) {
      useEncodeThreads(encodeThreads());
      const headroom = heapHeadroom();
      if (headroom > 0) governHeap({ headroomBytes: headroom });
    }
    const module = await command.load();
    return await module.run(rest);
  } catch (error) {
    // Whatever a command throws may quote a URL: its credentials never reach the terminal.
    if (error instanceof CliError) {
      console.error(`Error: ${redactUrl(error.message)}`);
      return error.exitCode;
    }
    console.error(`Error: ${redactUrl(error instanceof Error ? error.message : String(error))}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
