-- Sauvegarde: what the dashboard's status API needs of backup_runs.
-- 1. Recent runs, newest first, keyset-paged on (created_at, id), all of them or of one kind or
--    one status: one index each, so a page is an index scan at any depth and any table size
--    (kind and status together use backup_runs_kind_status_created_idx).
-- 2. One live restore test at a time, as for backups, snapshots and prunes: a "test restore"
--    button pressed twice gets 409 with the live run instead of queuing a second restore.

create index if not exists backup_runs_created_idx
  on public.backup_runs (created_at desc, id desc);
create index if not exists backup_runs_kind_created_idx
  on public.backup_runs (kind, created_at desc, id desc);
create index if not exists backup_runs_status_created_idx
  on public.backup_runs (status, created_at desc, id desc);

-- Restore tests queued twice before this migration: one stays (a running one first, else the
-- oldest), the others end, saying why.
with live as (
  select id, row_number() over (
    order by (status = 'running') desc, created_at, id) as n
  from public.backup_runs
  where kind = 'restore_test' and status in ('queued', 'running'))
update public.backup_runs r set
  status = 'cancelled',
  finished_at = now(),
  error = 'Cancelled: another restore test was already in progress (one at a time)'
from live where r.id = live.id and live.n > 1;

create unique index if not exists backup_runs_one_live_restore_test_idx
  on public.backup_runs (kind)
  where status in ('queued', 'running') and kind = 'restore_test';
