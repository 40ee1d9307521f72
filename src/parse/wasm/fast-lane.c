/*
 * The fast lane of the virtiofsd parser, compiled to WebAssembly (see build.mjs; the module is embedded in
 * fast-lane-module.ts). It reads the three line shapes that make up nearly all of a Rust virtiofsd debug log:
 *
 *   [2026-11-27T03:10:31Z DEBUG virtiofsd::server] Received request: opcode=Read (15), inode=2, unique=8, pid=508
 *   [2026-11-27T03:10:31Z DEBUG virtiofsd::server] Replying OK, header: OutHeader { len: 16, error: 0, unique: 8 }
 *   [2026-11-27T03:10:31Z DEBUG virtiofsd::vhost_user] QUEUE_EVENT          (and HIPRIO_QUEUE_EVENT)
 *
 * and stops at the first line it does not take, which the TypeScript parser (../virtiofsd.ts) then reads. Every
 * test below is the TypeScript parser's own, at the same byte offsets and in the same order, so a line taken here
 * gives exactly the events, times and counts the TypeScript parser gives it; a line that would take any other
 * branch there (or that looks odd: a non-digit in the stamp, a CR, no newline yet) is left to it. The input sits in
 * linear memory at the same offsets as in the caller's chunk, followed by zeros where the chunk ends (a read past
 * the end of a Buffer gives undefined in JavaScript, and undefined compares as 0 does with every constant tested).
 * The caller may also read the file straight into linear memory (FastLane.readBuffers), each buffer with its own
 * zeros after it: then nothing is copied.
 */
#pragma clang fp contract(off)

#include <wasm_simd128.h>

typedef unsigned char u8;

#define OUT_CAP 4096
#define MAX_LINE 4096
/* Zeros the caller writes after the input (the longest read past a line end, plus a vector). */
#define PAD 512

/* Events: kind 0 request (a opcode, b nodeid, c unique, d pid) or 1 reply (a unique, b error, c len). */
static u8 okind[OUT_CAP];
static double oline[OUT_CAP];
static double ots[OUT_CAP];
static double oa[OUT_CAP];
static double ob[OUT_CAP];
static double oc[OUT_CAP];
static double od[OUT_CAP];

/* Parser state and counts, shared with the caller (indices in fast-lane.ts). */
enum {
  S_TS,        /* in/out: the parser's current time (ms) */
  S_EVENTS,    /* out: events written */
  S_LINES,     /* out: lines taken */
  S_REQ,       /* out: request lines */
  S_REP,       /* out: reply lines */
  S_QUEUE,     /* out: queue lines */
  S_BACK,      /* out: times the clock went backwards */
  S_STAMPS,    /* out: stamps resolved (the 'utc' clock count) */
  S_FRACMASK,  /* out: bit k set when a stamp with k fraction digits was resolved after one with another count */
  S_LASTFRAC,  /* in/out: fraction digits of the last resolved stamp (-1 none) */
  S_PEND_POS,  /* out: a stamp read but not resolved at the end (its '[' + 1), or -1 */
  S_PEND_FRAC, /* out: its fraction */
  S_PEND_FD,   /* out: its fraction digits */
  S_LINE0,     /* in: the line number of the line at pos */
  S_COUNT
};
static double st[S_COUNT];

extern u8 __heap_base;

#define EXPORT(name) __attribute__((export_name(#name)))

EXPORT(input) u8 *input(void) { return &__heap_base; }
EXPORT(state) double *state(void) { return st; }
EXPORT(out_kind) u8 *out_kind(void) { return okind; }
EXPORT(out_line) double *out_line(void) { return oline; }
EXPORT(out_ts) double *out_ts(void) { return ots; }
EXPORT(out_a) double *out_a(void) { return oa; }
EXPORT(out_b) double *out_b(void) { return ob; }
EXPORT(out_c) double *out_c(void) { return oc; }
EXPORT(out_d) double *out_d(void) { return od; }
EXPORT(out_capacity) int out_capacity(void) { return OUT_CAP; }

static const double P10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

static int num_end;

/* The first '\n' in [p, lim), or lim: 16 bytes at a time (the input is followed by zeros, so reading a vector
 * past lim stays inside memory). */
static inline __attribute__((always_inline)) int find_newline(const u8 *b, int p, int lim) {
  const v128_t nl = wasm_i8x16_splat(10);
  while (p < lim) {
    v128_t v = wasm_v128_load(b + p);
    int m = wasm_i8x16_bitmask(wasm_i8x16_eq(v, nl));
    if (m != 0) {
      int i = p + __builtin_ctz(m);
      return i < lim ? i : lim;
    }
    p += 16;
  }
  return lim;
}

/* readUint: an unsigned decimal at p (before e), or -1; num_end is the first byte after it. */
static inline __attribute__((always_inline)) double read_uint(const u8 *b, int p, int e) {
  double v = 0;
  int start = p;
  while (p < e) {
    int c = b[p];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p++;
  }
  num_end = p;
  return p == start ? -1 : v;
}

/* readInt: as readUint, with an optional '-'; *ok = 0 where the TypeScript parser gives NaN. */
static inline __attribute__((always_inline)) double read_int(const u8 *b, int p, int e, int *ok) {
  if (b[p] == 45) {
    double v = read_uint(b, p + 1, e);
    if (v < 0) {
      num_end = p;
      *ok = 0;
      return 0;
    }
    *ok = 1;
    return -v;
  }
  double v = read_uint(b, p, e);
  *ok = v >= 0;
  return v;
}

static int floor_div(int a, int b) {
  int q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

static int days_from_civil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int era = floor_div(y, 400);
  int yoe = y - era * 400;
  int doy = floor_div(153 * (m + (m > 2 ? -3 : 9)) + 2, 5) + d - 1;
  int doe = yoe * 365 + floor_div(yoe, 4) - floor_div(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

static int date_key = -1;
static int date_days = 0;

static inline __attribute__((always_inline)) int digit(const u8 *b, int i) { return b[i] >= 48 && b[i] <= 57; }

/* The stamp `YYYY-MM-DDTHH:MM:SS` at d has digits where setStamp reads them. */
static inline __attribute__((always_inline)) int stamp_digits(const u8 *b, int d) {
  return digit(b, d) && digit(b, d + 1) && digit(b, d + 2) && digit(b, d + 3) && digit(b, d + 5) &&
         digit(b, d + 6) && digit(b, d + 8) && digit(b, d + 9) && digit(b, d + 11) && digit(b, d + 12) &&
         digit(b, d + 14) && digit(b, d + 15) && digit(b, d + 17) && digit(b, d + 18);
}

/* The stamp's whole seconds (`YYYY-MM-DDTHH:MM:SS` at d, zone 0) in ms, as setStamp computes them. */
static inline __attribute__((always_inline)) double stamp_base_ms(const u8 *b, int d) {
  int t = d + 11;
  int key = (b[d] - 48) * 10000000 + (b[d + 1] - 48) * 1000000 + (b[d + 2] - 48) * 100000 +
            (b[d + 3] - 48) * 10000 + (b[d + 5] - 48) * 1000 + (b[d + 6] - 48) * 100 + (b[d + 8] - 48) * 10 +
            (b[d + 9] - 48);
  if (key != date_key) {
    date_key = key;
    date_days = days_from_civil(key / 10000, (key / 100) % 100, key % 100);
  }
  int sec = ((b[t] - 48) * 10 + (b[t + 1] - 48)) * 3600 + ((b[t + 3] - 48) * 10 + (b[t + 4] - 48)) * 60 +
            (b[t + 6] - 48) * 10 + (b[t + 7] - 48);
  return ((double)date_days * 86400 + sec - 0) * 1000;
}

/* setStamp for a Rust stamp (zone 0): the time in ms, from its whole seconds' and its fraction. */
static inline __attribute__((always_inline)) double stamp_ms(double base, double frac, int fd) {
  double ms = base;
  if (fd > 0) ms += (frac / P10[fd]) * 1000;
  return ms;
}

/*
 * The last stamp that passed the bracketPrefix tests: its 19 bytes (16 in a vector, 3 more) and its whole seconds
 * in ms. Those bytes decide the tests alone, so a line with the same bytes passes them too, with the same time:
 * nearly every line (Rust stamps whole seconds) is then checked with two compares instead of 17.
 */
static v128_t known_lo;
static unsigned known_hi = 0;
static int known = 0;
static double known_ms = 0;

/*
 * Take whole lines of the chunk at b (in linear memory: the input area, or a buffer the caller read the file into)
 * from pos (a line start) up to end (the chunk's length); positions are offsets in the chunk. Returns where it
 * stopped: end, the start of a partial last line, the start of a line it does not take, or the start of a line
 * when the event columns are full. Line numbers in out_line are absolute: st[S_LINE0] for the line at pos
 * (doubles, as the batches keep them, so the caller copies the columns whole).
 */
EXPORT(scan) int scan(const u8 *b, int pos, int end) {
  double ts = st[S_TS];
  double line0 = st[S_LINE0];
  int last_frac = (int)st[S_LASTFRAC];
  int n_ev = 0, n_lines = 0, n_req = 0, n_rep = 0, n_queue = 0, back = 0, stamps = 0, frac_mask = 0;
  int pend_pos = -1, pend_fd = 0;
  double pend_frac = 0;
  while (pos < end && n_ev < OUT_CAP) {
    int s = pos;
    int lim_nl = end - s > MAX_LINE ? s + MAX_LINE : end;
    int nl = find_newline(b, s, lim_nl);
    if (nl >= lim_nl) break;
    int e = nl;
    if (e == s || b[e - 1] == 13 || b[s] != 91) break;
    /* bracketPrefix: Rust env_logger */
    v128_t lo = wasm_v128_load(b + s + 1);
    unsigned hi = (unsigned)b[s + 17] | (unsigned)b[s + 18] << 8 | (unsigned)b[s + 19] << 16;
    double base;
    if (known && hi == known_hi && wasm_i8x16_all_true(wasm_i8x16_eq(lo, known_lo))) {
      base = known_ms;
    } else {
      if (!(b[s + 11] == 84 && b[s + 5] == 45 && b[s + 14] == 58)) break;
      if (!stamp_digits(b, s + 1)) break;
      base = stamp_base_ms(b, s + 1);
      known_lo = lo;
      known_hi = hi;
      known_ms = base;
      known = 1;
    }
    int p = s + 20;
    int fd = 0;
    double frac = 0;
    if (b[p] == 46) {
      p++;
      while (p < e && b[p] >= 48 && b[p] <= 57) {
        if (fd < 9) {
          frac = frac * 10 + (b[p] - 48);
          fd++;
        }
        p++;
      }
    }
    if (b[p] != 90 || b[p + 1] != 32) break;
    int q = p + 25;
    if (b[q] != 93) {
      q = p + 29;
      if (b[q] != 93) {
        q = p + 8;
        int lim = e < q + 120 ? e : q + 120;
        while (q < lim && b[q] != 93) q++;
        if (q >= lim) break;
      }
    }
    if (b[q + 1] != 32 && q + 1 != e) break;
    p = q + 2 < e ? q + 2 : e;
    /* classifyMessage */
    int c0 = b[p];
    int kind;
    double va, vb, vc, vd = -1;
    if (c0 == 82 /* R */) {
      if (b[p + 2] == 99 && b[p + 9] == 114 && b[p + 16] == 58 && p + 18 < e) {
        /* rustRequest */
        p += 18;
        int c = b[p];
        if (c != 111 || b[p + 6] != 61) break; /* also the 1.0/1.1 bare opcode */
        q = p + 7;
        int lim = e < q + 40 ? e : q + 40;
        while (q < lim && b[q] != 40) q++;
        double opcode = read_uint(b, q + 1, e);
        q = num_end;
        if (opcode < 0 || b[q] != 41 || b[q + 3] != 105 || b[q + 8] != 61) break;
        double nodeid = read_uint(b, q + 9, e);
        q = num_end;
        if (nodeid < 0 || b[q + 2] != 117 || b[q + 8] != 61) break;
        double unique = read_uint(b, q + 9, e);
        q = num_end;
        if (unique < 0 || b[q + 2] != 112 || b[q + 5] != 61) break;
        double pid = read_uint(b, q + 6, e);
        if (pid < 0) break;
        kind = 0;
        va = opcode;
        vb = nodeid;
        vc = unique;
        vd = pid;
      } else if (b[p + 2] == 112 && b[p + 8] == 32 && b[p + 1] == 101 && p + 9 < e) {
        /* rustReply */
        p += 9;
        if (b[p] == 79 && b[p + 1] == 75)
          q = p + 4;
        else if (b[p] == 69 && b[p + 4] == 82)
          q = p + 7;
        else
          break;
        if (b[q] != 104 || b[q + 8] != 79 || b[q + 18] != 123 || q + 20 > e) break;
        q += 20;
        double len = -1, error = 0, unique = -1;
        int has_error = 0, bad = 0;
        for (int field = 0; field < 3; field++) {
          int k = b[q];
          while (q < e && b[q] != 58) q++;
          q += 2;
          int ok;
          double v = read_int(b, q, e, &ok);
          if (!ok) {
            bad = 1;
            break;
          }
          q = num_end;
          if (k == 108)
            len = v;
          else if (k == 101) {
            error = v;
            has_error = 1;
          } else if (k == 117)
            unique = v;
          else {
            bad = 1;
            break;
          }
          if (b[q] == 32 && b[q + 1] == 40) {
            while (q < e && b[q] != 41) q++;
            q++;
          }
          if (b[q] == 44)
            q += 2;
          else
            break;
        }
        if (bad || unique < 0 || !has_error) break;
        kind = 1;
        va = unique;
        vb = error;
        vc = len;
      } else {
        break;
      }
    } else if (c0 == 81 /* Q */ && e - p == 11) {
      kind = 2;
    } else if (c0 == 72 /* H */ && e - p >= 18 && b[p + 1] == 73 && b[p + 2] == 80 && b[p + 3] == 82 &&
               b[p + 4] == 73 && b[p + 5] == 79 && b[p + 6] == 95 && b[p + 7] == 81 && b[p + 8] == 85 &&
               b[p + 9] == 69 && b[p + 10] == 85 && b[p + 11] == 69 && b[p + 12] == 95 && b[p + 13] == 69 &&
               b[p + 14] == 86 && b[p + 15] == 69 && b[p + 16] == 78 && b[p + 17] == 84) {
      kind = 2;
    } else {
      break;
    }
    if (kind == 2) {
      /* noise: the stamp waits, unresolved, as the TypeScript parser's stampBuf does */
      pend_pos = s + 1;
      pend_frac = frac;
      pend_fd = fd;
      n_queue++;
    } else {
      /* flushStamp → setStamp → noteClockFast */
      double ms = stamp_ms(base, frac, fd);
      if (fd != last_frac) {
        last_frac = fd;
        frac_mask |= 1 << fd;
      }
      if (ms < ts) back++;
      ts = ms;
      stamps++;
      pend_pos = -1;
      okind[n_ev] = (u8)kind;
      oline[n_ev] = line0 + n_lines;
      ots[n_ev] = ts;
      oa[n_ev] = va;
      ob[n_ev] = vb;
      oc[n_ev] = vc;
      od[n_ev] = vd;
      n_ev++;
      if (kind == 0)
        n_req++;
      else
        n_rep++;
    }
    n_lines++;
    pos = nl + 1;
  }
  st[S_TS] = ts;
  st[S_EVENTS] = n_ev;
  st[S_LINES] = n_lines;
  st[S_REQ] = n_req;
  st[S_REP] = n_rep;
  st[S_QUEUE] = n_queue;
  st[S_BACK] = back;
  st[S_STAMPS] = stamps;
  st[S_FRACMASK] = frac_mask;
  st[S_LASTFRAC] = last_frac;
  st[S_PEND_POS] = pend_pos;
  st[S_PEND_FRAC] = pend_frac;
  st[S_PEND_FD] = pend_fd;
  return pos;
}
