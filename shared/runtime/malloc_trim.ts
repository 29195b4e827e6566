/**
 * glibc's `malloc_trim`: hands the C heap's free pages back to the system.
 *
 * Array buffers live in the C heap, and glibc raises its mmap threshold as large buffers are
 * freed, so multi-MiB buffers end up there too; once V8 frees them, the pages stay resident
 * until something reuses them. Over a 1 GB Storage snapshot that kept 10 to 15 MB more than the
 * buffers in use (bench/README). `malloc_trim(0)` returns free pages anywhere in the heap (not
 * only at its top) for a few milliseconds; Ruby's collector calls it the same way.
 *
 * @module
 */

/** `malloc_trim(0)` when this process runs on glibc and may load it (`--allow-ffi`), else undefined. */
export function mallocTrim(): (() => void) | undefined {
  if (Deno.build.os !== "linux") return undefined;
  // Feature-detect first: the Edge has no FFI at all, and a process denied it answers here.
  if (typeof Deno.dlopen !== "function") return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  } catch {
    return undefined;
  }
  try {
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    // Not glibc (musl, a sandbox), or FFI not allowed: the heap keeps its free pages.
    return undefined;
  }
}
