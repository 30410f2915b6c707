/* dothi-ops-panel.c: the operations room window. Owns a DothiLive engine
 * and follows its signals: source states, counters, alerts (with the
 * nearest street and a sound, a notification when unfocused); reads
 * sensors, incidents, readings and nearby assets in workers; moves
 * incidents through their workflow as audited edits in a worker. */
#define G_LOG_DOMAIN "dothi-ops-panel"

#include "config.h"
#include "dothi-ops-panel.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsecret/secret.h>
#include <math.h>
#include <string.h>

#include "dothi-error.h"
#include "dothi-format.h"
#include "dothi-incident.h"
#include "dothi-layer-info.h"
#include "dothi-search.h"
#include "dothi-sensor-chart.h"
#include "dothi-source-dialog.h"

/* Microseconds between two reads of the sensors or the incidents caused
 * by stored batches. */
#define REFRESH_INTERVAL (G_USEC_PER_SEC / 4)
/* Milliseconds: counters are redrawn at most this often. */
#define COUNTERS_INTERVAL 200
/* Seconds: sensors turn stale without any batch, so read them anyway. */
#define STALE_CHECK_SECONDS 30
/* Metres: a chosen incident is shown this far around; assets this near. */
#define ZOOM_HALF_SIZE 150.0
#define ASSET_RADIUS 150.0
#define ASSETS_PER_LAYER 3

/* The keyring entry of a source's password: the engine's schema
 * (dothi-live.c), so either finds what the other stored. */
static const SecretSchema source_schema = {
  "vn.dothi.Dothi.LiveSource", SECRET_SCHEMA_NONE,
  {
    { "dothi-source", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static const char *status_names[DOTHI_N_INCIDENT_STATUSES] = {
  /* Translators: incident status; vi: Đã tiếp nhận */
  NC_("incident status", "Received"),
  /* Translators: incident status; vi: Đã giao xử lý */
  NC_("incident status", "Assigned"),
  /* Translators: incident status; vi: Đang xử lý */
  NC_("incident status", "In Progress"),
  /* Translators: incident status; vi: Đã xử lý */
  NC_("incident status", "Resolved"),
  /* Translators: incident status; vi: Đã công khai */
  NC_("incident status", "Published"),
};

static const gint64 periods[] = { 24 * 3600, 7 * 86400, 30 * 86400 };

struct _DothiOpsPanel
{
  AdwWindow          parent_instance;

  /* Template */
  AdwToastOverlay   *toasts;
  AdwViewStack      *stack;
  GtkListBox        *sources_list;
  GtkListBox        *kinds_list;
  GtkLabel          *received_label;
  GtkLabel          *stored_label;
  GtkLabel          *duplicates_label;
  GtkLabel          *malformed_label;
  AdwActionRow      *malformed_row;
  AdwViewStackPage  *alerts_page;
  GtkListBox        *alerts_list;
  GtkDropDown       *status_filter;
  GtkListBox        *incidents_list;
  GtkStack          *detail_stack;
  GtkLabel          *detail_title;
  GtkLabel          *detail_description;
  AdwActionRow      *reporter_row;
  AdwActionRow      *photo_row;
  GtkLinkButton     *photo_link;
  AdwActionRow      *unit_row;
  AdwActionRow      *notes_row;
  AdwPreferencesGroup *status_group;
  AdwPreferencesGroup *advance_group;
  AdwEntryRow       *unit_entry;
  AdwEntryRow       *note_entry;
  GtkButton         *advance_button;
  AdwPreferencesGroup *assets_group;
  GtkListBox        *assets_list;
  GtkDropDown       *sensor_dropdown;
  GtkDropDown       *period_dropdown;
  DothiSensorChart  *chart;
  GtkSwitch         *replay_switch;
  GtkScale          *replay_scale;
  GtkAdjustment     *replay_adjustment;
  GtkLabel          *replay_label;

  DothiProject      *project;
  char              *path;
  DothiLive         *live;
  GCancellable      *cancellable;   /* every worker; cancelled in dispose */
  char              *error_message;

  GHashTable        *source_rows;   /* name → AdwActionRow (borrowed) */
  GHashTable        *source_status; /* name → text shown */

  DothiMapView      *map;           /* weak */
  DothiLiveLayer    *layer;

  /* Sensors: one read at a time, again if batches came meanwhile. */
  GPtrArray         *sensors;       /* DothiSensorState*, last read */
  gboolean           sensors_running, sensors_again;
  gint64             sensors_read_at;
  guint              sensors_timeout_id;
  guint              stale_id;
  GtkStringList     *sensor_ids;
  GCancellable      *chart_cancellable;

  GPtrArray         *incidents;     /* DothiIncident*, newest first */
  gboolean           incidents_running, incidents_again;
  gint64             incidents_read_at;
  guint              incidents_timeout_id;
  gint64             selected_fid;  /* -1: none */
  AdwActionRow      *status_rows[DOTHI_N_INCIDENT_STATUSES];
  guint              n_advancing;
  GCancellable      *assets_cancellable;

  guint              counters_id;
  GHashTable        *alert_rows;    /* sensor id → unacknowledged AdwActionRow */
  GHashTable        *thresholds;    /* kind → double[2] low, high (from alerts) */

  char              *street_layer;  /* a roads-like line layer, or NULL */
  char              *street_field;  /* its name field */

  GtkCssProvider    *wall_css;
};

G_DEFINE_FINAL_TYPE (DothiOpsPanel, dothi_ops_panel, ADW_TYPE_WINDOW)

enum {
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void schedule_sensors (DothiOpsPanel *self);
static void schedule_incidents (DothiOpsPanel *self);
static void show_detail (DothiOpsPanel *self);
static void update_chart (DothiOpsPanel *self);
static void update_sensor_ids (DothiOpsPanel *self);
static void update_alert_banner (DothiOpsPanel *self);

/* ---- helpers ------------------------------------------------------------ */

static GTimeZone *
ict (void)
{
  static GTimeZone *zone;

  /* Vietnam keeps UTC+7 all year: a fixed offset, no tzdata needed. */
  if (g_once_init_enter (&zone))
    g_once_init_leave (&zone, g_time_zone_new_offset (7 * 3600));
  return zone;
}

/* "23/11/2026 09:15:00" in ICT. */
static char *
format_ict (GDateTime *time)
{
  g_autoptr(GDateTime) local = g_date_time_to_timezone (time, ict ());

  return g_date_time_format (local, "%d/%m/%Y %H:%M:%S");
}

static char *
format_unix_ict (gint64 time)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (time);

  return utc != NULL ? format_ict (utc) : g_strdup ("");
}

/* An ISO 8601 time with its offset, shown in ICT; as stored if unreadable. */
static char *
format_iso_ict (const char *iso)
{
  g_autoptr(GDateTime) time = NULL;

  if (iso == NULL)
    return NULL;
  time = g_date_time_new_from_iso8601 (iso, NULL);
  return time != NULL ? format_ict (time) : g_strdup (iso);
}

static gint64
iso_to_unix (const char *iso)
{
  g_autoptr(GDateTime) time = iso ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;

  return time != NULL ? g_date_time_to_unix (time) : 0;
}

static const char *
status_name (DothiIncidentStatus status)
{
  if ((int) status < 0 || status >= DOTHI_N_INCIDENT_STATUSES)
    return "";
  return g_dpgettext2 (NULL, "incident status", status_names[status]);
}

static void
show_error (DothiOpsPanel *self,
            const GError  *error)
{
  AdwToast *toast;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_free (self->error_message);
  self->error_message = g_strdup (error->message);
  toast = adw_toast_new (error->message);
  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toasts, toast);
}

static void
set_label_count (GtkLabel *label,
                 gint64    value)
{
  g_autofree char *text = dothi_format_int64 (value);

  if (g_strcmp0 (gtk_label_get_text (label), text) != 0)
    gtk_label_set_text (label, text);
}

static void
notify_busy (DothiOpsPanel *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static const DothiIncident *
find_incident (DothiOpsPanel *self,
               gint64         fid)
{
  for (guint i = 0; self->incidents != NULL && i < self->incidents->len; i++)
    {
      const DothiIncident *incident = self->incidents->pdata[i];

      if (incident->fid == fid)
        return incident;
    }
  return NULL;
}

/* ---- sources ------------------------------------------------------------- */

static const char *
state_text (DothiLiveState state)
{
  switch (state)
    {
    case DOTHI_LIVE_CONNECTING:
      /* Translators: state of a live source */
      return C_("live source state", "Connecting…");
    case DOTHI_LIVE_CONNECTED:
      /* Translators: state of a live source */
      return C_("live source state", "Connected");
    case DOTHI_LIVE_RETRYING:
      /* Translators: state of a live source that lost its broker or server */
      return C_("live source state", "Retrying…");
    case DOTHI_LIVE_DISCONNECTED:
    default:
      /* Translators: state of a live source */
      return C_("live source state", "Stopped");
    }
}

static void
set_source_state (DothiOpsPanel  *self,
                  const char     *source,
                  DothiLiveState  state,
                  const char     *message)
{
  AdwActionRow *row = g_hash_table_lookup (self->source_rows, source);
  GtkWidget *button;
  char *text;

  if (row == NULL)
    return;
  if (state == DOTHI_LIVE_RETRYING && message != NULL && *message != '\0')
    /* Translators: state of a live source that lost its broker; the reason follows */
    text = g_strdup_printf (_("Retrying… %s"), message);
  else
    text = g_strdup (state_text (state));
  adw_action_row_set_subtitle (row, text);
  g_hash_table_replace (self->source_status, g_strdup (source), text);

  button = g_object_get_data (G_OBJECT (row), "button");
  gtk_button_set_label (GTK_BUTTON (button),
                        state == DOTHI_LIVE_DISCONNECTED
                        /* Translators: button that connects a live source */
                        ? _("_Start")
                        /* Translators: button that disconnects the live sources */
                        : _("S_top"));
  g_object_set_data (G_OBJECT (button), "running",
                     GINT_TO_POINTER (state != DOTHI_LIVE_DISCONNECTED));
}

static void
state_changed_cb (DothiLive      *live,
                  const char     *source,
                  DothiLiveState  state,
                  const char     *message,
                  DothiOpsPanel  *self)
{
  set_source_state (self, source, state, message);
}

typedef struct {
  DothiOpsPanel   *self;       /* weak: the panel may close meanwhile */
  char            *source;
  GtkPasswordEntry *entry;
  GtkCheckButton  *remember;
} PasswordAsk;

static void
password_ask_free (gpointer  data,
                   GClosure *closure)
{
  PasswordAsk *ask = data;

  g_clear_weak_pointer (&ask->self);
  g_free (ask->source);
  g_free (ask);
}

static void
start_with (DothiOpsPanel *self,
            const char    *source,
            const char    *password)
{
  g_autoptr(GError) error = NULL;

  if (!dothi_ops_panel_start_source (self, source, password, &error))
    show_error (self, error);
}

static void
password_stored_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* No keyring (a kiosk, a headless wall): the source still runs. */
  if (!secret_password_store_finish (result, &error))
    g_debug ("The password was not kept in the keyring: %s", error->message);
}

static void
password_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      PasswordAsk      *ask)
{
  const char *password = gtk_editable_get_text (GTK_EDITABLE (ask->entry));

  if (ask->self != NULL && g_strcmp0 (response, "start") == 0)
    {
      if (gtk_check_button_get_active (ask->remember))
        {
          /* Translators: label of a keyring entry; the source name follows */
          g_autofree char *label = g_strdup_printf (_("Dothi live source “%s”"), ask->source);

          secret_password_store (&source_schema, SECRET_COLLECTION_DEFAULT, label, password,
                                 NULL, password_stored_cb, NULL,
                                 "dothi-source", ask->source, NULL);
        }
      start_with (ask->self, ask->source, password);
    }
}

static void
ask_password (DothiOpsPanel *self,
              const char    *source,
              const char    *username)
{
  PasswordAsk *ask = g_new0 (PasswordAsk, 1);
  GtkWidget *dialog, *box;

  /* Translators: dialog heading; the source name follows */
  dialog = adw_message_dialog_new (GTK_WINDOW (self), NULL, NULL);
  adw_message_dialog_format_heading (ADW_MESSAGE_DIALOG (dialog),
                                     _("Password for “%s”"), source);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  /* Translators: dialog body; the user name follows */
                                  _("The source connects as “%s”. The password is not kept in the project."),
                                  username);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  ask->entry = GTK_PASSWORD_ENTRY (gtk_password_entry_new ());
  gtk_password_entry_set_show_peek_icon (ask->entry, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (ask->entry));
  /* Translators: check box of the password dialog of a live source */
  ask->remember = GTK_CHECK_BUTTON (gtk_check_button_new_with_mnemonic (_("_Remember in the keyring")));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (ask->remember));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    /* Translators: button of the password dialog */
                                    "cancel", _("_Cancel"),
                                    /* Translators: button of the password dialog */
                                    "start", _("_Connect"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "start",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "start");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_set_weak_pointer (&ask->self, self);
  ask->source = g_strdup (source);
  g_signal_connect_data (dialog, "response", G_CALLBACK (password_response_cb), ask,
                         password_ask_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct {
  char *source;
  char *username;
} Lookup;

static void
lookup_free (Lookup *lookup)
{
  g_free (lookup->source);
  g_free (lookup->username);
  g_free (lookup);
}

static void
password_found_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DothiOpsPanel *self = g_task_get_source_object (task);
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  char *password = secret_password_lookup_finish (result, &error);

  if (g_task_return_error_if_cancelled (task))
    {
      secret_password_free (password);
      return;
    }
  if (password != NULL)
    start_with (self, lookup->source, password);
  else
    ask_password (self, lookup->source, lookup->username);
  secret_password_free (password);
  g_task_return_boolean (task, TRUE);
}

/* Start: the keyring's password when the source has a user name and the
 * keyring has one, else the operator types it. */
static void
begin_start (DothiOpsPanel *self,
             const char    *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = dothi_live_source_dup (self->project, source, &error);
  JsonNode *root;
  const char *username = NULL;

  if (json == NULL)
    {
      show_error (self, error);
      return;
    }
  if (json_parser_load_from_data (parser, json, -1, NULL)
      && (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    username = json_object_get_string_member_with_default (json_node_get_object (root),
                                                           "username", NULL);
  if (username == NULL || *username == '\0')
    {
      start_with (self, source, NULL);
      return;
    }

  {
    GTask *task = g_task_new (self, self->cancellable, NULL, NULL);
    Lookup *lookup = g_new0 (Lookup, 1);

    lookup->source = g_strdup (source);
    lookup->username = g_strdup (username);
    g_task_set_task_data (task, lookup, (GDestroyNotify) lookup_free);
    secret_password_lookup (&source_schema, self->cancellable, password_found_cb, task,
                            "dothi-source", source, NULL);
  }
}

static void
source_button_clicked_cb (GtkButton     *button,
                          DothiOpsPanel *self)
{
  const char *source = g_object_get_data (G_OBJECT (button), "source");

  if (g_object_get_data (G_OBJECT (button), "running") != NULL)
    {
      /* This source alone; the header's Stop All stops every one. */
      if (self->live != NULL && dothi_live_stop_source (self->live, source))
        set_source_state (self, source, dothi_live_get_state (self->live, source), NULL);
    }
  else
    begin_start (self, source);
}

static void load_sources (DothiOpsPanel *self);

static void
source_saved_cb (DothiSourceDialog *dialog,
                 const char        *name,
                 DothiOpsPanel     *self)
{
  /* Translators: a live source's name */
  g_autofree char *text = g_strdup_printf (_("Saved source “%s”; it takes effect when it starts"), name);

  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (text));
  load_sources (self);
}

/* The source form over the panel, for @source or a new one (NULL). */
static DothiSourceDialog *
open_source_dialog (DothiOpsPanel *self,
                    const char    *source)
{
  DothiSourceDialog *dialog = dothi_source_dialog_new (GTK_WINDOW (self), self->project, source);

  g_signal_connect_object (dialog, "saved", G_CALLBACK (source_saved_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
edit_source_clicked_cb (GtkButton     *button,
                        DothiOpsPanel *self)
{
  open_source_dialog (self, g_object_get_data (G_OBJECT (button), "source"));
}

static void
add_source_activated_cb (AdwActionRow  *row,
                         DothiOpsPanel *self)
{
  open_source_dialog (self, NULL);
}

static void
load_sources (DothiOpsPanel *self)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = dothi_live_source_list (self->project, &error);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->sources_list))) != NULL)
    gtk_list_box_remove (self->sources_list, child);
  g_hash_table_remove_all (self->source_rows);
  if (names == NULL)
    {
      if (error != NULL)
        show_error (self, error);
      names = g_new0 (char *, 1);
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *button = gtk_button_new ();
      g_autofree char *name = g_strdup_printf ("ops-source-%s", names[i]);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), names[i]);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      gtk_widget_set_name (button, name);
      gtk_button_set_use_underline (GTK_BUTTON (button), TRUE);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (button), "source", g_strdup (names[i]), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (source_button_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
      g_object_set_data (G_OBJECT (row), "button", button);
      {
        GtkWidget *edit = gtk_button_new_from_icon_name ("document-edit-symbolic");
        g_autofree char *edit_name = g_strdup_printf ("ops-source-edit-%s", names[i]);

        gtk_widget_set_name (edit, edit_name);
        /* Translators: tooltip of the button opening a live source's form */
        gtk_widget_set_tooltip_text (edit, _("Edit Source"));
        gtk_widget_set_valign (edit, GTK_ALIGN_CENTER);
        gtk_widget_add_css_class (edit, "flat");
        g_object_set_data_full (G_OBJECT (edit), "source", g_strdup (names[i]), g_free);
        g_signal_connect (edit, "clicked", G_CALLBACK (edit_source_clicked_cb), self);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), edit);
      }
      gtk_list_box_append (self->sources_list, row);
      g_hash_table_insert (self->source_rows, g_strdup (names[i]), row);
      set_source_state (self, names[i],
                        self->live ? dothi_live_get_state (self->live, names[i])
                                   : DOTHI_LIVE_DISCONNECTED, NULL);
      gtk_widget_set_sensitive (button, self->live != NULL);
    }
  if (names[0] == NULL)
    {
      GtkWidget *row = adw_action_row_new ();

      /* Translators: the sources list of a project without live sources */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No live sources in this project"));
      gtk_list_box_append (self->sources_list, row);
    }
  {
    GtkWidget *row = adw_action_row_new ();

    /* Translators: row opening the form of a new live source */
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Add Source…"));
    adw_action_row_add_prefix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("list-add-symbolic"));
    gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
    gtk_widget_set_name (row, "ops-source-add");
    gtk_widget_set_sensitive (row, !dothi_project_get_read_only (self->project));
    g_signal_connect (row, "activated", G_CALLBACK (add_source_activated_cb), self);
    gtk_list_box_append (self->sources_list, row);
  }
}

/* ---- sensor kinds ---------------------------------------------------------- */

/* "1,50 – 6,00 bar · stale after 5 min": a kind's row subtitle. */
static char *
kind_summary (const DothiSensorKind *kind)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *low = isnan (kind->low) ? g_strdup ("…") : dothi_format_double (kind->low, 2);
  g_autofree char *high = isnan (kind->high) ? g_strdup ("…") : dothi_format_double (kind->high, 2);

  if (isnan (kind->low) && isnan (kind->high))
    /* Translators: a sensor kind without alarm thresholds */
    g_string_append (text, _("No thresholds"));
  else
    g_string_append_printf (text, "%s – %s", low, high);
  if (kind->unit != NULL)
    g_string_append_printf (text, " %s", kind->unit);
  if (kind->expected_interval > 0)
    {
      g_autofree char *minutes = dothi_format_double (kind->expected_interval / 60.0, 0);

      /* Translators: part of a sensor kind's summary; minutes */
      g_string_append_printf (text, _(" · stale after %s min"), minutes);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static GtkWidget *
kind_entry (GtkWidget  *expander,
            const char *kind,
            const char *key,
            const char *title,
            const char *text)
{
  GtkWidget *row = adw_entry_row_new ();
  g_autofree char *name = g_strdup_printf ("ops-kind-%s-%s", kind, key);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_editable_set_text (GTK_EDITABLE (row), text != NULL ? text : "");
  gtk_widget_set_name (row, name);
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), row);
  g_object_set_data (G_OBJECT (expander), key, row);
  return row;
}

static GtkWidget *
kind_spin (GtkWidget  *expander,
           const char *kind,
           const char *key,
           const char *title,
           const char *subtitle,
           double      min,
           double      max,
           double      value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (min, max, 1);
  g_autofree char *name = g_strdup_printf ("ops-kind-%s-%s", kind, key);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_widget_set_name (spin, name);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), row);
  g_object_set_data (G_OBJECT (expander), key, spin);
  return spin;
}

/* A threshold as typed: empty for none, a decimal point or comma. */
static gboolean
parse_threshold (const char *text,
                 const char *what,
                 double     *value,
                 GError    **error)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *end = NULL;

  *value = NAN;
  if (*copy == '\0')
    return TRUE;
  g_strdelimit (copy, ",", '.');
  *value = g_ascii_strtod (copy, &end);
  if (end == copy || *end != '\0' || !isfinite (*value))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a threshold's name (Low threshold), then what was typed */
                   _("%s: “%s” is not a number"), what, text);
      return FALSE;
    }
  return TRUE;
}

static void load_kinds (DothiOpsPanel *self);

static gboolean
load_kinds_idle_cb (gpointer data)
{
  DothiOpsPanel *self = data;

  if (self->project != NULL)
    load_kinds (self);
  return G_SOURCE_REMOVE;
}

/* Stores a kind, then the engine and the map take it at once. */
static gboolean
save_kind (DothiOpsPanel         *self,
           const DothiSensorKind *kind)
{
  g_autoptr(GError) error = NULL;

  if (!dothi_live_kind_save (self->project, kind, &error)
      || (self->live != NULL && !dothi_live_reload_kinds (self->live, &error)))
    {
      show_error (self, error);
      return FALSE;
    }
  {
    /* Translators: a sensor kind's name */
    g_autofree char *text = g_strdup_printf (_("Saved sensor kind “%s”"),
                                             kind->title != NULL && *kind->title ? kind->title : kind->kind);

    adw_toast_overlay_add_toast (self->toasts, adw_toast_new (text));
  }
  /* After the button's own handler: the rows are made anew. */
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, load_kinds_idle_cb, g_object_ref (self), g_object_unref);
  /* Levels and stale states under the new values; the chart's lines. */
  schedule_sensors (self);
  return TRUE;
}

static void
kind_save_clicked_cb (GtkButton     *button,
                      DothiOpsPanel *self)
{
  GtkWidget *expander = g_object_get_data (G_OBJECT (button), "expander");
  g_autoptr(GError) error = NULL;
  DothiSensorKind kind = { 0 };
  g_autofree char *title = NULL;
  g_autofree char *unit = NULL;

  kind.kind = g_object_get_data (G_OBJECT (expander), "kind");
  title = g_strstrip (g_strdup (gtk_editable_get_text (g_object_get_data (G_OBJECT (expander), "title"))));
  unit = g_strstrip (g_strdup (gtk_editable_get_text (g_object_get_data (G_OBJECT (expander), "unit"))));
  kind.title = title;
  kind.unit = unit;
  /* Translators: name of the low threshold in an error */
  if (!parse_threshold (gtk_editable_get_text (g_object_get_data (G_OBJECT (expander), "low")),
                        _("Low threshold"), &kind.low, &error)
      /* Translators: name of the high threshold in an error */
      || !parse_threshold (gtk_editable_get_text (g_object_get_data (G_OBJECT (expander), "high")),
                           _("High threshold"), &kind.high, &error))
    {
      show_error (self, error);
      return;
    }
  kind.expected_interval = 60 * gtk_spin_button_get_value_as_int (g_object_get_data (G_OBJECT (expander), "interval"));
  kind.raw_days = gtk_spin_button_get_value_as_int (g_object_get_data (G_OBJECT (expander), "raw-days"));
  save_kind (self, &kind);
}

static void
new_kind_applied_cb (AdwEntryRow   *row,
                     DothiOpsPanel *self)
{
  g_autofree char *id = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  DothiSensorKind kind = { id, NULL, NULL, NAN, NAN, 0, 0 };

  if (*id == '\0')
    return;
  save_kind (self, &kind);
}

static void
load_kinds (DothiOpsPanel *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) kinds = dothi_live_kind_list (self->project, &error);
  GtkWidget *child, *row;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->kinds_list))) != NULL)
    gtk_list_box_remove (self->kinds_list, child);
  if (kinds == NULL)
    {
      show_error (self, error);
      return;
    }
  for (guint i = 0; i < kinds->len; i++)
    {
      const DothiSensorKind *kind = kinds->pdata[i];
      GtkWidget *expander = adw_expander_row_new ();
      GtkWidget *save_row = adw_action_row_new ();
      GtkWidget *save = gtk_button_new_with_mnemonic (_("_Save"));
      g_autofree char *summary = kind_summary (kind);
      g_autofree char *name = g_strdup_printf ("ops-kind-%s", kind->kind);
      g_autofree char *save_name = g_strdup_printf ("ops-kind-%s-save", kind->kind);
      g_autofree char *low = isnan (kind->low) ? NULL : dothi_format_double (kind->low, 2);
      g_autofree char *high = isnan (kind->high) ? NULL : dothi_format_double (kind->high, 2);
      g_autofree char *heading = kind->title != NULL
                                 ? g_strdup_printf ("%s (%s)", kind->title, kind->kind)
                                 : g_strdup (kind->kind);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (expander), heading);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (expander), FALSE);
      adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (expander), summary);
      gtk_widget_set_name (expander, name);
      g_object_set_data_full (G_OBJECT (expander), "kind", g_strdup (kind->kind), g_free);
      /* Translators: a sensor kind's name for people, such as “Áp lực nước” */
      kind_entry (expander, kind->kind, "title", C_ ("sensor kind", "Name"), kind->title);
      /* Translators: a sensor kind's unit, such as “bar” */
      kind_entry (expander, kind->kind, "unit", C_ ("measurement", "Unit"), kind->unit);
      /* Translators: the value under which a reading raises an alert; empty for none */
      kind_entry (expander, kind->kind, "low", _("Low threshold"), low);
      /* Translators: the value over which a reading raises an alert; empty for none */
      kind_entry (expander, kind->kind, "high", _("High threshold"), high);
      /* Translators: minutes without a reading after which a sensor shows as stale */
      kind_spin (expander, kind->kind, "interval", _("Stale after (minutes)"), _("0: never"),
                 0, 60 * 24 * 30, kind->expected_interval / 60.0);
      /* Translators: days raw readings are kept before they become hourly means */
      kind_spin (expander, kind->kind, "raw-days", _("Raw readings kept (days)"),
                 _("Older ones become hourly means"), 1, 90, kind->raw_days > 0 ? kind->raw_days : 90);
      gtk_widget_set_name (save, save_name);
      gtk_widget_set_valign (save, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (save, "suggested-action");
      g_object_set_data (G_OBJECT (save), "expander", expander);
      g_signal_connect (save, "clicked", G_CALLBACK (kind_save_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (save_row), save);
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), save_row);
      gtk_list_box_append (self->kinds_list, expander);
    }
  row = adw_entry_row_new ();
  /* Translators: entry adding a sensor kind by its identifier, such as “muc-nuoc” */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("New kind (identifier)"));
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
  gtk_widget_set_name (row, "ops-kind-new");
  g_signal_connect (row, "apply", G_CALLBACK (new_kind_applied_cb), self);
  gtk_list_box_append (self->kinds_list, row);
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (widget);
  GHashTableIter iter;
  gpointer key;

  if (self->live == NULL)
    return;
  /* The engine stops every source at once (and stores what is pending). */
  dothi_live_stop (self->live);
  g_hash_table_iter_init (&iter, self->source_rows);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    set_source_state (self, key, dothi_live_get_state (self->live, key), NULL);
  schedule_sensors (self);
}

/* ---- counters ------------------------------------------------------------ */

static gboolean
update_counters_cb (gpointer data)
{
  DothiOpsPanel *self = data;
  DothiLiveStats stats = { 0 };

  self->counters_id = 0;
  if (self->live == NULL)
    return G_SOURCE_REMOVE;
  dothi_live_get_stats (self->live, &stats);
  set_label_count (self->received_label, stats.received);
  set_label_count (self->stored_label, stats.stored);
  set_label_count (self->duplicates_label, stats.duplicates);
  set_label_count (self->malformed_label, stats.malformed);
  return G_SOURCE_REMOVE;
}

static void
schedule_counters (DothiOpsPanel *self)
{
  if (self->counters_id == 0)
    self->counters_id = g_timeout_add (COUNTERS_INTERVAL, update_counters_cb, self);
}

/* New readings reach the map from the engine's memory, without a read
 * of the database: publish → map is the batch plus one frame. */
static void
apply_sensor_changes (DothiOpsPanel *self)
{
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GHashTable) index = NULL;
  gint64 stored_row = 0;
  gboolean added = FALSE;

  changes = dothi_live_take_changes (self->live, &stored_row);
  if (changes->len == 0)
    return;
  if (self->sensors == NULL)
    self->sensors = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_sensor_state_free);
  index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->sensors->len; i++)
    g_hash_table_insert (index, ((DothiSensorState *) self->sensors->pdata[i])->sensor_id,
                         GUINT_TO_POINTER (i + 1));
  for (guint i = 0; i < changes->len; i++)
    {
      DothiSensorState *change = changes->pdata[i];
      guint at = GPOINTER_TO_UINT (g_hash_table_lookup (index, change->sensor_id));

      if (at > 0)
        {
          DothiSensorState *old = self->sensors->pdata[at - 1];

          /* A position read before (the sensors table) stays. */
          if (isnan (change->x) && !isnan (old->x))
            {
              change->x = old->x;
              change->y = old->y;
            }
          self->sensors->pdata[at - 1] = change;
          dothi_sensor_state_free (old);
        }
      else
        {
          g_ptr_array_add (self->sensors, change);
          g_hash_table_insert (index, change->sensor_id, GUINT_TO_POINTER (self->sensors->len));
          added = TRUE;
        }
      changes->pdata[i] = NULL;
    }
  if (self->layer != NULL)
    {
      dothi_live_layer_set_sensors (self->layer, self->sensors);
      dothi_live_layer_set_data_mark (self->layer, stored_row);
    }
  if (added)
    update_sensor_ids (self);
}

static void
batch_cb (DothiLive     *live,
          guint          n_readings,
          guint          n_incidents,
          DothiOpsPanel *self)
{
  schedule_counters (self);
  if (n_readings > 0)
    {
      apply_sensor_changes (self);
      /* The chart on show follows new readings, at most four times a
       * second (it reads the database). */
      if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "history") == 0)
        schedule_sensors (self);
    }
  if (n_incidents > 0)
    schedule_incidents (self);
}

static void
rejected_cb (DothiLive     *live,
             const char    *source,
             const char    *reason,
             DothiOpsPanel *self)
{
  /* Translators: subtitle of the Malformed counter; the reason the last
   * message was rejected follows */
  g_autofree char *text = g_strdup_printf (_("Last: %s"), reason);

  adw_action_row_set_subtitle (self->malformed_row, text);
  schedule_counters (self);
}

/* ---- sensors ------------------------------------------------------------- */

static void
read_sensors_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *sensors = dothi_live_sensors (task_data, 0, &error);

  if (sensors == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, sensors, (GDestroyNotify) g_ptr_array_unref);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The History page's sensor list, kept as is while the set is the same. */
static void
update_sensor_ids (DothiOpsPanel *self)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sensor_ids));
  gboolean same;

  for (guint i = 0; i < self->sensors->len; i++)
    g_ptr_array_add (ids, ((DothiSensorState *) self->sensors->pdata[i])->sensor_id);
  g_ptr_array_sort (ids, compare_strings);
  same = ids->len == n;
  for (guint i = 0; same && i < n; i++)
    same = g_strcmp0 (ids->pdata[i], gtk_string_list_get_string (self->sensor_ids, i)) == 0;
  if (same)
    return;
  g_ptr_array_add (ids, NULL);
  gtk_string_list_splice (self->sensor_ids, 0, n, (const char * const *) ids->pdata);
}

static void
sensors_read_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *sensors = g_task_propagate_pointer (G_TASK (result), &error);
  DothiOpsPanel *self;

  if (sensors == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = DOTHI_OPS_PANEL (object);
  self->sensors_running = FALSE;
  if (sensors == NULL)
    {
      /* No companion database yet: nothing stored, nothing to show. */
      if (!g_error_matches (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND))
        show_error (self, error);
    }
  else
    {
      g_clear_pointer (&self->sensors, g_ptr_array_unref);
      self->sensors = sensors;
      if (self->layer != NULL)
        dothi_live_layer_set_sensors (self->layer, sensors);
      update_sensor_ids (self);
      /* New readings: the chart on show follows them. */
      if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "history") == 0)
        update_chart (self);
    }
  if (self->sensors_again)
    schedule_sensors (self);
}

static void
read_sensors (DothiOpsPanel *self)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, sensors_read_cb, NULL);

  self->sensors_running = TRUE;
  self->sensors_again = FALSE;
  self->sensors_read_at = g_get_monotonic_time ();
  g_task_set_source_tag (task, read_sensors);
  g_task_set_task_data (task, g_strdup (self->path), g_free);
  g_task_run_in_thread (task, read_sensors_thread);
}

static gboolean
sensors_timeout_cb (gpointer data)
{
  DothiOpsPanel *self = data;

  self->sensors_timeout_id = 0;
  read_sensors (self);
  return G_SOURCE_REMOVE;
}

/* At most one read running and four a second, however fast batches come. */
static void
schedule_sensors (DothiOpsPanel *self)
{
  gint64 since = g_get_monotonic_time () - self->sensors_read_at;

  if (self->sensors_running)
    {
      self->sensors_again = TRUE;
      return;
    }
  if (self->sensors_timeout_id != 0)
    return;
  if (since >= REFRESH_INTERVAL)
    read_sensors (self);
  else
    self->sensors_timeout_id = g_timeout_add ((REFRESH_INTERVAL - since) / 1000 + 1,
                                              sensors_timeout_cb, self);
}

static gboolean
stale_check_cb (gpointer data)
{
  schedule_sensors (data);
  return G_SOURCE_CONTINUE;
}

/* ---- alerts -------------------------------------------------------------- */

static const DothiSensorState *
find_sensor (DothiOpsPanel *self,
             const char    *sensor_id)
{
  for (guint i = 0; self->sensors != NULL && i < self->sensors->len; i++)
    {
      const DothiSensorState *state = self->sensors->pdata[i];

      if (g_strcmp0 (state->sensor_id, sensor_id) == 0)
        return state;
    }
  return NULL;
}

typedef struct {
  char          *path;
  char          *sensor_id;
  char          *layer;
  char          *field;
  double         x, y;        /* NAN: look the sensor up */
  char          *unit;        /* NULL: look the sensor up; filled by the worker */
  AdwActionRow  *row;         /* referenced */
} StreetJob;

/* What an alert row shows, kept on the row ("alert"). */
typedef struct {
  double    value, threshold;
  gboolean  high;
  char     *unit;
} AlertInfo;

static void
alert_info_free (AlertInfo *info)
{
  g_free (info->unit);
  g_free (info);
}

static void
street_job_free (StreetJob *job)
{
  g_free (job->path);
  g_free (job->sensor_id);
  g_free (job->layer);
  g_free (job->field);
  g_free (job->unit);
  g_clear_object (&job->row);
  g_free (job);
}

/* Distance from a point to a bbox (0 inside). */
static double
bbox_distance (const double bbox[4], double x, double y)
{
  double dx = MAX (MAX (bbox[0] - x, 0.0), x - bbox[2]);
  double dy = MAX (MAX (bbox[1] - y, 0.0), y - bbox[3]);

  return hypot (dx, dy);
}

/* The nearest named feature of the street layer: identify within growing
 * radii, the first that finds one decides (so the answer is within a
 * factor of the true nearest), the nearest extent among those found. */
static void
find_street_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  static const double radii[] = { 15, 50, 150, 500 };
  StreetJob *job = task_data;
  const char *layers[] = { job->layer, NULL };
  double x = job->x, y = job->y;

  /* The alert may come before the panel has read its sensor. */
  if (!isfinite (x) || !isfinite (y) || job->unit == NULL)
    {
      g_autoptr(GPtrArray) sensors = dothi_live_sensors (job->path, 0, NULL);

      for (guint i = 0; sensors != NULL && i < sensors->len; i++)
        {
          const DothiSensorState *state = sensors->pdata[i];

          if (g_strcmp0 (state->sensor_id, job->sensor_id) == 0)
            {
              x = state->x, y = state->y;
              g_free (job->unit);
              job->unit = g_strdup (state->unit);
            }
        }
    }
  if (job->layer == NULL || !isfinite (x) || !isfinite (y))
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  for (guint r = 0; r < G_N_ELEMENTS (radii); r++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) found = dothi_identify_sync (job->path, layers, x, y, radii[r],
                                                        cancellable, &error);
      const char *best = NULL;
      double best_distance = G_MAXDOUBLE;

      if (found == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      for (guint i = 0; i < found->len; i++)
        {
          const DothiIdentifyResult *feature = found->pdata[i];
          double d = bbox_distance (feature->bbox, x, y);

          for (guint k = 0; k < feature->names->len; k++)
            if (g_strcmp0 (feature->names->pdata[k], job->field) == 0
                && feature->values->pdata[k] != NULL && *(char *) feature->values->pdata[k] != '\0'
                && d < best_distance)
              {
                best = feature->values->pdata[k];
                best_distance = d;
              }
        }
      if (best != NULL)
        {
          g_task_return_pointer (task, g_strdup (best), g_free);
          return;
        }
    }
  g_task_return_pointer (task, NULL, NULL);
}

static void
set_alert_subtitle (AdwActionRow *row)
{
  const AlertInfo *info = g_object_get_data (G_OBJECT (row), "alert");
  const char *street = g_object_get_data (G_OBJECT (row), "street-text");
  const char *time = g_object_get_data (G_OBJECT (row), "time-text");
  const char *unit = info->unit ? info->unit : "";
  g_autofree char *v = dothi_format_double (info->value, 2);
  g_autofree char *t = dothi_format_double (info->threshold, 2);
  g_autofree char *value = info->high
    /* Translators: line of an alert: the value, its unit, the threshold and the unit */
    ? g_strdup_printf (_("%s %s, over the threshold of %s %s"), v, unit, t, unit)
    /* Translators: line of an alert: the value, its unit, the threshold and the unit */
    : g_strdup_printf (_("%s %s, under the threshold of %s %s"), v, unit, t, unit);
  g_autofree char *text = street ? g_strjoin ("\n", value, street, time, NULL)
                                 : g_strjoin ("\n", value, time, NULL);

  adw_action_row_set_subtitle (row, text);
}

static void
street_found_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  StreetJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *street = g_task_propagate_pointer (G_TASK (result), &error);
  char *text;

  AlertInfo *info = g_object_get_data (G_OBJECT (job->row), "alert");

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (info->unit == NULL && job->unit != NULL)
    info->unit = g_strdup (job->unit);
  if (job->layer == NULL)
    text = NULL;
  else if (street != NULL)
    /* Translators: line of an alert; a street name follows */
    text = g_strdup_printf (_("Nearest street: %s"), street);
  else if (error != NULL)
    /* Translators: line of an alert when the street could not be read; the reason follows */
    text = g_strdup_printf (_("Nearest street unknown: %s"), error->message);
  else
    /* Translators: line of an alert for a sensor far from every street */
    text = g_strdup (_("No street nearby"));
  g_object_set_data_full (G_OBJECT (job->row), "street-text", text, g_free);
  g_object_set_data_full (G_OBJECT (job->row), "street-name", g_strdup (street), g_free);
  set_alert_subtitle (job->row);
  update_alert_banner (DOTHI_OPS_PANEL (object));
}

/* Alerts shown over the map at most; the rest are counted. */
#define BANNER_ALERTS 4

/* The map's alert banner: the alerts not acknowledged, newest first. */
static void
update_alert_banner (DothiOpsPanel *self)
{
  g_autoptr(GStrvBuilder) lines = g_strv_builder_new ();
  g_auto(GStrv) strv = NULL;
  guint n = g_hash_table_size (self->alert_rows), shown = 0;

  if (self->layer == NULL)
    return;
  if (n > 0)
    {
      /* Translators: first line of the alert banner over the map; a count */
      g_autofree char *heading = g_strdup_printf (ngettext ("⚠ %u alert", "⚠ %u alerts", n), n);

      g_strv_builder_add (lines, heading);
    }
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->alerts_list));
       child != NULL && n > 0; child = gtk_widget_get_next_sibling (child))
    {
      const char *sensor = g_object_get_data (G_OBJECT (child), "sensor");
      const AlertInfo *info = g_object_get_data (G_OBJECT (child), "alert");
      const char *street = g_object_get_data (G_OBJECT (child), "street-name");
      g_autofree char *value = NULL;
      g_autofree char *threshold = NULL;
      g_autofree char *line = NULL;

      if (sensor == NULL || info == NULL || g_hash_table_lookup (self->alert_rows, sensor) != child)
        continue;
      if (shown == BANNER_ALERTS)
        {
          /* Translators: last line of the alert banner; a count */
          g_autofree char *more = g_strdup_printf (ngettext ("and %u more", "and %u more", n - shown),
                                                   n - shown);

          g_strv_builder_add (lines, more);
          break;
        }
      value = dothi_format_double (info->value, 2);
      threshold = dothi_format_double (info->threshold, 2);
      /* "AL-05  7,50 bar > 6,00": a sensor, its value and unit, over (>)
       * or under (<) its threshold; no words to translate. */
      line = g_strdup_printf ("%s  %s %s %s %s%s%s", sensor, value, info->unit != NULL ? info->unit : "",
                              info->high ? ">" : "<", threshold,
                              street != NULL ? " · " : "", street != NULL ? street : "");
      g_strv_builder_add (lines, line);
      shown++;
    }
  strv = g_strv_builder_end (lines);
  dothi_live_layer_set_alerts (self->layer, (const char * const *) strv);
}

static void
update_alerts_badge (DothiOpsPanel *self)
{
  guint n = g_hash_table_size (self->alert_rows);

  adw_view_stack_page_set_badge_number (self->alerts_page, n);
  adw_view_stack_page_set_needs_attention (self->alerts_page, n > 0);
  update_alert_banner (self);
}

static void
acknowledge (DothiOpsPanel *self,
             AdwActionRow  *row)
{
  const char *sensor = g_object_get_data (G_OBJECT (row), "sensor");
  GtkWidget *button = g_object_get_data (G_OBJECT (row), "button");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = format_ict (now);
  /* Translators: replaces the Acknowledge button of an alert; a time follows */
  g_autofree char *text = g_strdup_printf (_("Acknowledged %s"), when);

  if (g_hash_table_lookup (self->alert_rows, sensor) == row)
    g_hash_table_remove (self->alert_rows, sensor);
  gtk_widget_set_sensitive (button, FALSE);
  gtk_button_set_label (GTK_BUTTON (button), text);
  gtk_widget_add_css_class (GTK_WIDGET (row), "dim-label");
  update_alerts_badge (self);
}

static void
acknowledge_clicked_cb (GtkButton     *button,
                        DothiOpsPanel *self)
{
  acknowledge (self, g_object_get_data (G_OBJECT (button), "row"));
}

static void
alert_cb (DothiLive     *live,
          const char    *sensor_id,
          double         value,
          double         threshold,
          const char    *kind,
          gboolean       high,
          DothiOpsPanel *self)
{
  AdwActionRow *row = g_hash_table_lookup (self->alert_rows, sensor_id);
  const DothiSensorState *sensor = find_sensor (self, sensor_id);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  gboolean fresh = row == NULL;
  AlertInfo *info;
  double *limits;

  /* What alerts taught us of the kind's thresholds, for the chart. */
  if (kind != NULL)
    {
      limits = g_hash_table_lookup (self->thresholds, kind);
      if (limits == NULL)
        {
          limits = g_new (double, 2);
          limits[0] = limits[1] = NAN;
          g_hash_table_insert (self->thresholds, g_strdup (kind), limits);
        }
      limits[high ? 1 : 0] = threshold;
    }

  if (fresh)
    {
      g_autofree char *kind_title = self->live != NULL ? dothi_live_dup_kind_title (self->live, kind) : NULL;
      /* Translators: title of an alert: sensor id, what kind of sensor */
      g_autofree char *title = g_strdup_printf (_("Sensor %s (%s)"), sensor_id,
                                                kind_title != NULL ? kind_title : kind ? kind : "");
      GtkWidget *button;
      StreetJob *job;
      GTask *task;

      row = ADW_ACTION_ROW (adw_action_row_new ());
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle_lines (row, 0);
      adw_action_row_set_icon_name (row, high ? "go-up-symbolic" : "go-down-symbolic");
      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      /* Translators: button that acknowledges an alert */
      button = gtk_button_new_with_mnemonic (_("_Acknowledge"));
      gtk_widget_set_name (button, "ops-acknowledge");
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data (G_OBJECT (button), "row", row);
      g_signal_connect (button, "clicked", G_CALLBACK (acknowledge_clicked_cb), self);
      adw_action_row_add_suffix (row, button);
      g_object_set_data (G_OBJECT (row), "button", button);
      g_object_set_data_full (G_OBJECT (row), "sensor", g_strdup (sensor_id), g_free);
      g_object_set_data_full (G_OBJECT (row), "street-text",
                              /* Translators: line of an alert while the nearest street is looked up */
                              g_strdup (self->street_layer ? _("Nearest street: looking…") : NULL),
                              g_free);
      info = g_new0 (AlertInfo, 1);
      info->unit = sensor != NULL ? g_strdup (sensor->unit) : NULL;
      g_object_set_data_full (G_OBJECT (row), "alert", info, (GDestroyNotify) alert_info_free);
      gtk_list_box_prepend (self->alerts_list, GTK_WIDGET (row));
      g_hash_table_insert (self->alert_rows, g_strdup (sensor_id), row);
      update_alerts_badge (self);

      if (self->street_layer != NULL || sensor == NULL)
        {
          job = g_new0 (StreetJob, 1);
          job->path = g_strdup (self->path);
          job->sensor_id = g_strdup (sensor_id);
          job->layer = g_strdup (self->street_layer);
          job->field = g_strdup (self->street_field);
          job->x = sensor ? sensor->x : NAN;
          job->y = sensor ? sensor->y : NAN;
          job->unit = sensor ? g_strdup (sensor->unit) : NULL;
          job->row = g_object_ref (row);
          task = g_task_new (self, self->cancellable, street_found_cb, NULL);
          g_task_set_source_tag (task, alert_cb);
          g_task_set_task_data (task, job, (GDestroyNotify) street_job_free);
          g_task_run_in_thread (task, find_street_thread);
          g_object_unref (task);
        }
    }
  info = g_object_get_data (G_OBJECT (row), "alert");
  info->value = value;
  info->threshold = threshold;
  info->high = high;
  g_object_set_data_full (G_OBJECT (row), "time-text", format_ict (now), g_free);
  set_alert_subtitle (row);
  update_alert_banner (self);

  /* Only a new alert calls the operator, with a sound whatever has the
   * focus (the room's operators look at more than one screen), and a
   * desktop notification when no Dothi window has it; a sensor that
   * stays over its threshold just updates its row. */
  if (fresh)
    {
      GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
      GApplication *app = g_application_get_default ();

      gdk_display_beep (gtk_widget_get_display (GTK_WIDGET (self)));
      if (!gtk_window_is_active (GTK_WINDOW (self))
          && (parent == NULL || !gtk_window_is_active (parent)))
        {
          /* Without a session bus (a test, a bare kiosk): the sound alone. */
          if (app != NULL && g_application_get_dbus_connection (app) != NULL)
            {
              g_autoptr(GNotification) notification = NULL;
              /* Translators: desktop notification title; a sensor id follows */
              g_autofree char *heading = g_strdup_printf (_("Alert: sensor %s"), sensor_id);
              g_autofree char *id = g_strdup_printf ("dothi-alert-%s", sensor_id);

              notification = g_notification_new (heading);
              g_notification_set_body (notification, adw_action_row_get_subtitle (row));
              g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_URGENT);
              g_application_send_notification (app, id, notification);
            }
        }
    }
}

/* ---- incidents ----------------------------------------------------------- */

static void
read_incidents_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *incidents = dothi_incident_list (task_data, -1, &error);

  if (incidents == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, incidents, (GDestroyNotify) g_ptr_array_unref);
}

static GtkWidget *
incident_row_new (const DothiIncident *incident)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *subtitle = gtk_label_new (NULL);
  g_autofree char *when = format_iso_ict (incident->received_at);
  /* Translators: an incident in the list: report id, category */
  g_autofree char *title_text = g_strdup_printf (_("%s · %s"),
                                                 incident->report_id ? incident->report_id : "",
                                                 incident->category ? incident->category : "");
  /* Translators: an incident in the list: status, time received */
  g_autofree char *subtitle_text = g_strdup_printf (_("%s · %s"), status_name (incident->status),
                                                    when ? when : "");

  gtk_label_set_text (GTK_LABEL (title), title_text);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_text (GTK_LABEL (subtitle), subtitle_text);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "fid", g_memdup2 (&incident->fid, sizeof (gint64)), g_free);
  return row;
}

static gint64
row_fid (GtkListBoxRow *row)
{
  gint64 *fid = row ? g_object_get_data (G_OBJECT (row), "fid") : NULL;

  return fid ? *fid : -1;
}

static void
fill_incident_list (DothiOpsPanel *self)
{
  guint filter = gtk_drop_down_get_selected (self->status_filter);
  GtkWidget *child;
  GtkListBoxRow *selected = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->incidents_list))) != NULL)
    gtk_list_box_remove (self->incidents_list, child);
  for (guint i = 0; self->incidents != NULL && i < self->incidents->len; i++)
    {
      const DothiIncident *incident = self->incidents->pdata[i];
      GtkWidget *row;

      if (filter != 0 && filter != GTK_INVALID_LIST_POSITION
          && (guint) incident->status != filter - 1)
        continue;
      row = incident_row_new (incident);
      gtk_list_box_append (self->incidents_list, row);
      if (incident->fid == self->selected_fid)
        selected = GTK_LIST_BOX_ROW (row);
    }
  if (selected != NULL)
    {
      /* Re-selecting must not fly the map again. */
      g_object_set_data (G_OBJECT (self->incidents_list), "quiet", GINT_TO_POINTER (1));
      gtk_list_box_select_row (self->incidents_list, selected);
      g_object_set_data (G_OBJECT (self->incidents_list), "quiet", NULL);
    }
}

static void
update_replay_range (DothiOpsPanel *self)
{
  gint64 first = G_MAXINT64, now = g_get_real_time () / G_USEC_PER_SEC;
  double value = gtk_adjustment_get_value (self->replay_adjustment);
  gboolean at_end = value >= gtk_adjustment_get_upper (self->replay_adjustment) - 1;

  for (guint i = 0; self->incidents != NULL && i < self->incidents->len; i++)
    {
      gint64 t = iso_to_unix (((DothiIncident *) self->incidents->pdata[i])->received_at);

      if (t > 0)
        first = MIN (first, t);
    }
  if (first == G_MAXINT64)
    first = now - 86400;
  first = MIN (first, now - 60);
  gtk_adjustment_set_lower (self->replay_adjustment, first);
  gtk_adjustment_set_upper (self->replay_adjustment, now);
  /* Following the present unless the operator went back. */
  if (at_end || value < first)
    gtk_adjustment_set_value (self->replay_adjustment, now);
}

static void
incidents_read_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *incidents = g_task_propagate_pointer (G_TASK (result), &error);
  DothiOpsPanel *self;

  if (incidents == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = DOTHI_OPS_PANEL (object);
  self->incidents_running = FALSE;
  if (incidents == NULL)
    {
      /* No "incidents" layer yet: no reports so far. */
      if (!g_error_matches (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND))
        show_error (self, error);
    }
  else
    {
      g_clear_pointer (&self->incidents, g_ptr_array_unref);
      self->incidents = incidents;
      if (self->layer != NULL)
        dothi_live_layer_set_incidents (self->layer, incidents);
      update_replay_range (self);
      fill_incident_list (self);
      show_detail (self);
    }
  notify_busy (self);
  if (self->incidents_again)
    schedule_incidents (self);
}

static void
read_incidents (DothiOpsPanel *self)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, incidents_read_cb, NULL);

  self->incidents_running = TRUE;
  self->incidents_again = FALSE;
  self->incidents_read_at = g_get_monotonic_time ();
  g_task_set_source_tag (task, read_incidents);
  g_task_set_task_data (task, g_strdup (self->path), g_free);
  g_task_run_in_thread (task, read_incidents_thread);
  notify_busy (self);
}

static gboolean
incidents_timeout_cb (gpointer data)
{
  DothiOpsPanel *self = data;

  self->incidents_timeout_id = 0;
  read_incidents (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_incidents (DothiOpsPanel *self)
{
  gint64 since = g_get_monotonic_time () - self->incidents_read_at;

  if (self->incidents_running)
    {
      self->incidents_again = TRUE;
      return;
    }
  if (self->incidents_timeout_id != 0)
    return;
  if (since >= REFRESH_INTERVAL)
    read_incidents (self);
  else
    {
      self->incidents_timeout_id = g_timeout_add ((REFRESH_INTERVAL - since) / 1000 + 1,
                                                  incidents_timeout_cb, self);
      notify_busy (self);
    }
}

static void
show_detail (DothiOpsPanel *self)
{
  const DothiIncident *incident = find_incident (self, self->selected_fid);
  g_autofree char *title = NULL;

  if (incident == NULL)
    {
      gtk_stack_set_visible_child_name (self->detail_stack, "empty");
      return;
    }
  gtk_stack_set_visible_child_name (self->detail_stack, "detail");
  /* Translators: heading of an incident's detail: report id, category */
  title = g_strdup_printf (_("%s · %s"), incident->report_id ? incident->report_id : "",
                           incident->category ? incident->category : "");
  gtk_label_set_text (self->detail_title, title);
  gtk_label_set_text (self->detail_description, incident->description ? incident->description : "");
  gtk_widget_set_visible (GTK_WIDGET (self->detail_description),
                          incident->description != NULL && *incident->description != '\0');
  adw_action_row_set_subtitle (self->reporter_row, incident->reporter ? incident->reporter : "");
  gtk_widget_set_visible (GTK_WIDGET (self->reporter_row),
                          incident->reporter != NULL && *incident->reporter != '\0');
  if (incident->photo_url != NULL && *incident->photo_url != '\0')
    {
      gtk_link_button_set_uri (self->photo_link, incident->photo_url);
      adw_action_row_set_subtitle (self->photo_row, incident->photo_url);
      gtk_widget_set_visible (GTK_WIDGET (self->photo_row), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->photo_row), FALSE);
  adw_action_row_set_subtitle (self->unit_row, incident->unit ? incident->unit : "");
  gtk_widget_set_visible (GTK_WIDGET (self->unit_row), incident->unit != NULL && *incident->unit != '\0');
  adw_action_row_set_subtitle (self->notes_row, incident->notes ? incident->notes : "");
  gtk_widget_set_visible (GTK_WIDGET (self->notes_row), incident->notes != NULL && *incident->notes != '\0');

  for (int i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    {
      const char *at = incident->status_at[i];
      g_autofree char *when = NULL;

      if (i == DOTHI_INCIDENT_RECEIVED && at == NULL)
        at = incident->received_at;
      when = format_iso_ict (at);
      adw_action_row_set_subtitle (self->status_rows[i], when ? when
                                   /* Translators: an incident status not reached yet */
                                   : _("Not yet"));
      adw_action_row_set_icon_name (self->status_rows[i],
                                    i <= (int) incident->status ? "emblem-ok-symbolic" : NULL);
    }

  if (incident->status < DOTHI_INCIDENT_PUBLISHED)
    {
      DothiIncidentStatus next = incident->status + 1;
      /* Translators: button that moves an incident to its next status, named here */
      g_autofree char *label = g_strdup_printf (_("Move to “%s”"), status_name (next));

      gtk_button_set_label (self->advance_button, label);
      gtk_widget_set_visible (GTK_WIDGET (self->advance_group), TRUE);
      gtk_widget_set_visible (GTK_WIDGET (self->unit_entry), next == DOTHI_INCIDENT_ASSIGNED);
      gtk_widget_set_visible (GTK_WIDGET (self->advance_button), TRUE);
    }
  else
    {
      gtk_widget_set_visible (GTK_WIDGET (self->advance_group), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->advance_button), FALSE);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ops.advance",
                                 incident->status < DOTHI_INCIDENT_PUBLISHED && self->n_advancing == 0);
}

static void
zoom_to (DothiOpsPanel *self,
         double         x,
         double         y)
{
  double bbox[4] = { x - ZOOM_HALF_SIZE, y - ZOOM_HALF_SIZE, x + ZOOM_HALF_SIZE, y + ZOOM_HALF_SIZE };

  if (self->map != NULL && isfinite (x) && isfinite (y))
    dothi_map_view_zoom_to_bbox (self->map, bbox);
}

static void
clear_assets (DothiOpsPanel *self)
{
  GtkWidget *child;

  g_cancellable_cancel (self->assets_cancellable);
  g_clear_object (&self->assets_cancellable);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->assets_list))) != NULL)
    gtk_list_box_remove (self->assets_list, child);
  gtk_widget_set_visible (GTK_WIDGET (self->assets_group), FALSE);
}

static void
incident_selected_cb (GtkListBox    *list,
                      GtkListBoxRow *row,
                      DothiOpsPanel *self)
{
  gint64 fid = row_fid (row);
  const DothiIncident *incident;

  if (row == NULL || fid == self->selected_fid)
    return;
  self->selected_fid = fid;
  clear_assets (self);
  gtk_editable_set_text (GTK_EDITABLE (self->unit_entry), "");
  gtk_editable_set_text (GTK_EDITABLE (self->note_entry), "");
  show_detail (self);
  incident = find_incident (self, fid);
  if (incident != NULL && g_object_get_data (G_OBJECT (list), "quiet") == NULL)
    zoom_to (self, incident->x, incident->y);
}

static void
status_filter_changed_cb (DothiOpsPanel *self)
{
  fill_incident_list (self);
}

/* Advancing ---------------------------------------------------------------- */

typedef struct {
  char               *path;
  gint64              fid;
  DothiIncidentStatus status;
  char               *unit;
  char               *note;
} AdvanceJob;

static void
advance_job_free (AdvanceJob *job)
{
  g_free (job->path);
  g_free (job->unit);
  g_free (job->note);
  g_free (job);
}

/* A project of its own: the edit is one transaction on another
 * connection, never on the window's, and never on the main thread. */
static void
advance_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  AdvanceJob *job = task_data;
  g_autoptr(DothiProject) project = NULL;
  GError *error = NULL;
  gint64 action;

  project = dothi_project_open (job->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  action = dothi_incident_set_status (project, job->fid, job->status, job->unit, job->note, &error);
  dothi_project_close (project);
  if (action == 0)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, action);
}

static void
advanced_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (object);
  AdvanceJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  self->n_advancing--;
  if (g_task_propagate_int (G_TASK (result), &error) == 0 && error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_error (self, error);
    }
  else
    {
      const DothiIncident *incident = find_incident (self, job->fid);
      /* Translators: toast after an incident changed status: report id, new status */
      g_autofree char *text = g_strdup_printf (_("%s: %s"),
                                               incident && incident->report_id ? incident->report_id : "",
                                               status_name (job->status));

      adw_toast_overlay_add_toast (self->toasts, adw_toast_new (text));
      if (job->fid == self->selected_fid)
        {
          gtk_editable_set_text (GTK_EDITABLE (self->unit_entry), "");
          gtk_editable_set_text (GTK_EDITABLE (self->note_entry), "");
        }
    }
  /* Busy until the list shows the change. */
  g_clear_handle_id (&self->incidents_timeout_id, g_source_remove);
  if (self->incidents_running)
    self->incidents_again = TRUE;
  else
    read_incidents (self);
  show_detail (self);
  notify_busy (self);
}

static void
advance_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (widget);

  dothi_ops_panel_advance_incident (self, self->selected_fid,
                                    gtk_editable_get_text (GTK_EDITABLE (self->unit_entry)),
                                    gtk_editable_get_text (GTK_EDITABLE (self->note_entry)));
}

/* Assets nearby ------------------------------------------------------------ */

typedef struct {
  char   *path;
  gint64  fid;
} AssetsJob;

static void
assets_job_free (AssetsJob *job)
{
  g_free (job->path);
  g_free (job);
}

static void
find_assets_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  AssetsJob *job = task_data;
  GError *error = NULL;
  GPtrArray *assets = dothi_incident_near_assets (job->path, job->fid, ASSET_RADIUS,
                                                  ASSETS_PER_LAYER, &error);

  if (assets == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, assets, (GDestroyNotify) g_ptr_array_unref);
}

static void
asset_activated_cb (AdwActionRow  *row,
                    DothiOpsPanel *self)
{
  const char *layer = g_object_get_data (G_OBJECT (row), "layer");
  gint64 *fid = g_object_get_data (G_OBJECT (row), "fid");

  if (self->map != NULL && layer != NULL && fid != NULL)
    dothi_map_view_highlight (self->map, layer, *fid);
}

static void
assets_found_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) assets = g_task_propagate_pointer (G_TASK (result), &error);
  DothiOpsPanel *self;

  if (assets == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = DOTHI_OPS_PANEL (object);
  if (assets == NULL)
    {
      show_error (self, error);
      return;
    }
  for (guint i = 0; i < assets->len; i++)
    {
      const DothiNearAsset *asset = assets->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *distance = dothi_format_double (asset->distance, 0);
      /* Translators: an asset near an incident: layer name, distance in metres */
      g_autofree char *subtitle = g_strdup_printf (_("%s, %s m away"), asset->layer, distance);
      g_autofree char *title = asset->label && *asset->label
                               ? g_strdup (asset->label)
                               /* Translators: a feature without a name: its id */
                               : g_strdup_printf (_("Feature %lld"), (long long) asset->fid);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "layer", g_strdup (asset->layer), g_free);
      g_object_set_data_full (G_OBJECT (row), "fid", g_memdup2 (&asset->fid, sizeof (gint64)), g_free);
      g_signal_connect (row, "activated", G_CALLBACK (asset_activated_cb), self);
      gtk_list_box_append (self->assets_list, row);
    }
  if (assets->len == 0)
    {
      GtkWidget *row = adw_action_row_new ();
      /* Translators: no feature near an incident; the radius in metres follows */
      g_autofree char *text = g_strdup_printf (_("Nothing within %.0f m"), ASSET_RADIUS);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
      gtk_list_box_append (self->assets_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->assets_group), TRUE);
}

static void
find_assets_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (widget);
  g_autoptr(GTask) task = NULL;
  AssetsJob *job;

  if (self->selected_fid < 0)
    return;
  clear_assets (self);
  self->assets_cancellable = g_cancellable_new ();
  job = g_new0 (AssetsJob, 1);
  job->path = g_strdup (self->path);
  job->fid = self->selected_fid;
  task = g_task_new (self, self->assets_cancellable, assets_found_cb, NULL);
  g_task_set_source_tag (task, find_assets_action);
  g_task_set_task_data (task, job, (GDestroyNotify) assets_job_free);
  g_task_run_in_thread (task, find_assets_thread);
}

/* ---- history ------------------------------------------------------------- */

typedef struct {
  char   *path;
  char   *sensor_id;
  gint64  since, until;
} ChartJob;

static void
chart_job_free (ChartJob *job)
{
  g_free (job->path);
  g_free (job->sensor_id);
  g_free (job);
}

static void
read_readings_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  ChartJob *job = task_data;
  GError *error = NULL;
  GArray *readings = dothi_live_readings (job->path, job->sensor_id, job->since, job->until, &error);

  if (readings == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, readings, (GDestroyNotify) g_array_unref);
}

static void
readings_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ChartJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) readings = g_task_propagate_pointer (G_TASK (result), &error);
  DothiOpsPanel *self;
  const DothiSensorState *sensor;
  double low = NAN, high = NAN;

  if (readings == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = DOTHI_OPS_PANEL (object);
  if (readings == NULL)
    {
      dothi_sensor_chart_set_message (self->chart, error->message);
      return;
    }
  sensor = find_sensor (self, job->sensor_id);
  /* The kind's thresholds from the project, else what alerts said. */
  if (sensor != NULL && sensor->kind != NULL
      && (self->live == NULL || !dothi_live_get_thresholds (self->live, sensor->kind, &low, &high)))
    {
      double *limits = g_hash_table_lookup (self->thresholds, sensor->kind);

      if (limits != NULL)
        low = limits[0], high = limits[1];
    }
  dothi_sensor_chart_set_readings (self->chart, readings, job->since, job->until,
                                   sensor ? sensor->unit : NULL, low, high);
}

static void
update_chart (DothiOpsPanel *self)
{
  g_autoptr(GTask) task = NULL;
  GObject *item = gtk_drop_down_get_selected_item (self->sensor_dropdown);
  guint period = gtk_drop_down_get_selected (self->period_dropdown);
  ChartJob *job;

  if (self->chart_cancellable != NULL)
    g_cancellable_cancel (self->chart_cancellable);
  g_clear_object (&self->chart_cancellable);
  if (item == NULL)
    {
      /* Translators: in place of the chart while no sensor has reported */
      dothi_sensor_chart_set_message (self->chart, _("No sensor has reported yet"));
      return;
    }
  if (period >= G_N_ELEMENTS (periods))
    period = 0;
  job = g_new0 (ChartJob, 1);
  job->path = g_strdup (self->path);
  job->sensor_id = g_strdup (gtk_string_object_get_string (GTK_STRING_OBJECT (item)));
  job->until = g_get_real_time () / G_USEC_PER_SEC + 1;
  job->since = job->until - periods[period];
  self->chart_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->chart_cancellable, readings_read_cb, NULL);
  g_task_set_source_tag (task, update_chart);
  g_task_set_task_data (task, job, (GDestroyNotify) chart_job_free);
  g_task_run_in_thread (task, read_readings_thread);
}

static void
page_changed_cb (DothiOpsPanel *self)
{
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "history") == 0)
    update_chart (self);
}

static void
replay_changed_cb (DothiOpsPanel *self)
{
  gboolean on = gtk_switch_get_active (self->replay_switch);
  gint64 until = (gint64) gtk_adjustment_get_value (self->replay_adjustment);
  g_autofree char *when = format_unix_ict (until);

  gtk_widget_set_sensitive (GTK_WIDGET (self->replay_scale), on);
  gtk_label_set_text (self->replay_label, on ? when : "");
  if (self->layer != NULL)
    dothi_live_layer_set_replay_time (self->layer, on ? MAX (until, 1) : 0);
}

/* ---- the window ---------------------------------------------------------- */

/* A roads-like line layer and its name field, for the alerts' streets:
 * by its name first (roads, duong, street…), else any line layer with a
 * name field. */
static void
choose_street_layer (DothiOpsPanel *self)
{
  static const char *road_names[] = { "road", "duong", "street", "giao_thong", "pho", NULL };
  static const char *name_fields[] = { "ten_duong", "ten", "name", "ten_pho", "street", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) infos = dothi_project_list_layers (self->project, &error);
  int best_score = 0;

  for (guint i = 0; infos != NULL && i < infos->len; i++)
    {
      const DothiLayerInfo *info = infos->pdata[i];
      const char *field = NULL;
      int score;

      if (info->kind != DOTHI_GEOMETRY_KIND_MULTILINESTRING)
        continue;
      for (guint n = 0; field == NULL && name_fields[n] != NULL; n++)
        for (guint k = 0; field == NULL && k < info->fields->len; k++)
          {
            const DothiField *f = info->fields->pdata[k];

            if (g_ascii_strcasecmp (f->name, name_fields[n]) == 0)
              field = f->name;
          }
      if (field == NULL)
        continue;
      score = 1;
      for (guint n = 0; road_names[n] != NULL; n++)
        if (strstr (info->name, road_names[n]) != NULL)
          score = 2;
      if (score > best_score)
        {
          best_score = score;
          g_free (self->street_layer);
          g_free (self->street_field);
          self->street_layer = g_strdup (info->name);
          self->street_field = g_strdup (field);
        }
    }
}

static void
fullscreened_cb (DothiOpsPanel *self)
{
  /* The operations room reads the wall from across the room. */
  if (gtk_window_is_fullscreen (GTK_WINDOW (self)))
    gtk_widget_add_css_class (GTK_WIDGET (self), "ops-wall");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "ops-wall");
}

static void
dothi_ops_panel_dispose (GObject *object)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->chart_cancellable != NULL)
    g_cancellable_cancel (self->chart_cancellable);
  if (self->assets_cancellable != NULL)
    g_cancellable_cancel (self->assets_cancellable);
  g_clear_handle_id (&self->sensors_timeout_id, g_source_remove);
  g_clear_handle_id (&self->incidents_timeout_id, g_source_remove);
  g_clear_handle_id (&self->stale_id, g_source_remove);
  g_clear_handle_id (&self->counters_id, g_source_remove);
  if (self->live != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->live, self);
      dothi_live_stop (self->live);
      g_clear_object (&self->live);
    }
  dothi_ops_panel_set_map_view (self, NULL);
  g_clear_object (&self->layer);
  gtk_widget_dispose_template (GTK_WIDGET (self), DOTHI_TYPE_OPS_PANEL);
  g_clear_object (&self->project);
  g_clear_object (&self->sensor_ids);
  G_OBJECT_CLASS (dothi_ops_panel_parent_class)->dispose (object);
}

static void
dothi_ops_panel_finalize (GObject *object)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->chart_cancellable);
  g_clear_object (&self->assets_cancellable);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_pointer (&self->source_rows, g_hash_table_unref);
  g_clear_pointer (&self->source_status, g_hash_table_unref);
  g_clear_pointer (&self->alert_rows, g_hash_table_unref);
  g_clear_pointer (&self->thresholds, g_hash_table_unref);
  g_clear_pointer (&self->sensors, g_ptr_array_unref);
  g_clear_pointer (&self->incidents, g_ptr_array_unref);
  g_clear_pointer (&self->street_layer, g_free);
  g_clear_pointer (&self->street_field, g_free);
  G_OBJECT_CLASS (dothi_ops_panel_parent_class)->finalize (object);
}

static void
dothi_ops_panel_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  DothiOpsPanel *self = DOTHI_OPS_PANEL (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, dothi_ops_panel_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_ops_panel_class_init (DothiOpsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_ops_panel_dispose;
  object_class->finalize = dothi_ops_panel_finalize;
  object_class->get_property = dothi_ops_panel_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (DOTHI_TYPE_SENSOR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/vn/dothi/Dothi/ui/dothi-ops-panel.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, DothiOpsPanel, name)
  BIND (toasts);
  BIND (stack);
  BIND (sources_list);
  BIND (kinds_list);
  BIND (received_label);
  BIND (stored_label);
  BIND (duplicates_label);
  BIND (malformed_label);
  BIND (malformed_row);
  BIND (alerts_page);
  BIND (alerts_list);
  BIND (status_filter);
  BIND (incidents_list);
  BIND (detail_stack);
  BIND (detail_title);
  BIND (detail_description);
  BIND (reporter_row);
  BIND (photo_row);
  BIND (photo_link);
  BIND (unit_row);
  BIND (notes_row);
  BIND (status_group);
  BIND (advance_group);
  BIND (unit_entry);
  BIND (note_entry);
  BIND (advance_button);
  BIND (assets_group);
  BIND (assets_list);
  BIND (sensor_dropdown);
  BIND (period_dropdown);
  BIND (chart);
  BIND (replay_switch);
  BIND (replay_scale);
  BIND (replay_adjustment);
  BIND (replay_label);
#undef BIND

  gtk_widget_class_install_action (widget_class, "ops.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "ops.advance", NULL, advance_action);
  gtk_widget_class_install_action (widget_class, "ops.find-assets", NULL, find_assets_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
load_wall_css (void)
{
  static gsize loaded;

  if (g_once_init_enter (&loaded))
    {
      g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_data (provider, "window.ops-wall { font-size: 150%; }", -1);
      gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                  GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      g_once_init_leave (&loaded, 1);
    }
}

static void
dothi_ops_panel_init (DothiOpsPanel *self)
{
  g_autoptr(GtkStringList) filter = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) period_names = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->selected_fid = -1;
  self->source_rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->source_status = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->alert_rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->thresholds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  /* Translators: status filter of the incident list */
  gtk_string_list_append (filter, _("All Statuses"));
  for (int i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    gtk_string_list_append (filter, status_name (i));
  gtk_drop_down_set_model (self->status_filter, G_LIST_MODEL (filter));
  g_signal_connect_swapped (self->status_filter, "notify::selected",
                            G_CALLBACK (status_filter_changed_cb), self);
  g_signal_connect (self->incidents_list, "row-selected", G_CALLBACK (incident_selected_cb), self);

  for (int i = 0; i < DOTHI_N_INCIDENT_STATUSES; i++)
    {
      self->status_rows[i] = ADW_ACTION_ROW (adw_action_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->status_rows[i]), status_name (i));
      adw_preferences_group_add (self->status_group, GTK_WIDGET (self->status_rows[i]));
    }

  /* Translators: period of the sensor chart */
  gtk_string_list_append (period_names, _("Last 24 Hours"));
  /* Translators: period of the sensor chart */
  gtk_string_list_append (period_names, _("Last 7 Days"));
  /* Translators: period of the sensor chart */
  gtk_string_list_append (period_names, _("Last 30 Days"));
  gtk_drop_down_set_model (self->period_dropdown, G_LIST_MODEL (period_names));
  self->sensor_ids = gtk_string_list_new (NULL);
  gtk_drop_down_set_model (self->sensor_dropdown, G_LIST_MODEL (self->sensor_ids));
  gtk_drop_down_set_expression (self->sensor_dropdown,
                                gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string"));
  g_signal_connect_swapped (self->sensor_dropdown, "notify::selected", G_CALLBACK (update_chart), self);
  g_signal_connect_swapped (self->period_dropdown, "notify::selected", G_CALLBACK (update_chart), self);
  g_signal_connect_swapped (self->stack, "notify::visible-child-name", G_CALLBACK (page_changed_cb), self);

  g_signal_connect_swapped (self->replay_switch, "notify::active", G_CALLBACK (replay_changed_cb), self);
  g_signal_connect_swapped (self->replay_adjustment, "value-changed", G_CALLBACK (replay_changed_cb), self);
  g_signal_connect (self, "notify::fullscreened", G_CALLBACK (fullscreened_cb), NULL);
  load_wall_css ();
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ops.advance", FALSE);
}

/* ---- public API ----------------------------------------------------------- */

DothiOpsPanel *
dothi_ops_panel_new (GtkWindow    *parent,
                     DothiProject *project)
{
  g_autoptr(GError) error = NULL;
  DothiOpsPanel *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  self = g_object_new (DOTHI_TYPE_OPS_PANEL, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  self->path = g_strdup (dothi_project_get_path (project));

  /* Signals come on this (the main) thread's context. */
  self->live = dothi_live_new (self->path, &error);
  if (self->live == NULL)
    show_error (self, error);
  else
    {
      g_signal_connect (self->live, "state-changed", G_CALLBACK (state_changed_cb), self);
      g_signal_connect (self->live, "batch", G_CALLBACK (batch_cb), self);
      g_signal_connect (self->live, "rejected", G_CALLBACK (rejected_cb), self);
      g_signal_connect (self->live, "alert", G_CALLBACK (alert_cb), self);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ops.stop", self->live != NULL);
  load_sources (self);
  load_kinds (self);
  choose_street_layer (self);
  update_counters_cb (self);

  read_sensors (self);
  read_incidents (self);
  self->stale_id = g_timeout_add_seconds (STALE_CHECK_SECONDS, stale_check_cb, self);
  return self;
}

void
dothi_ops_panel_set_map_view (DothiOpsPanel *self,
                              DothiMapView  *map)
{
  g_return_if_fail (DOTHI_IS_OPS_PANEL (self));
  g_return_if_fail (map == NULL || DOTHI_IS_MAP_VIEW (map));

  if (self->map == map)
    return;
  if (self->map != NULL && self->layer != NULL)
    dothi_map_view_remove_overlay (self->map, SHUMATE_LAYER (self->layer));
  g_clear_weak_pointer (&self->map);
  g_clear_object (&self->layer);
  if (map == NULL)
    return;

  g_set_weak_pointer (&self->map, map);
  self->layer = g_object_ref_sink (dothi_live_layer_new (
    shumate_map_get_viewport (dothi_map_view_get_map (map)), dothi_project_get_srid (self->project)));
  if (self->sensors != NULL)
    dothi_live_layer_set_sensors (self->layer, self->sensors);
  if (self->incidents != NULL)
    dothi_live_layer_set_incidents (self->layer, self->incidents);
  replay_changed_cb (self);
  update_alert_banner (self);
  dothi_map_view_add_overlay (map, SHUMATE_LAYER (self->layer));
}

DothiLiveLayer *
dothi_ops_panel_get_live_layer (DothiOpsPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), NULL);
  return self->layer;
}

DothiLive *
dothi_ops_panel_get_live (DothiOpsPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), NULL);
  return self->live;
}

gboolean
dothi_ops_panel_start_source (DothiOpsPanel *self,
                              const char    *source,
                              const char    *password,
                              GError       **error)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);

  if (self->live == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: the live engine could not be created; a source name follows */
                   _("Cannot start “%s”: live feeds are not available for this project"), source);
      return FALSE;
    }
  if (!dothi_live_start (self->live, source, password, error))
    return FALSE;
  set_source_state (self, source, dothi_live_get_state (self->live, source), NULL);
  return TRUE;
}

const char *
dothi_ops_panel_get_source_status (DothiOpsPanel *self,
                                   const char    *source)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), NULL);
  return g_hash_table_lookup (self->source_status, source);
}

guint
dothi_ops_panel_get_n_alerts (DothiOpsPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), 0);
  return g_hash_table_size (self->alert_rows);
}

void
dothi_ops_panel_acknowledge_all (DothiOpsPanel *self)
{
  g_autoptr(GList) rows = NULL;

  g_return_if_fail (DOTHI_IS_OPS_PANEL (self));
  rows = g_hash_table_get_values (self->alert_rows);
  for (GList *l = rows; l != NULL; l = l->next)
    acknowledge (self, l->data);
}

void
dothi_ops_panel_refresh (DothiOpsPanel *self)
{
  g_return_if_fail (DOTHI_IS_OPS_PANEL (self));

  g_clear_handle_id (&self->sensors_timeout_id, g_source_remove);
  g_clear_handle_id (&self->incidents_timeout_id, g_source_remove);
  if (self->sensors_running)
    self->sensors_again = TRUE;
  else
    read_sensors (self);
  if (self->incidents_running)
    self->incidents_again = TRUE;
  else
    read_incidents (self);
}

guint
dothi_ops_panel_get_n_incidents (DothiOpsPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), 0);
  return self->incidents != NULL ? self->incidents->len : 0;
}

gboolean
dothi_ops_panel_show_incident (DothiOpsPanel *self,
                               gint64         fid)
{
  const DothiIncident *incident;

  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), FALSE);

  incident = find_incident (self, fid);
  if (incident == NULL)
    return FALSE;
  adw_view_stack_set_visible_child_name (self->stack, "incidents");
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->incidents_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    if (GTK_IS_LIST_BOX_ROW (row) && row_fid (GTK_LIST_BOX_ROW (row)) == fid)
      {
        gtk_list_box_select_row (self->incidents_list, GTK_LIST_BOX_ROW (row));
        return TRUE;
      }
  /* Filtered out of the list: shown all the same. */
  self->selected_fid = fid;
  clear_assets (self);
  show_detail (self);
  zoom_to (self, incident->x, incident->y);
  return TRUE;
}

void
dothi_ops_panel_advance_incident (DothiOpsPanel *self,
                                  gint64         fid,
                                  const char    *unit,
                                  const char    *note)
{
  const DothiIncident *incident;
  g_autoptr(GTask) task = NULL;
  AdvanceJob *job;

  g_return_if_fail (DOTHI_IS_OPS_PANEL (self));

  incident = find_incident (self, fid);
  if (incident == NULL || incident->status >= DOTHI_INCIDENT_PUBLISHED)
    return;
  job = g_new0 (AdvanceJob, 1);
  job->path = g_strdup (self->path);
  job->fid = fid;
  job->status = incident->status + 1;
  job->unit = unit != NULL && *unit != '\0' ? g_strstrip (g_strdup (unit)) : NULL;
  job->note = note != NULL && *note != '\0' ? g_strstrip (g_strdup (note)) : NULL;
  self->n_advancing++;
  task = g_task_new (self, self->cancellable, advanced_cb, NULL);
  g_task_set_source_tag (task, dothi_ops_panel_advance_incident);
  g_task_set_task_data (task, job, (GDestroyNotify) advance_job_free);
  g_task_run_in_thread (task, advance_thread);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ops.advance", FALSE);
  notify_busy (self);
}

gboolean
dothi_ops_panel_get_busy (DothiOpsPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), FALSE);
  return self->n_advancing > 0 || self->incidents_running || self->incidents_timeout_id != 0;
}

const char *
dothi_ops_panel_get_error_message (DothiOpsPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_OPS_PANEL (self), NULL);
  return self->error_message;
}
