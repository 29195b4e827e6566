-- Sauvegarde: alert state (one row per check that ever went wrong) and the log of every
-- notification sent or attempted. Written by verification and notify with the service role;
-- backup admins read them from the dashboard, like backup_runs.

create table public.alert_state (
  -- The check id ("freshness.database", "integrity.storage", …): the dedupe key.
  key text primary key check (length(key) between 1 and 200),
  -- What the check says now.
  status text not null check (status in ('firing', 'resolved')),
  severity text not null check (severity in ('warn', 'fail')),
  title text not null,
  summary text not null,
  next_step text,
  opened_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  resolved_at timestamptz,
  -- What people were last told, and when: a send is due when this differs from the state
  -- above, or when a firing alert was last sent longer ago than the repeat interval.
  notified_status text check (notified_status in ('firing', 'resolved')),
  notified_severity text check (notified_severity in ('warn', 'fail')),
  last_sent_at timestamptz,
  -- Sends of the current episode (first notice and repeats).
  sends integer not null default 0,
  -- The verify run that last evaluated this alert.
  run_id uuid,
  updated_at timestamptz not null default now(),
  check (resolved_at is null or status = 'resolved')
);

comment on table public.alert_state is
  'Sauvegarde alerts: one row per verification check that went wrong, deduplicated by check id';

-- The dashboard's "open alerts" list.
create index alert_state_firing_idx on public.alert_state (opened_at desc) where status = 'firing';

create table public.notification_log (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  channel text not null check (channel in ('slack', 'webhook')),
  outcome text not null check (outcome in ('sent', 'failed')),
  attempts integer not null default 0,
  http_status integer,
  -- Why a channel failed, without secrets (webhook URLs are never written here).
  error text,
  severity text not null,
  title text not null,
  alert_key text,
  run_id uuid
);

comment on table public.notification_log is
  'Sauvegarde notifications: every message sent or attempted, per channel, with failures';

create index notification_log_created_idx on public.notification_log (created_at desc);
create index notification_log_failed_idx
  on public.notification_log (created_at desc) where outcome = 'failed';

alter table public.alert_state enable row level security;
alter table public.alert_state force row level security;
alter table public.notification_log enable row level security;
alter table public.notification_log force row level security;

revoke all on table public.alert_state, public.notification_log from public, anon, authenticated;
grant select on table public.alert_state, public.notification_log to authenticated;
grant all on table public.alert_state, public.notification_log to service_role;

create policy "backup admins read alerts" on public.alert_state
  for select to authenticated
  using ((select public.sauvegarde_is_admin()));

create policy "service role manages alerts" on public.alert_state
  for all to service_role
  using (true) with check (true);

create policy "backup admins read notifications" on public.notification_log
  for select to authenticated
  using ((select public.sauvegarde_is_admin()));

create policy "service role writes notifications" on public.notification_log
  for all to service_role
  using (true) with check (true);
