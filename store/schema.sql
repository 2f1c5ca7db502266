-- The results store's schema and its migrations, in order (store/README.md).
--
-- Compiled into kvmqual (store/schema.c).  Each version begins with a line
--   -- version N: what it changes
-- and holds the SQL that takes a store from version N-1 to N.  store_open
-- applies, in one transaction, every version newer than the file's
-- PRAGMA user_version and records each in schema_migrations.  A version
-- that has shipped is never edited: a change is a new version at the end.
--
-- Times are UTC text, YYYY-MM-DDTHH:MM:SS.sssZ.  Constraint names appear
-- in SQLite's error text, so they are written to read well there
-- ("CHECK constraint failed: conditions_is_json").

-- version 1: initial schema: hosts, runs, checks, boot_samples, samples, verdicts, speedups

CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));

CREATE TABLE hosts (
  id INTEGER PRIMARY KEY,
  host_key TEXT NOT NULL UNIQUE,
  arch TEXT NOT NULL,
  model TEXT NOT NULL,
  soc TEXT NOT NULL,
  kernel_release TEXT NOT NULL,
  page_size INTEGER,
  first_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT,
  status TEXT NOT NULL DEFAULT 'running' CONSTRAINT run_status_known CHECK (status IN
    ('running', 'complete', 'incomplete', 'failed', 'interrupted')),
  reason TEXT,
  profile TEXT,
  suite_version TEXT,
  qemu_version TEXT,
  guest_image_hash TEXT,
  command_line TEXT,
  pid INTEGER NOT NULL,
  pid_start INTEGER,
  boot_id TEXT,
  probe_json TEXT CONSTRAINT probe_is_json CHECK (probe_json IS NULL OR json_valid(probe_json)));
CREATE INDEX runs_by_host_time ON runs(host_id, started_at);
CREATE INDEX runs_by_time ON runs(started_at);
CREATE INDEX runs_running ON runs(status) WHERE status = 'running';

CREATE TABLE checks (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  check_id TEXT NOT NULL,
  status TEXT NOT NULL,
  value TEXT,
  detail TEXT,
  hint TEXT);
CREATE INDEX checks_by_run ON checks(run_id);

CREATE TABLE boot_samples (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  accel TEXT NOT NULL CONSTRAINT boot_accel_known CHECK (accel IN ('kvm', 'tcg')),
  iteration INTEGER NOT NULL,
  total_ms REAL NOT NULL,
  before_kernel_ms REAL,
  kernel_ms REAL,
  userspace_ms REAL,
  flags TEXT);
CREATE INDEX boot_samples_by_run ON boot_samples(run_id, accel);

CREATE TABLE samples (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  accel TEXT NOT NULL CONSTRAINT sample_accel_known CHECK (accel IN ('kvm', 'tcg', 'native')),
  workload TEXT NOT NULL,
  metric TEXT NOT NULL,
  unit TEXT NOT NULL,
  value REAL,
  iteration INTEGER NOT NULL,
  higher_is_better INTEGER NOT NULL CHECK (higher_is_better IN (0, 1)),
  flags TEXT,
  conditions TEXT CONSTRAINT conditions_is_json CHECK (conditions IS NULL OR json_valid(conditions)));
CREATE INDEX samples_by_run ON samples(run_id);

CREATE TABLE verdicts (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  metric TEXT NOT NULL,
  value REAL,
  threshold REAL,
  op TEXT CONSTRAINT verdict_op_known CHECK (op IN ('<', '<=', '>', '>=')),
  status TEXT NOT NULL CONSTRAINT verdict_status_known CHECK (status IN ('pass', 'fail', 'skip')),
  detail TEXT);
CREATE INDEX verdicts_by_run ON verdicts(run_id);

CREATE TABLE speedups (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  workload TEXT NOT NULL,
  metric TEXT NOT NULL,
  kvm_over_tcg REAL,
  kvm_pct_of_native REAL,
  tcg_pct_of_native REAL,
  UNIQUE (run_id, workload, metric));

-- version 2: imported runs' provenance: run_sources

-- One row per run that kvmqual import brought in (none for a run made
-- here): where it came from, so that a run copied between stores keeps
-- saying so, and the export writes it out again.
CREATE TABLE run_sources (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  bundle TEXT NOT NULL,
  database TEXT,
  source_run_id INTEGER,
  exported_at TEXT,
  imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));

-- version 3: A/B experiments of kvmqual ab and kvmqual tune: ab_sessions, ab_experiments, ab_arms, ab_samples, ab_results

-- One kvmqual ab or kvmqual tune, owned like a run (pid, pid_start, boot_id:
-- recovered the same way when its process dies).
CREATE TABLE ab_sessions (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id),
  command TEXT NOT NULL CONSTRAINT ab_command_known CHECK (command IN ('ab', 'tune')),
  started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT,
  status TEXT NOT NULL DEFAULT 'running' CONSTRAINT ab_session_status_known CHECK (status IN
    ('running', 'complete', 'incomplete', 'failed', 'interrupted')),
  reason TEXT,
  accel TEXT,
  profile TEXT,
  suite_version TEXT,
  qemu_version TEXT,
  guest_image_hash TEXT,
  command_line TEXT,
  recommendation TEXT,
  pid INTEGER NOT NULL,
  pid_start INTEGER,
  boot_id TEXT,
  probe_json TEXT CONSTRAINT ab_probe_is_json CHECK (probe_json IS NULL OR json_valid(probe_json)));
CREATE INDEX ab_sessions_by_host_time ON ab_sessions(host_id, started_at);
CREATE INDEX ab_sessions_running ON ab_sessions(status) WHERE status = 'running';

-- One experiment: kvmqual ab's, or one setting of kvmqual tune (a setting
-- the host cannot vary is a row with status 'skipped' and the reason).
CREATE TABLE ab_experiments (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES ab_sessions(id) ON DELETE CASCADE,
  setting TEXT NOT NULL,
  title TEXT,
  status TEXT NOT NULL DEFAULT 'running' CONSTRAINT ab_experiment_status_known CHECK (status IN
    ('running', 'complete', 'failed', 'skipped', 'interrupted')),
  reason TEXT,
  rounds INTEGER,
  rule TEXT CONSTRAINT ab_rule_is_json CHECK (rule IS NULL OR json_valid(rule)),
  recommended_arm INTEGER,
  recommendation TEXT,
  confidence TEXT,
  because TEXT);
CREATE INDEX ab_experiments_by_session ON ab_experiments(session_id);

-- The configurations compared; arm 0 is the reference.
CREATE TABLE ab_arms (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES ab_experiments(id) ON DELETE CASCADE,
  arm INTEGER NOT NULL,
  name TEXT NOT NULL,
  spec TEXT,
  fragment TEXT,
  status TEXT NOT NULL DEFAULT 'ok' CONSTRAINT ab_arm_status_known CHECK (status IN ('ok', 'failed')),
  reason TEXT,
  vcpus TEXT,
  UNIQUE (experiment_id, arm));

-- Every sample: pass 0 is the experiment, 1.. its re-runs; rounds of the
-- arms with one index were taken in the same cycle (A B, then B A, ...).
CREATE TABLE ab_samples (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES ab_experiments(id) ON DELETE CASCADE,
  arm INTEGER NOT NULL,
  pass INTEGER NOT NULL,
  round INTEGER NOT NULL,
  workload TEXT NOT NULL,
  metric TEXT NOT NULL,
  unit TEXT NOT NULL,
  value REAL,
  higher_is_better INTEGER NOT NULL CHECK (higher_is_better IN (0, 1)),
  flags TEXT,
  conditions TEXT CONSTRAINT ab_conditions_is_json CHECK (conditions IS NULL OR json_valid(conditions)));
CREATE INDEX ab_samples_by_experiment ON ab_samples(experiment_id);

-- Each metric of each arm against arm 0: the decision reported (after the
-- re-runs) and the first pass's.
CREATE TABLE ab_results (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES ab_experiments(id) ON DELETE CASCADE,
  arm INTEGER NOT NULL,
  workload TEXT NOT NULL,
  metric TEXT NOT NULL,
  unit TEXT NOT NULL,
  higher_is_better INTEGER NOT NULL CHECK (higher_is_better IN (0, 1)),
  rounds INTEGER,
  ref_median REAL,
  arm_median REAL,
  change_pct REAL,
  ci_low_pct REAL,
  ci_high_pct REAL,
  ci_level REAL,
  p REAL,
  threshold_pct REAL,
  decision TEXT NOT NULL CONSTRAINT ab_decision_known CHECK (decision IN
    ('regression', 'improvement', 'no change', 'inconclusive', 'failed')),
  passes INTEGER NOT NULL,
  first_change_pct REAL,
  first_p REAL,
  first_decision TEXT,
  why TEXT,
  UNIQUE (experiment_id, arm, workload, metric));

-- version 4: the guest's own view of the CPU's vulnerabilities, per accelerator: guest_vulnerabilities

-- What the guest's kernel says of /sys/devices/system/cpu/vulnerabilities,
-- read through the agent after the first boot under each accelerator, to
-- be shown beside the host's (the probe document's cpu.vulnerabilities).
-- 'known': vulnerabilities maps each file's name to its text, as the
-- probe's check data does for the host.  'unknown': reason says why it
-- could not be read (no such directory in the guest, an agent error); the
-- run goes on either way.
CREATE TABLE guest_vulnerabilities (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  accel TEXT NOT NULL CONSTRAINT guest_vuln_accel_known CHECK (accel IN ('kvm', 'tcg')),
  status TEXT NOT NULL CONSTRAINT guest_vuln_status_known CHECK (status IN ('known', 'unknown')),
  reason TEXT,
  vulnerabilities TEXT CONSTRAINT guest_vulnerabilities_is_object CHECK (vulnerabilities IS NULL OR
    CASE WHEN json_valid(vulnerabilities) THEN json_type(vulnerabilities) = 'object' ELSE 0 END),
  CONSTRAINT guest_vuln_known_has_them CHECK ((status = 'known') = (vulnerabilities IS NOT NULL)),
  UNIQUE (run_id, accel));
