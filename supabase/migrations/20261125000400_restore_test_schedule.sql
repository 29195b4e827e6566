-- Sauvegarde's scheduled-job suite, continued: a monthly restore test and daily retention.
-- The jobs only queue a run in backup_runs. A restore test restores a whole database, which no
-- Edge Function can do, so the long-running worker (deno task cli worker) claims and runs it;
-- a prune run is claimed by the worker or by the "continue" tick, whichever comes first.
-- Change or pause them like the other jobs:
--   select public.sauvegarde_set_schedule('restore-test', '0 3 * * 0');  -- weekly instead
--   select public.sauvegarde_set_schedule('retention', null);             -- pause pruning

insert into public.sauvegarde_schedules (job, default_schedule, command, description) values
  ('restore-test', '0 3 1 * *',
   $c$insert into public.backup_runs (kind, trigger, requested_by)
      values ('restore_test', 'cron', 'pg_cron')$c$,
   'Monthly restore test: the worker restores the latest backup into a scratch database and checks it'),
  ('retention', '0 4 * * *',
   $c$insert into public.backup_runs (kind, trigger, requested_by)
      select 'prune', 'cron', 'pg_cron'
      where not exists (select from public.backup_runs
                        where kind = 'prune' and status in ('queued', 'running'))$c$,
   'Daily retention: the worker prunes backups beyond the retention policy and unreferenced blobs')
on conflict (job) do update set
  default_schedule = excluded.default_schedule,
  command = excluded.command,
  description = excluded.description;

select public.sauvegarde_set_schedule('restore-test', '0 3 1 * *');
select public.sauvegarde_set_schedule('retention', '0 4 * * *');
