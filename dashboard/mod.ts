/**
 * Sauvegarde's dashboard for a React app: `<BackupDashboard client={supabase} />` with the
 * app's Supabase client (the signed-in user's session), and the calls it makes.
 *
 * @module
 */
export { BackupDashboard, type BackupDashboardProps } from "./backup_dashboard.tsx";
export { ApiError, DashboardApi, type DashboardClient } from "./api.ts";
export { browserLocale, type Locale, pickLocale, translator } from "./i18n.ts";
export type * from "./types.ts";
