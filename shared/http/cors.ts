/** CORS headers so the project's dashboard (another origin) can call the functions. */
export const corsHeaders: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, x-sauvegarde-secret",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

/** Answers a CORS preflight, or returns undefined for any other request. */
export function preflight(request: Request): Response | undefined {
  if (request.method !== "OPTIONS") return undefined;
  return new Response(null, { status: 204, headers: corsHeaders });
}
