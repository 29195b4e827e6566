/**
 * The encrypted side of an engine TLS connection: a Duplex over the TCP socket, handed to
 * `tls.connect({ socket })`, that reads the socket into one reused buffer (`onread`) and
 * pauses the socket itself.
 *
 * Measured on Deno 2.9 (bench/README.md, "Database over TLS"), handing `node:tls` the TCP
 * socket itself has two costs this avoids:
 * - back-pressure: its TLS layer reads the TCP socket whatever the TLS socket's state, so
 *   pausing the TLS socket stopped only the delivery of what was decrypted, and the rest of
 *   a COPY piled up in memory (a whole 100 MB table within a second of a pause);
 * - memory: reading the TCP socket natively kept about 20 MB more of the C heap in use for
 *   as long as the process ran, on top of a fresh buffer per read.
 * Here the socket's bytes are read into the connection's buffer, copied once into what the
 * TLS layer is given, and the socket stops being read while either the TLS layer's input is
 * full or the connection's reader holds it ({@link TlsCarrier.hold}).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type net from "node:net";
import { Duplex } from "node:stream";

/** The TCP socket under a TLS connection, as the Duplex `tls.connect` reads and writes. */
export class TlsCarrier extends Duplex {
  readonly #socket: net.Socket;
  /** The TLS layer has enough input for now (the Readable side is full). */
  #full = false;
  /** The connection's reader asked to stop reading ({@link hold}). */
  #held = false;
  #paused = false;

  /**
   * Carries `socket`'s bytes. The socket must have been opened with an `onread` callback
   * that hands its reads to {@link receive}, and nothing else may read it from now on.
   */
  constructor(socket: net.Socket) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    socket.on("end", () => this.push(null));
    socket.on("error", (error) => this.destroy(error));
    socket.on("close", () => this.destroy());
  }

  /** Bytes read from the socket: `buffer[0, length)`, in a buffer the socket reuses. */
  receive(buffer: Uint8Array, length: number): void {
    if (this.destroyed) return;
    if (!this.push(Buffer.from(buffer.subarray(0, length)))) {
      this.#full = true;
      this.#update();
    }
  }

  /** Stops (true) or resumes (false) reading the socket, whatever the TLS layer wants. */
  hold(on: boolean): void {
    this.#held = on;
    this.#update();
  }

  override _read(): void {
    this.#full = false;
    this.#update();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    this.#socket.write(chunk, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#socket.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#socket.destroy();
    done(error);
  }

  #update(): void {
    const pause = this.#full || this.#held;
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.#socket.pause();
    else this.#socket.resume();
  }
}
