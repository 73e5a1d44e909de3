// V8 tuning the plugin applies to itself at start-up: a fixed old-generation growing factor of 4.
//
// V8 lets external memory (ArrayBuffers: socket reads, log batches, encoded gRPC messages) allocated since the last
// mark-compact count against the old generation's allocation limit, and sets that limit after each mark-compact as the
// live old generation times a factor it derives from how fast marking looked against allocation. A 20 MiB batched
// Logs read churns ~40 MiB of ArrayBuffers; with the small heap this plugin has (~10 MB), a process whose factor came
// out low marked and compacted once or twice per read and stayed there (100-150 ms of CPU per read instead of 60-70;
// about 4 in 10 processes, at random). Fixing the factor at 4 — V8's own upper bound for large heaps — kept 14 of 14
// processes in the light mode; a factor of 2 put 6 of 6 in the heavy one. Unlike Node command-line options (e.g. a
// larger young generation, which also helped but added 25-35 ms to start-up) this flag is read at every mark-compact,
// so setting it at run time works and costs nothing at start-up. The price is a heap allowed to grow to about 4x its
// live size between mark-compacts, on a heap of tens of MB.

import { setFlagsFromString } from "node:v8";

export function fixHeapGrowingFactor(): void {
  setFlagsFromString("--heap-growing-percent=300");
}
