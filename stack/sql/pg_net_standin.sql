-- TEST-ONLY stand-in for Supabase's pg_net extension, loaded by the local stack and never by
-- the migrations. Same schema, function signature and response table as pg_net, so the
-- scheduled-job migrations are exactly the ones a Supabase project runs. One difference, on
-- purpose and documented: real pg_net queues the request and sends it after the transaction
-- commits, from a background worker; this stand-in sends it at once from PL/Python (the
-- functions answer 202 immediately, so a cron job is not held up).

create extension if not exists plpython3u;
create schema if not exists net;

create table if not exists net._http_response (
  id bigint primary key,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create sequence if not exists net.http_request_queue_id_seq;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpython3u
as $$
import json, urllib.request, urllib.parse, urllib.error, socket
request_id = plpy.execute("select nextval('net.http_request_queue_id_seq') as id")[0]["id"]
target = url
query = json.loads(params) if params else {}
if query:
    target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query)
head = json.loads(headers) if headers else {}
data = (body if body is not None else "{}").encode("utf-8")
req = urllib.request.Request(target, data=data, headers=head, method="POST")
status, content, ctype, timed_out, error = None, None, None, False, None
resp_headers = {}
try:
    with urllib.request.urlopen(req, timeout=(timeout_milliseconds or 5000) / 1000.0) as r:
        status, content = r.status, r.read().decode("utf-8", "replace")
        ctype, resp_headers = r.headers.get("content-type"), dict(r.headers.items())
except urllib.error.HTTPError as e:
    status, content = e.code, e.read().decode("utf-8", "replace")
    ctype, resp_headers = e.headers.get("content-type"), dict(e.headers.items())
except (socket.timeout, TimeoutError):
    timed_out, error = True, "Timeout of %s ms reached" % timeout_milliseconds
except Exception as e:
    error = str(e)
plan = plpy.prepare(
    "insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg) values ($1, $2, $3, $4, $5, $6, $7)",
    ["bigint", "integer", "text", "jsonb", "text", "boolean", "text"])
plpy.execute(plan, [request_id, status, ctype, json.dumps(resp_headers), content, timed_out, error])
return request_id
$$;
