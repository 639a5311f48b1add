-- Accord store schema version 3, as released (src/accord/store/_rows.py), for the upgrade
-- test. {serial} is INTEGER on SQLite and an identity on PostgreSQL, {clustered} is
-- " WITHOUT ROWID" on SQLite and empty on PostgreSQL.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
  id TEXT PRIMARY KEY, version BIGINT NOT NULL, fields TEXT NOT NULL, provenance TEXT NOT NULL,
  chain_seq BIGINT NOT NULL, chain_head TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, outcome TEXT NOT NULL,
  approval TEXT, at DOUBLE PRECISION NOT NULL, trace_id TEXT, idem_key TEXT, request_hash TEXT,
  body TEXT NOT NULL, PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS decisions_id ON decisions (id);
CREATE INDEX IF NOT EXISTS decisions_approval ON decisions (approval) WHERE approval IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS decisions_idem ON decisions (customer, agent, idem_key)
  WHERE idem_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS touches (
  customer TEXT NOT NULL, id TEXT NOT NULL, decision_id TEXT NOT NULL, agent TEXT NOT NULL,
  channel TEXT NOT NULL, intent TEXT NOT NULL, action TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
  status TEXT NOT NULL, status_reason TEXT, seq BIGINT NOT NULL, proposal TEXT NOT NULL,
  PRIMARY KEY (customer, id)){clustered};
CREATE INDEX IF NOT EXISTS touches_customer_at ON touches (customer, at);
CREATE INDEX IF NOT EXISTS touches_id ON touches (id);
CREATE TABLE IF NOT EXISTS events (
  customer TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
  data TEXT NOT NULL, source TEXT, version BIGINT NOT NULL, PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS events_customer_at ON events (customer, at);
CREATE TABLE IF NOT EXISTS claims (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, purpose TEXT NOT NULL,
  until DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL,
  released INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (customer, id)){clustered};
CREATE TABLE IF NOT EXISTS commitments (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, product TEXT NOT NULL,
  offer TEXT NOT NULL, valid_until DOUBLE PRECISION NOT NULL, decision_id TEXT NOT NULL,
  touch_id TEXT, status TEXT NOT NULL, PRIMARY KEY (customer, id)){clustered};
CREATE TABLE IF NOT EXISTS spend (
  agent TEXT NOT NULL, day TEXT NOT NULL, shard INTEGER NOT NULL,
  usd DOUBLE PRECISION NOT NULL, tokens BIGINT NOT NULL, PRIMARY KEY (agent, day, shard))
  {clustered};
CREATE TABLE IF NOT EXISTS traces (
  trace_id TEXT PRIMARY KEY, usd DOUBLE PRECISION NOT NULL, tokens BIGINT NOT NULL,
  count BIGINT NOT NULL){clustered};
CREATE TABLE IF NOT EXISTS ledger (
  seq {serial} PRIMARY KEY, chain TEXT NOT NULL, chain_seq BIGINT NOT NULL, kind TEXT NOT NULL,
  at DOUBLE PRECISION NOT NULL, customer TEXT, agent TEXT, trace_id TEXT, parent_id TEXT,
  ref TEXT, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
  UNIQUE (chain, chain_seq));
CREATE INDEX IF NOT EXISTS ledger_trace ON ledger (trace_id) WHERE trace_id IS NOT NULL AND (ref IS NULL OR trace_id <> ref);
CREATE TABLE IF NOT EXISTS personal (
  customer TEXT NOT NULL, ref TEXT NOT NULL, salt TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (customer, ref)){clustered};
CREATE INDEX IF NOT EXISTS personal_ref ON personal (ref);
CREATE INDEX IF NOT EXISTS ledger_ref ON ledger (ref) WHERE ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS seats (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL, updated_by TEXT);
CREATE TABLE IF NOT EXISTS policies (
  version TEXT PRIMARY KEY, text TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL,
  applied_by TEXT);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS requests (
  principal TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
  response TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (principal, key));
CREATE TABLE IF NOT EXISTS handoffs (
  id TEXT PRIMARY KEY, sender TEXT NOT NULL, receiver TEXT NOT NULL, kind TEXT NOT NULL,
  customer TEXT, trace_id TEXT, parent_id TEXT, payload TEXT NOT NULL, artifacts TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL, due_at DOUBLE PRECISION, read_at DOUBLE PRECISION,
  acked_at DOUBLE PRECISION, via TEXT);
CREATE INDEX IF NOT EXISTS handoffs_receiver ON handoffs (receiver, acked_at);
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
  kinds TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_at DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, last_error TEXT,
  created_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
CREATE TABLE IF NOT EXISTS outbox (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, channel TEXT NOT NULL,
  address TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, due_at DOUBLE PRECISION NOT NULL, lease_owner TEXT,
  sender TEXT, ref TEXT, last_error TEXT, created_at DOUBLE PRECISION NOT NULL,
  sent_at DOUBLE PRECISION, PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, due_at);
CREATE INDEX IF NOT EXISTS outbox_address ON outbox (channel, address);
CREATE TABLE IF NOT EXISTS send_rates (
  sender TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS scheduled (
  customer TEXT NOT NULL, id TEXT NOT NULL, agent TEXT NOT NULL, status TEXT NOT NULL,
  due_at DOUBLE PRECISION NOT NULL, deadline DOUBLE PRECISION NOT NULL, proposal TEXT NOT NULL,
  approval TEXT, decisions TEXT NOT NULL, outcome TEXT, note TEXT,
  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (customer, id));
CREATE INDEX IF NOT EXISTS scheduled_due ON scheduled (status, due_at);
CREATE INDEX IF NOT EXISTS scheduled_id ON scheduled (id);
CREATE TABLE IF NOT EXISTS interfaces (
  agent TEXT NOT NULL, protocol TEXT NOT NULL, last_at DOUBLE PRECISION NOT NULL,
  count BIGINT NOT NULL, PRIMARY KEY (agent, protocol));
