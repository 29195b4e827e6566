-- Sauvegarde: every backup, snapshot, verification, restore test and prune is one row here.
-- The functions and the worker write it with the service role; the dashboard reads it with a
-- user JWT whose app_metadata marks a backup admin.

create table public.backup_runs (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in (
    'database', 'storage', 'verify', 'restore_test', 'prune', 'replicate', 'config_backup',
    'code_backup'
  )),
  status text not null default 'queued' check (status in (
    'queued', 'running', 'succeeded', 'failed', 'cancelled'
  )),
  trigger text not null check (trigger in ('cron', 'manual', 'api')),
  requested_by text,
  targets text[] not null default '{}',
  backup_id text,
  manifest_location text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  heartbeat_at timestamptz,
  finished_at timestamptz,
  bytes bigint not null default 0 check (bytes >= 0),
  items bigint not null default 0 check (items >= 0),
  attempts integer not null default 0,
  checkpoint jsonb not null default '{}'::jsonb,
  error text,
  details jsonb not null default '{}'::jsonb,
  check (finished_at is null or status in ('succeeded', 'failed', 'cancelled'))
);

comment on table public.backup_runs is
  'Sauvegarde runs: database backups, Storage snapshots, verifications, restore tests, prunes';

-- "Latest run of a kind in a status" (freshness checks, the dashboard, the next step to resume).
create index backup_runs_kind_status_created_idx
  on public.backup_runs (kind, status, created_at desc);
create index backup_runs_kind_finished_succeeded_idx
  on public.backup_runs (kind, finished_at desc) where status = 'succeeded';
-- Stale-heartbeat sweeps only look at live runs.
create index backup_runs_live_heartbeat_idx
  on public.backup_runs (heartbeat_at) where status in ('queued', 'running');
-- At most one live database backup and one live Storage snapshot, enforced by the database
-- itself so two concurrent triggers cannot both start one.
create unique index backup_runs_one_live_per_kind_idx
  on public.backup_runs (kind)
  where status in ('queued', 'running') and kind in ('database', 'storage', 'prune');

-- Who may read runs from the dashboard: a JWT whose app_metadata (set by the service role,
-- never by the user, unlike user_metadata) says backup_admin.
create or replace function public.sauvegarde_is_admin() returns boolean
language sql stable security invoker set search_path = '' as $$
  select coalesce(
    (auth.jwt() -> 'app_metadata' ->> 'backup_admin')::boolean,
    false
  ) or coalesce(auth.jwt() -> 'app_metadata' -> 'roles' ? 'backup_admin', false)
$$;

alter table public.backup_runs enable row level security;
alter table public.backup_runs force row level security;

revoke all on table public.backup_runs from public, anon, authenticated;
grant select on table public.backup_runs to authenticated;
grant all on table public.backup_runs to service_role;
revoke all on function public.sauvegarde_is_admin() from public, anon;
grant execute on function public.sauvegarde_is_admin() to authenticated, service_role;

create policy "backup admins read runs" on public.backup_runs
  for select to authenticated
  using ((select public.sauvegarde_is_admin()));

create policy "service role manages runs" on public.backup_runs
  for all to service_role
  using (true) with check (true);
