/**
 * The dashboard's words in English and French (the runbook's team is French), chosen from the
 * browser's languages, and the formats of sizes, durations and times in the same language.
 *
 * @module
 */
import type { CheckStatus, RunKind, RunStatus } from "./types.ts";

/** A language the dashboard speaks. */
export type Locale = "en" | "fr";

const en = {
  title: "Backups",
  signedInAs: (who: string) => `Signed in as ${who}`,
  updated: (when: string) => `Updated ${when}`,
  loading: "Loading the backup status…",
  signedOutTitle: "Not signed in",
  signedOutText: "Sign in with a backup admin account to see and start backups.",
  forbiddenTitle: "Not a backup admin",
  forbiddenText: (who: string) =>
    `${who} is signed in but is not a backup admin. An admin sets app_metadata.backup_admin = true on the account (Supabase dashboard → Authentication → the user, or the admin API).`,
  unreachableTitle: "The functions cannot be reached",
  unreachableText:
    "No answer from the project's Edge Functions. Check that trigger-backup and verify-backups are deployed and the project is up; the page retries by itself.",
  retry: "Retry now",
  failedTitle: "The status could not be read",
  // Actions
  actions: "Actions",
  backupDatabase: "Back up the database",
  backupStorage: "Back up Storage",
  backupBoth: "Back up both",
  testRestore: "Test restore",
  verifyNow: "Verify now",
  confirmTitle: "Please confirm",
  confirm: "Confirm",
  cancel: "Cancel",
  confirmText: {
    database: "Start a database backup now?",
    storage: "Start a Storage snapshot now?",
    all: "Start a database backup and a Storage snapshot now?",
    restore_test:
      "Restore the latest database backup into a scratch database and check every table?",
    verify: "Verify the backups now (freshness, integrity, copies, schedules)?",
  },
  started: (what: string, id: string) => `${what} started (run ${id})`,
  waitsForWorker: (id: string) =>
    `Restore test queued (run ${id}): the worker (deno task cli worker) runs it`,
  conflict: (id: string) => `Already running: run ${id}. Following it instead of starting another.`,
  conflictNoRun: "Already running: wait for the run in progress to end.",
  finished: (what: string, status: string) => `${what} ${status}`,
  verified: (summary: string) => `Verification: ${summary}`,
  dismiss: "Dismiss",
  // Cards
  database: "Database",
  storage: "Storage",
  offsite: "Offsite",
  restoreTest: "Restore test",
  lastGood: "Last good",
  lastFailed: "Last failed",
  never: "never",
  objective: (limit: string) => `objective ${limit}`,
  withinObjective: "within objective",
  late: "late",
  failing: "failing",
  noBackup: "no backup yet",
  size: "Size",
  rto: "Last measured RTO",
  runningNow: "Running now",
  noOffsite: "No offsite target configured",
  targets: "Targets",
  // Alerts
  alerts: "Open alerts",
  noAlerts: "No open alerts",
  whatToDo: "What to do",
  since: (when: string) => `since ${when}`,
  // Runs
  runs: "Recent runs",
  allKinds: "All kinds",
  allStatuses: "All statuses",
  started_: "Started",
  kind: "Kind",
  status: "Status",
  trigger: "Trigger",
  duration: "Duration",
  items: "Items",
  details: "Details",
  loadMore: "Load more",
  noRuns: "No runs",
  progress: (bytes: string, items: string, beat: string) =>
    `${bytes}, ${items} items, heartbeat ${beat}`,
  // Checks and schedules
  checks: "Last verification",
  noVerification: "No verification has run yet",
  schedules: "Schedules",
  job: "Job",
  schedule: "Schedule",
  lastRun: "Last run",
  nextRun: "Next run",
  off: "off",
  pgCronMissing: "pg_cron is not installed: nothing runs on a schedule",
  // Sign-in (standalone page)
  email: "Email",
  password: "Password",
  signIn: "Sign in",
  signOut: "Sign out",
  kinds: {
    database: "Database backup",
    storage: "Storage snapshot",
    verify: "Verification",
    restore_test: "Restore test",
    prune: "Prune",
    replicate: "Replication",
    config_backup: "Config backup",
    code_backup: "Code backup",
    all: "Backups",
  } as Record<RunKind | "all", string>,
  statuses: {
    queued: "queued",
    running: "running",
    succeeded: "succeeded",
    failed: "failed",
    cancelled: "cancelled",
  } as Record<RunStatus, string>,
  checkStatuses: { ok: "ok", warn: "warning", fail: "failing" } as Record<CheckStatus, string>,
  triggers: { cron: "schedule", manual: "dashboard", api: "API" } as Record<string, string>,
};

/** Every word the dashboard shows. */
export type Messages = typeof en;

const fr: Messages = {
  title: "Sauvegardes",
  signedInAs: (who) => `Connecté en tant que ${who}`,
  updated: (when) => `Mis à jour ${when}`,
  loading: "Chargement de l'état des sauvegardes…",
  signedOutTitle: "Non connecté",
  signedOutText:
    "Connectez-vous avec un compte administrateur des sauvegardes pour les voir et les lancer.",
  forbiddenTitle: "Pas administrateur des sauvegardes",
  forbiddenText: (who) =>
    `${who} est connecté mais n'est pas administrateur des sauvegardes. Un administrateur met app_metadata.backup_admin = true sur le compte (tableau de bord Supabase → Authentication → l'utilisateur, ou l'API d'administration).`,
  unreachableTitle: "Les fonctions sont injoignables",
  unreachableText:
    "Aucune réponse des Edge Functions du projet. Vérifiez que trigger-backup et verify-backups sont déployées et que le projet est en ligne ; la page réessaie d'elle-même.",
  retry: "Réessayer",
  failedTitle: "L'état n'a pas pu être lu",
  actions: "Actions",
  backupDatabase: "Sauvegarder la base",
  backupStorage: "Sauvegarder le Storage",
  backupBoth: "Sauvegarder les deux",
  testRestore: "Tester la restauration",
  verifyNow: "Vérifier maintenant",
  confirmTitle: "Confirmation",
  confirm: "Confirmer",
  cancel: "Annuler",
  confirmText: {
    database: "Lancer une sauvegarde de la base maintenant ?",
    storage: "Lancer un instantané du Storage maintenant ?",
    all: "Lancer une sauvegarde de la base et un instantané du Storage maintenant ?",
    restore_test:
      "Restaurer la dernière sauvegarde de la base dans une base temporaire et vérifier chaque table ?",
    verify: "Vérifier les sauvegardes maintenant (fraîcheur, intégrité, copies, planifications) ?",
  },
  started: (what, id) => `${what} lancé(e) (exécution ${id})`,
  waitsForWorker: (id) =>
    `Test de restauration en file (exécution ${id}) : le worker (deno task cli worker) l'exécute`,
  conflict: (id) => `Déjà en cours : exécution ${id}. Suivie au lieu d'en lancer une autre.`,
  conflictNoRun: "Déjà en cours : attendez la fin de l'exécution en cours.",
  finished: (what, status) => `${what} : ${status}`,
  verified: (summary) => `Vérification : ${summary}`,
  dismiss: "Fermer",
  database: "Base de données",
  storage: "Storage",
  offsite: "Hors site",
  restoreTest: "Test de restauration",
  lastGood: "Dernière réussie",
  lastFailed: "Dernier échec",
  never: "jamais",
  objective: (limit) => `objectif ${limit}`,
  withinObjective: "dans l'objectif",
  late: "en retard",
  failing: "en échec",
  noBackup: "aucune sauvegarde",
  size: "Taille",
  rto: "Dernier RTO mesuré",
  runningNow: "En cours",
  noOffsite: "Aucune cible hors site configurée",
  targets: "Cibles",
  alerts: "Alertes ouvertes",
  noAlerts: "Aucune alerte ouverte",
  whatToDo: "Que faire",
  since: (when) => `depuis ${when}`,
  runs: "Exécutions récentes",
  allKinds: "Tous les types",
  allStatuses: "Tous les états",
  started_: "Début",
  kind: "Type",
  status: "État",
  trigger: "Déclencheur",
  duration: "Durée",
  items: "Éléments",
  details: "Détails",
  loadMore: "Afficher plus",
  noRuns: "Aucune exécution",
  progress: (bytes, items, beat) => `${bytes}, ${items} éléments, signe de vie ${beat}`,
  checks: "Dernière vérification",
  noVerification: "Aucune vérification n'a encore eu lieu",
  schedules: "Planifications",
  job: "Tâche",
  schedule: "Planification",
  lastRun: "Dernière exécution",
  nextRun: "Prochaine exécution",
  off: "désactivée",
  pgCronMissing: "pg_cron n'est pas installé : rien ne s'exécute automatiquement",
  email: "E-mail",
  password: "Mot de passe",
  signIn: "Se connecter",
  signOut: "Se déconnecter",
  kinds: {
    database: "Sauvegarde de la base",
    storage: "Instantané du Storage",
    verify: "Vérification",
    restore_test: "Test de restauration",
    prune: "Purge",
    replicate: "Réplication",
    config_backup: "Sauvegarde de la configuration",
    code_backup: "Sauvegarde du code",
    all: "Sauvegardes",
  },
  statuses: {
    queued: "en file",
    running: "en cours",
    succeeded: "réussie",
    failed: "en échec",
    cancelled: "annulée",
  },
  checkStatuses: { ok: "ok", warn: "avertissement", fail: "en échec" },
  triggers: { cron: "planification", manual: "tableau de bord", api: "API" },
};

const MESSAGES: Record<Locale, Messages> = { en, fr };

/** The first of the browser's languages the dashboard speaks; English otherwise. */
export function pickLocale(languages: readonly string[] | undefined): Locale {
  for (const language of languages ?? []) {
    const base = language.toLowerCase().split("-")[0];
    if (base === "fr" || base === "en") return base;
  }
  return "en";
}

/** The browser's choice (`navigator.languages`), or English outside a browser. */
export function browserLocale(): Locale {
  const nav = (globalThis as { navigator?: { languages?: string[]; language?: string } })
    .navigator;
  return pickLocale(nav?.languages?.length ? nav.languages : nav?.language ? [nav.language] : []);
}

/** The words and formats of one language. */
export interface Translator {
  locale: Locale;
  m: Messages;
  bytes(n: number): string;
  count(n: number): string;
  duration(seconds: number): string;
  ago(iso: string | null, now?: number): string;
  when(iso: string | null): string;
}

/** Words and formats for `locale`. */
export function translator(locale: Locale): Translator {
  const m = MESSAGES[locale];
  const tag = locale === "fr" ? "fr-FR" : "en-GB";
  const number = new Intl.NumberFormat(tag, { maximumFractionDigits: 1 });
  const relative = new Intl.RelativeTimeFormat(tag, { numeric: "auto" });
  const dates = new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeStyle: "short" });
  const duration = (seconds: number): string => {
    if (seconds < 90) return `${number.format(Math.round(seconds * 10) / 10)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    if (seconds < 72 * 3600) return `${Math.round(seconds / 3600)} h`;
    const days = Math.round(seconds / 86400);
    return locale === "fr" ? `${days} jours` : `${days} days`;
  };
  return {
    locale,
    m,
    bytes(n) {
      const units = locale === "fr" ? ["o", "Ko", "Mo", "Go", "To"] : ["B", "kB", "MB", "GB", "TB"];
      let value = n;
      let unit = 0;
      while (value >= 1000 && unit < units.length - 1) {
        value /= 1000;
        unit++;
      }
      return `${number.format(value)} ${units[unit]}`;
    },
    count: (n) => new Intl.NumberFormat(tag).format(n),
    duration,
    ago(iso, now = Date.now()) {
      if (!iso) return m.never;
      const seconds = (new Date(iso).getTime() - now) / 1000;
      const abs = Math.abs(seconds);
      if (abs < 60) return relative.format(Math.round(seconds), "second");
      if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
      if (abs < 86400 * 2) return relative.format(Math.round(seconds / 3600), "hour");
      return relative.format(Math.round(seconds / 86400), "day");
    },
    when: (iso) => (iso ? dates.format(new Date(iso)) : m.never),
  };
}
