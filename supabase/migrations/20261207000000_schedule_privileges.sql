-- Who may change a Sauvegarde schedule may run SQL as postgres: pg_cron runs each job as the role
-- that scheduled it. Supabase's default privileges give anon, authenticated and service_role
-- EXECUTE and ALL on every new object in public, and the schedules migration took them back only
-- from the first two, so service_role could rewrite a job's command in sauvegarde_schedules and
-- have sauvegarde_set_schedule hand it to pg_cron. From here on:
-- - a job's command is the text in sauvegarde_job_command's body, which only a migration (its
--   owner) can replace; no row anyone writes is ever scheduled;
-- - sauvegarde_set_schedule and sauvegarde_call run with their caller's rights (their only
--   callers are postgres and pg_cron jobs run as postgres), and no API role may call them;
-- - sauvegarde_schedules is read-only to every API role.
-- Schedules are changed as before, as postgres (SQL editor, migrations):
--   select public.sauvegarde_set_schedule('database-backup-frequent', '*/15 * * * *');

-- The command of each job the migrations ship; null for any other name. A migration that adds or
-- changes a job replaces this function (and the job's row in sauvegarde_schedules).
create or replace function public.sauvegarde_job_command(job_name text) returns text
language sql immutable security invoker set search_path = '' as $$
  select case job_name
    when 'database-backup' then
      $c$select public.sauvegarde_call('trigger-backup', '{"kind":"database"}'::jsonb)$c$
    when 'database-backup-frequent' then
      $c$select public.sauvegarde_call('trigger-backup', '{"kind":"database"}'::jsonb)$c$
    when 'storage-snapshot' then
      $c$select public.sauvegarde_call('storage-snapshot', '{}'::jsonb)$c$
    when 'storage-snapshot-hourly' then
      $c$select public.sauvegarde_call('storage-snapshot', '{}'::jsonb)$c$
    when 'continue' then
      $c$select public.sauvegarde_call('trigger-backup', '{"continue":true}'::jsonb)$c$
    when 'verify' then
      $c$select public.sauvegarde_call('verify-backups', '{}'::jsonb, 60000)$c$
    when 'cron-history-prune' then
      $c$delete from cron.job_run_details where end_time < now() - interval '14 days'$c$
    when 'restore-test' then
      -- One live restore test at a time (a unique index enforces it): a tick while one is
      -- still queued or running adds nothing rather than failing.
      $c$insert into public.backup_runs (kind, trigger, requested_by)
      select 'restore_test', 'cron', 'pg_cron'
      where not exists (select from public.backup_runs
                        where kind = 'restore_test' and status in ('queued', 'running'))$c$
    when 'retention' then
      $c$insert into public.backup_runs (kind, trigger, requested_by)
      select 'prune', 'cron', 'pg_cron'
      where not exists (select from public.backup_runs
                        where kind = 'prune' and status in ('queued', 'running'))$c$
  end
$$;

-- Sets (or with null, removes) the schedule of one job of the suite, with its shipped command.
create or replace function public.sauvegarde_set_schedule(job_name text, schedule text)
returns void
language plpgsql security invoker set search_path = '' as $$
declare
  job_command text := public.sauvegarde_job_command(job_name);
begin
  if job_command is null then
    raise exception 'Unknown Sauvegarde job "%": see public.sauvegarde_schedules', job_name;
  end if;
  if schedule is null then
    if exists (select from cron.job where jobname = 'sauvegarde-' || job_name) then
      perform cron.unschedule('sauvegarde-' || job_name);
    end if;
  else
    perform cron.schedule('sauvegarde-' || job_name, schedule, job_command);
  end if;
end
$$;

-- Its callers are pg_cron jobs run as postgres: definer rights gave nothing to them, only to others.
alter function public.sauvegarde_call(text, jsonb, integer) security invoker;

revoke all on function public.sauvegarde_job_command(text)
  from public, anon, authenticated, service_role;
revoke all on function public.sauvegarde_set_schedule(text, text)
  from public, anon, authenticated, service_role;
revoke all on function public.sauvegarde_call(text, jsonb, integer)
  from public, anon, authenticated, service_role;

-- The table lists the suite (verification reads which jobs are on by default); admins and the
-- service role may read it, nobody but its owner writes it.
revoke all on table public.sauvegarde_schedules from public, anon, authenticated, service_role;
grant select on table public.sauvegarde_schedules to authenticated, service_role;
comment on column public.sauvegarde_schedules.command is
  'The command the job runs: a copy of public.sauvegarde_job_command(job), which is what is scheduled';

-- Undo whatever a writable table may have let through: rows and jobs of names the migrations do
-- not ship go, and every job of the suite gets its shipped command back (its schedule is kept).
delete from public.sauvegarde_schedules where public.sauvegarde_job_command(job) is null;
update public.sauvegarde_schedules set command = public.sauvegarde_job_command(job)
  where command is distinct from public.sauvegarde_job_command(job);
select cron.unschedule(jobid) from cron.job
  where jobname like 'sauvegarde-%'
    and public.sauvegarde_job_command(substr(jobname, length('sauvegarde-') + 1)) is null;
select cron.schedule(jobname, schedule, public.sauvegarde_job_command(job))
  from (select jobname, schedule, command, substr(jobname, length('sauvegarde-') + 1) as job
        from cron.job where jobname like 'sauvegarde-%') as suite
  where command is distinct from public.sauvegarde_job_command(job);
