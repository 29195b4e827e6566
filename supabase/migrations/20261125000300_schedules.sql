-- Sauvegarde's scheduled-job suite: pg_cron jobs that call the functions through pg_net, the
-- documented Supabase way, with the project URL and the cron secret read from Vault at run
-- time (never stored in a migration). Store them once per project:
--   select vault.create_secret('https://<ref>.supabase.co', 'project_url');
--   select vault.create_secret('<SAUVEGARDE_CRON_SECRET>', 'sauvegarde_cron_secret');
-- Change a schedule with one call, no migration edit:
--   select public.sauvegarde_set_schedule('database-backup-frequent', '*/10 * * * *');
--   select public.sauvegarde_set_schedule('database-backup-frequent', null);  -- pause it

create extension if not exists pg_cron;
do $$
begin
  if not exists (select from pg_namespace where nspname = 'net') then
    create extension if not exists pg_net;
  end if;
end
$$;

-- Calls one of Sauvegarde's functions; returns pg_net's request id.
create or replace function public.sauvegarde_call(
  function_name text,
  body jsonb default '{}'::jsonb,
  timeout_ms integer default 10000
) returns bigint
language plpgsql security definer set search_path = '' as $$
declare
  base_url text;
  secret text;
begin
  select decrypted_secret into base_url from vault.decrypted_secrets where name = 'project_url';
  select decrypted_secret into secret from vault.decrypted_secrets
    where name = 'sauvegarde_cron_secret';
  if base_url is null or secret is null then
    raise exception 'Sauvegarde needs the Vault secrets project_url and sauvegarde_cron_secret';
  end if;
  return net.http_post(
    url := rtrim(base_url, '/') || '/functions/v1/' || function_name,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'x-sauvegarde-secret', secret
    ),
    body := body,
    timeout_milliseconds := timeout_ms
  );
end
$$;
revoke all on function public.sauvegarde_call(text, jsonb, integer) from public, anon, authenticated;

-- The suite: job name (without the sauvegarde- prefix) → default schedule and command.
create table public.sauvegarde_schedules (
  job text primary key,
  default_schedule text,
  command text not null,
  description text not null
);
alter table public.sauvegarde_schedules enable row level security;
revoke all on table public.sauvegarde_schedules from public, anon, authenticated;
grant all on table public.sauvegarde_schedules to service_role;
create policy "backup admins read schedules" on public.sauvegarde_schedules
  for select to authenticated using ((select public.sauvegarde_is_admin()));
grant select on table public.sauvegarde_schedules to authenticated;

insert into public.sauvegarde_schedules (job, default_schedule, command, description) values
  ('database-backup', '0 2 * * *',
   $c$select public.sauvegarde_call('trigger-backup', '{"kind":"database"}'::jsonb)$c$,
   'Daily database backup at 02:00'),
  ('database-backup-frequent', null,
   $c$select public.sauvegarde_call('trigger-backup', '{"kind":"database"}'::jsonb)$c$,
   'Frequent database backups for a 15-minute RPO (off until scheduled, e.g. */15 * * * *)'),
  ('storage-snapshot', '0 3 * * *',
   $c$select public.sauvegarde_call('storage-snapshot', '{}'::jsonb)$c$,
   'Daily Storage snapshot at 03:00'),
  ('storage-snapshot-hourly', null,
   $c$select public.sauvegarde_call('storage-snapshot', '{}'::jsonb)$c$,
   'Hourly Storage snapshots for a 1-hour RPO (off until scheduled, e.g. 0 * * * *)'),
  ('continue', '* * * * *',
   $c$select public.sauvegarde_call('trigger-backup', '{"continue":true}'::jsonb)$c$,
   'Resumes runs whose step ended or whose worker died (each call returns at once when idle)'),
  ('verify', '0 * * * *',
   $c$select public.sauvegarde_call('verify-backups', '{}'::jsonb, 60000)$c$,
   'Hourly verification: freshness, integrity, replication, runs'),
  ('cron-history-prune', '30 4 * * *',
   $c$delete from cron.job_run_details where end_time < now() - interval '14 days'$c$,
   'pg_cron never prunes its own history: keep 14 days');

-- Sets (or with null, removes) the schedule of one job of the suite.
create or replace function public.sauvegarde_set_schedule(job_name text, schedule text)
returns void
language plpgsql security definer set search_path = '' as $$
declare
  job_command text;
begin
  select command into job_command from public.sauvegarde_schedules where job = job_name;
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
revoke all on function public.sauvegarde_set_schedule(text, text) from public, anon, authenticated;

select public.sauvegarde_set_schedule(job, default_schedule)
from public.sauvegarde_schedules where default_schedule is not null;
