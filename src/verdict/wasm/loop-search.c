// The verdict engine's per-PID loop search (src/verdict/loop.ts: PidLoop, the same search as its TypeScript
// `TsRunSearch`), compiled to WebAssembly by src/parse/wasm/build.mjs. One block of this module's memory per
// tracker; blocks are handed out once and never freed (the engine recycles its trackers, at most `maxPids`).
//
// A block: a head, the ring of the PID's last R = 2·maxP + 1 tokens twice over (slot s at s and s + R, so the
// maxP tokens before slot s lie at s + R − maxP … s + R − 1 without a wrap), the ring's ts, line and request
// number (three per slot), and per period p its current run: the index it began at (i − p at its first match),
// that first token's ts, line and request number, and its length.
//
// A request's token is compared with its maxP predecessors two at a time (SIMD), into a bit mask; only the periods
// whose token matched are visited, smallest first. The arithmetic on indices is on doubles, as in TypeScript.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

typedef struct {
  double n;       // index of the next request
  double origin;  // first index of the current PID (a reused tracker keeps counting)
  int32_t slot;   // where the next request goes in the ring: n mod R
  int32_t maxP;
  int32_t R;
  int32_t seedMul;  // a run seeds a loop from seedMul·p matches (SEED_REPS − 1 repetitions after the first)
  int32_t seedMin;  // ... and from seedMin matches (SEED_MIN_RUN)
  int32_t pad;
} Head;

typedef struct {
  double start;
  double ts, line, seq;
  int32_t len;
  int32_t pad;
} Run;

extern unsigned char __heap_base;
static uint32_t next_free = 0;

static inline double *ring_of(Head *h) { return (double *)(h + 1); }
static inline double *meta_of(Head *h) { return ring_of(h) + 2 * h->R; }
static inline Run *runs_of(Head *h) { return (Run *)(meta_of(h) + 3 * h->R); }

/** Bytes of a tracker's block. */
EXPORT(block_bytes) uint32_t block_bytes(int32_t maxP) {
  const uint32_t R = 2 * (uint32_t)maxP + 1;
  return sizeof(Head) + 8u * 2 * R + 8u * 3 * R + sizeof(Run) * ((uint32_t)maxP + 1);
}

/** A new tracker's block, zeroed (0 when the memory cannot grow). */
EXPORT(alloc_block) uint32_t alloc_block(int32_t maxP, int32_t seedMul, int32_t seedMin) {
  if (next_free == 0) next_free = ((uint32_t)(uintptr_t)&__heap_base + 15) & ~15u;
  const uint32_t size = (block_bytes(maxP) + 15) & ~15u;
  const uint32_t end = next_free + size;
  const uint32_t have = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) < 0) return 0;
  // memory past next_free was never handed out: it is still zero
  Head *h = (Head *)(uintptr_t)next_free;
  next_free = end;
  h->maxP = maxP;
  h->R = 2 * maxP + 1;
  h->seedMul = seedMul;
  h->seedMin = seedMin;
  return (uint32_t)(uintptr_t)h;
}

/** Another PID on this tracker: its runs start over, and the ring before `origin` is never matched. */
EXPORT(reuse) void reuse(uint32_t block) {
  Head *h = (Head *)(uintptr_t)block;
  h->origin = h->n;
  Run *runs = runs_of(h);
  for (int32_t p = 0; p <= h->maxP; p++) runs[p].len = 0;
}

/** One request of the tracker's PID; returns the smallest period that seeds a loop now (0 if none). */
EXPORT(push) int32_t push(uint32_t block, double token, double ts, double line, double seq) {
  Head *h = (Head *)(uintptr_t)block;
  const int32_t R = h->R;
  double *ring = ring_of(h);
  double *meta = meta_of(h);
  Run *runs = runs_of(h);
  const double i = h->n;
  const int32_t slot = h->slot;
  const double span = i - h->origin;
  const int32_t lim = span < h->maxP ? (int32_t)span : h->maxP;
  ring[slot] = token;
  ring[slot + R] = token;
  meta[3 * slot] = ts;
  meta[3 * slot + 1] = line;
  meta[3 * slot + 2] = seq;
  h->n = i + 1;
  h->slot = slot + 1 == R ? 0 : slot + 1;
  const int32_t top = slot + R;  // the token p back is at top − p
  const v128_t want = wasm_f64x2_splat(token);
  int32_t found = 0;
  for (int32_t base = 1; base <= lim; base += 64) {
    const int32_t last = lim < base + 63 ? lim : base + 63;
    uint64_t mask = 0;  // bit k: the token base + k back matched
    for (int32_t p = base; p <= last; p += 2) {
      // lane 0 holds the token p + 1 back, lane 1 the token p back (p + 1 may be past `last`: masked below)
      const int32_t m = wasm_i64x2_bitmask(wasm_f64x2_eq(wasm_v128_load(&ring[top - p - 1]), want));
      mask |= (uint64_t)(((m >> 1) & 1) | ((m & 1) << 1)) << (p - base);
    }
    if (last - base < 63) mask &= (1ull << (last - base + 1)) - 1;
    while (mask != 0) {
      const int32_t p = base + __builtin_ctzll(mask);
      mask &= mask - 1;
      Run *r = &runs[p];
      int32_t len = r->len;
      if (len == 0 || r->start + p + len != i) {
        // a new run of period p: its first token is the one p back
        const int32_t e = (slot >= p ? slot - p : slot - p + R) * 3;
        r->start = i - p;
        r->ts = meta[e];
        r->line = meta[e + 1];
        r->seq = meta[e + 2];
        len = 1;
      } else
        len++;
      r->len = len;
      if (found == 0 && len >= p * h->seedMul && len >= h->seedMin) found = p;
    }
  }
  return found;
}
