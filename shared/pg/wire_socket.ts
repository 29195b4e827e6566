/**
 * The sockets under the engine's postgres.js connections, each with a {@link CopyTap}.
 *
 * postgres.js accepts a `socket` factory; this one opens the TCP (or Unix) connection itself,
 * negotiates TLS as postgres.js would for the URL's `sslmode`, and puts a tap in front of
 * postgres.js's reader:
 * - without TLS, reads land in one reused buffer (`onread`), so a COPY's gigabytes make no
 *   garbage at all; what postgres.js gets is copied out;
 * - with TLS, the TCP socket is read the same way and handed to `node:tls` through a
 *   {@link TlsCarrier} (`tls_carrier.ts`: back-pressure that reaches the TCP socket, less
 *   memory than handing it the socket itself), and the tap reads the TLS socket's decrypted
 *   `data` events.
 *
 * A COPY finds its connection's tap by the backend's process id ({@link tapOf}).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import tls from "node:tls";
import { CopyTap } from "./copy_tap.ts";
import { TlsCarrier } from "./tls_carrier.ts";
import { youngCollector } from "../runtime/young_collection.ts";
import type { Queryable } from "./session.ts";

/** How a connection uses TLS, as postgres.js reads `sslmode`: verify-* check the certificate. */
export type TlsMode = "disable" | "allow" | "prefer" | "require" | "verify";

/** Size of the reused read buffer of a plain connection. */
const READ_BUFFER = 256 * 1024;
const SSL_REQUEST = Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f);

/** Taps of this process's open connections, by backend process id. */
const tapsByPid = new Map<number, Set<CopyTap>>();

/** The TLS mode a URL asks for (`sslmode`, or `ssl`), as postgres.js reads it. */
export function tlsModeOf(url: string): TlsMode {
  const query = new URL(url).searchParams;
  if (query.get("sslrootcert") === "system") return "verify";
  const mode = query.get("sslmode") ?? query.get("ssl") ?? Deno.env.get("PGSSLMODE") ?? "disable";
  switch (mode) {
    case "disable":
    case "false":
      return "disable";
    case "allow":
    case "prefer":
    case "require":
      return mode;
    case "verify-ca":
    case "verify-full":
    case "true":
      return "verify";
    default:
      throw new Error(
        `Unknown sslmode "${mode}" in the database URL (expected disable, allow, prefer, require, verify-ca or verify-full)`,
      );
  }
}

/** Options postgres.js hands a socket factory (the fields used here). */
interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
  connect_timeout?: number;
}

/**
 * The postgres.js options that make its connections use tapped sockets; `url` is the one the
 * pool is opened with. postgres.js's own TLS is turned off: the socket does it.
 */
export function tappedSocketOptions(url: string): TappedSocketOptions {
  const mode = tlsModeOf(url);
  const direct = new URL(url).searchParams.get("sslnegotiation") === "direct";
  let hostIndex = 0;
  return {
    ssl: false,
    socket: async (options: SocketOptions) => {
      // Hosts are tried in turn across connects, as postgres.js does with several.
      const index = hostIndex++ % Math.max(1, options.host.length);
      return await openSocket(options, index, mode, direct);
    },
  };
}

/**
 * postgres.js options (its `socket` option is read at run time but missing from its types:
 * spread these into the options object).
 */
export interface TappedSocketOptions {
  ssl: false;
  socket: (options: SocketOptions) => Promise<net.Socket>;
}

async function openSocket(
  options: SocketOptions,
  index: number,
  mode: TlsMode,
  direct: boolean,
): Promise<net.Socket> {
  const timeoutMs = (options.connect_timeout ?? 30) * 1000;
  const host = options.host[index] ?? options.host[0];
  const port = options.port[index] ?? options.port[0];
  const address = options.path ? { path: options.path } : { host, port };
  // Every connection reads its socket into one reused buffer; where the bytes go (a tap, the
  // SSL answer, the TLS layer) is set below, once the socket exists.
  const reader: { read: (buffer: Uint8Array, length: number) => void } = { read: () => {} };
  const socket = net.connect({
    ...address,
    onread: {
      buffer: new Uint8Array(READ_BUFFER),
      callback: (length: number, buffer: Uint8Array) => {
        reader.read(buffer, length);
        return true;
      },
    },
  });
  if (mode === "disable") {
    const tap = install(socket, { viaEvents: false });
    reader.read = (buffer, length) => tap.feed(buffer, length, false);
    await connected(socket, "connect", timeoutMs);
    return socket;
  }
  await connected(socket, "connect", timeoutMs);
  if (!direct) {
    const answer = await sslAnswer(socket, reader, timeoutMs);
    if (answer !== 0x53 /* S */) {
      if (mode === "prefer" || mode === "allow") {
        const tap = install(socket, { viaEvents: false });
        reader.read = (buffer, length) => tap.feed(buffer, length, false);
        return socket;
      }
      socket.destroy();
      throw Object.assign(new Error("The database server does not accept SSL connections"), {
        code: "SSL_NOT_SUPPORTED",
      });
    }
  }
  // TCP keepalive as postgres.js sets it on its sockets (the TLS socket has no TCP handle).
  socket.setKeepAlive(true, 60_000);
  const carrier = new TlsCarrier(socket);
  reader.read = (buffer, length) => carrier.receive(buffer, length);
  const secure = tls.connect({
    socket: carrier,
    servername: net.isIP(host) ? undefined : host,
    rejectUnauthorized: mode === "verify",
    ...(direct ? { ALPNProtocols: ["postgresql"] } : {}),
  });
  await connected(secure, "secureConnect", timeoutMs);
  install(secure, { viaEvents: true, encrypted: true, carrier });
  return secure;
}

/** How {@link install} reads a socket. */
interface InstallOptions {
  /**
   * The socket delivers `data` events (TLS, or a plain socket opened without `onread`), which
   * the tap takes over by wrapping the socket's `emit`.
   */
  viaEvents: boolean;
  /** The socket is TLS: its reads come in fresh buffers (see {@link readEncrypted}). */
  encrypted?: boolean;
  /** Under a TLS socket: the TCP socket's reader, held and let go with the TLS socket's. */
  carrier?: TlsCarrier;
}

/** Puts a tap in front of `socket`'s reader and registers it under its backend id once known. */
function install(socket: net.Socket, options: InstallOptions): CopyTap {
  const emit = socket.emit.bind(socket);
  const { carrier } = options;
  let registered: number | undefined;
  const tap = new CopyTap({
    encrypted: options.encrypted ?? false,
    forward: (bytes, owned) => emit("data", owned ? bytes : Buffer.from(bytes)),
    pause: () => {
      socket.pause();
      carrier?.hold(true);
    },
    resume: () => {
      carrier?.hold(false);
      socket.resume();
    },
    identified: (pid) => {
      registered = pid;
      const taps = tapsByPid.get(pid) ?? new Set<CopyTap>();
      taps.add(tap);
      tapsByPid.set(pid, taps);
    },
  });
  if (options.viaEvents) {
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== "data") return emit(event, ...args);
      const bytes = args[0] as Uint8Array;
      tap.feed(bytes, bytes.length, true);
      if (options.encrypted) readEncrypted(bytes.length);
      return true;
    }) as typeof socket.emit;
  }
  socket.once("close", () => {
    tap.closed();
    if (registered === undefined) return;
    const taps = tapsByPid.get(registered);
    taps?.delete(tap);
    if (taps?.size === 0) tapsByPid.delete(registered);
  });
  return tap;
}

/** A scavenge, where the runtime offers one (the CLI). */
const collectYoung = youngCollector();
/** Bytes read over TLS by this thread's connections since the last scavenge. */
let encryptedSinceCollection = 0;
/**
 * TLS bytes read between two scavenges. Measured on the 1 GB shop over TLS (CLI backup, peak
 * RSS, three runs each, on a shared machine): every 8 MiB 144-154 MB, 4 MiB 159-168, 3 MiB
 * 141-145, 2 MiB 139-146, 1 MiB 175 (a scavenge that often promotes what is still in
 * flight); no measurable CPU either way.
 */
const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;

/**
 * Counts `length` bytes read over TLS, and collects the young generation every
 * {@link COLLECT_EVERY_BYTES}. Every read over TLS leaves two dead buffers of its size (the
 * copy the TLS layer is given, the cleartext it hands back); V8 scavenges when its young
 * generation fills with objects, not with the bytes they hold, so without this they piled up
 * to tens of MB before a collection (`shared/runtime/young_collection.ts`).
 */
function readEncrypted(length: number): void {
  if (!collectYoung) return;
  encryptedSinceCollection += length;
  if (encryptedSinceCollection < COLLECT_EVERY_BYTES) return;
  encryptedSinceCollection = 0;
  collectYoung();
}

const tapOfConnection = new WeakMap<object, CopyTap | null>();

/**
 * The tap under `connection` (a reserved connection or transaction of a pool opened with
 * {@link tappedSocketOptions}), or null: another kind of pool, a pooler in front of the
 * server (whose backend ids are not the server's), or two connections of this process with
 * the same backend id on different servers.
 */
export async function tapOf(connection: Queryable): Promise<CopyTap | null> {
  const known = tapOfConnection.get(connection);
  if (known !== undefined) return known;
  let tap: CopyTap | null = null;
  if (tapsByPid.size > 0) {
    const [{ pid }] = await connection<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const taps = tapsByPid.get(pid);
    tap = taps?.size === 1 ? [...taps][0] : null;
  }
  tapOfConnection.set(connection, tap);
  return tap;
}

function connected(socket: net.Socket, event: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(Object.assign(new Error("Timed out connecting to the database"), {
        code: "CONNECT_TIMEOUT",
      }));
    }, timeoutMs);
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off(event, onReady);
    };
    socket.once("error", onError);
    socket.once(event, onReady);
  });
}

/**
 * Sends the SSLRequest and reads the server's one-byte answer. Bytes after an `S`, before the
 * TLS handshake, were not sent by the server under TLS (CVE-2021-23222): refused, as libpq does.
 */
function sslAnswer(
  socket: net.Socket,
  reader: { read: (buffer: Uint8Array, length: number) => void },
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error("Timed out negotiating SSL with the database")),
      timeoutMs,
    );
    const onClose = () =>
      fail(new Error("The database closed the connection while negotiating SSL"));
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("error", fail);
      socket.off("close", onClose);
      reader.read = () => {};
    };
    reader.read = (buffer, length) => {
      cleanup();
      if (length > 1 && buffer[0] === 0x53) {
        socket.destroy();
        reject(Object.assign(
          new Error("The database sent unencrypted data after accepting SSL"),
          { code: "SSL_PROTOCOL_VIOLATION" },
        ));
        return;
      }
      resolve(buffer[0]);
    };
    socket.once("error", fail);
    socket.once("close", onClose);
    socket.write(SSL_REQUEST);
  });
}
