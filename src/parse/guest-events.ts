/**
 * Events produced from guest-side inputs: the serial console (raw or host-stamped), the lab's debug port, and a
 * bcvk-style `journalctl -o json` stream. All parsers in this area are pure and incremental; the streaming readers
 * live in `src/io/guest-sources.ts`.
 */

export type GuestSource = 'console' | 'journal' | 'debug-port';

/**
 * What a guest line tells about boot progress.
 *
 * - `unit-started` / `unit-finished` / `target-reached` / `unit-ok` (Mounted, Listening on, Created slice, Found
 *   device, ...): systemd made progress. `unit-ok` is an addition to the brief's list.
 * - `unit-starting` (`Starting X...`, `Mounting X...`, `Expecting device X...`): a job was queued and began.
 * - `unit-stopping` / `unit-stopped`: shutdown progress (still progress: the machine is moving).
 * - `unit-failed`: `[FAILED]`, `[DEPEND]`, `[ TIME ]` lines; the boot continues, so it counts as progress, but
 *   {@link ProgressBeacon.isFailure} is set.
 * - `start-job-waiting` / `stop-job-waiting`: the systemd spinner (`A start job is running for X (1min 2s / no
 *   limit)`, `(1 of 3) Job X/start running (13s / 1min 30s)`). A HANG INDICATOR, not progress.
 * - `login-prompt`: `host login:`; `poweroff`: the lab /init's `poweroff` marker, the kernel's `reboot: Power down`,
 *   `systemd-shutdown[1]: Powering off.`; `pattern`: a caller-supplied progress pattern matched.
 */
export type ProgressKind =
  | 'unit-started'
  | 'unit-finished'
  | 'unit-starting'
  | 'unit-ok'
  | 'unit-stopping'
  | 'unit-stopped'
  | 'target-reached'
  | 'unit-failed'
  | 'login-prompt'
  | 'start-job-waiting'
  | 'stop-job-waiting'
  | 'pattern'
  | 'poweroff';

export interface ProgressBeacon {
  kind: ProgressKind;
  /** What the beacon is about: unit text as printed (may be `…`-truncated on the console), or the matched text. */
  subject: string;
  /** Full unit name when it can be read reliably (journal `UNIT`, kmsg `systemd[1]:` lines, untruncated console). */
  unit?: string;
  /** False for hang indicators (`start-job-waiting`, `stop-job-waiting`), true otherwise. */
  isProgress: boolean;
  /** True for `unit-failed`. */
  isFailure?: boolean;
  /** For job-waiting beacons: how long the job has been running, in seconds (`1min 2s` → 62). */
  waitedS?: number;
  /** For job-waiting beacons: the job timeout in seconds, `null` for `no limit`. */
  limitS?: number | null;
}

/**
 * Guest lines that pin the guest's uptime to a virtiofs event, usable as clock anchors against the virtiofsd log
 * (see `src/analyze/clock.ts`).
 *
 * - `fuse-module-init`: `fuse: init (API version 7.38)`: the fuse module initialised. With fuse built in (6.12
 *   cloud kernel) this is ~1 s before the mount, so it is only a LOWER bound for the FUSE INIT request.
 * - `virtiofs-probe`: `virtiofs virtio0: ...`: the device was probed (lower bound as well).
 * - `virtiofs-mounted`: the guest says the mount is done (lab `/init`: `mounted virtiofs tag=...`, `virtiofs root
 *   mounted: ...`; kernel `VFS: Mounted root (virtiofs filesystem)`; systemd `Mounted sysroot.mount`). The kernel
 *   sends FUSE INIT asynchronously during mount(2), so INIT reaches virtiofsd at about this uptime.
 */
export type ClockAnchorKind = 'fuse-module-init' | 'virtiofs-probe' | 'virtiofs-mounted';

export interface GuestLine {
  source: GuestSource;
  /** 1-based line number (console, debug port) or line number of the record (journal) in its file. */
  line: number;
  /** Guest uptime in seconds: kernel `[   12.345678]` stamp, lab `[guest 1.51]`, or journal monotonic time. */
  uptime?: number;
  /**
   * Milliseconds since the epoch, UTC (fractional ms kept). From a host stamp prefix (host clock) or, for the
   * journal, the guest's CLOCK_REALTIME (QEMU sets the RTC from the host, so it is close to host UTC but only
   * second-accurate at boot; see `src/analyze/clock.ts`).
   */
  hostTime?: number;
  pid?: number;
  /** Process name: journal `_COMM` (15 chars max) or, without it, `SYSLOG_IDENTIFIER`; console `name` of `name[pid]:`. */
  comm?: string;
  /** Journal only: `SYSLOG_IDENTIFIER` (often the untruncated program name, `systemd-journald`). */
  ident?: string;
  /** systemd unit the line belongs to or is about (journal `_SYSTEMD_UNIT`/`UNIT`, console status line unit). */
  unit?: string;
  /** Tag of a `[tag 1.23] ...` lab line (`guest`, `rootfs`). */
  tag?: string;
  /** Cleaned text: no host stamp, no uptime stamp, no ANSI/CR/cursor control. */
  text: string;
  progress?: ProgressBeacon;
  anchor?: ClockAnchorKind;
  /** Journal only: `_BOOT_ID`. */
  bootId?: string;
  /** Journal only: `PRIORITY` (0 emerg … 7 debug). */
  priority?: number;
}
