/* dothi-source-dialog.c: the live source form. It writes the same JSON
 * as a definition file (dothi_live_source_define checks both), keeps the
 * members it has no field for, and never a password: that is asked when
 * the source starts and may go to the keyring. */
#define G_LOG_DOMAIN "dothi-source-dialog"

#include "config.h"
#include "dothi-source-dialog.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "dothi-layer-info.h"
#include "dothi-live.h"

struct _DothiSourceDialog
{
  AdwWindow       parent_instance;

  DothiProject   *project;
  char           *original;      /* the name being changed, or NULL */
  JsonObject     *definition;    /* as read: members without a field stay */
  GPtrArray      *station_layers; /* char *: names behind stations_row, [0] none */

  GtkRevealer    *error_revealer;
  GtkLabel       *error_label;
  AdwEntryRow    *name_row;
  AdwComboRow    *kind_row;
  GtkWidget      *mqtt_group;
  GtkWidget      *http_group;
  AdwEntryRow    *host_row;
  GtkSpinButton  *port_spin;
  AdwEntryRow    *topics_row;
  GtkSwitch      *tls_switch;
  AdwEntryRow    *ca_row;
  AdwEntryRow    *username_row;
  AdwEntryRow    *url_row;
  GtkSpinButton  *interval_spin;
  AdwEntryRow    *timezone_row;
  AdwEntryRow    *crs_row;
  AdwComboRow    *stations_row;
  AdwComboRow    *stations_field_row;
};

G_DEFINE_FINAL_TYPE (DothiSourceDialog, dothi_source_dialog, ADW_TYPE_WINDOW)

enum {
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (DothiSourceDialog *self,
            const char        *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static gboolean
is_mqtt (DothiSourceDialog *self)
{
  return adw_combo_row_get_selected (self->kind_row) == 0;
}

static void
kind_changed_cb (DothiSourceDialog *self)
{
  gtk_widget_set_visible (self->mqtt_group, is_mqtt (self));
  gtk_widget_set_visible (self->http_group, !is_mqtt (self));
}

/* The station layer's fields that can hold an id, into its combo. */
static void
fill_station_fields (DothiSourceDialog *self,
                     const char        *selected)
{
  g_autoptr(GtkStringList) fields = gtk_string_list_new (NULL);
  guint layer = adw_combo_row_get_selected (self->stations_row);
  guint chosen = 0, n = 0;

  if (layer > 0 && layer < self->station_layers->len)
    {
      g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (self->project,
                                                                self->station_layers->pdata[layer], NULL);

      for (guint i = 0; info != NULL && i < info->fields->len; i++)
        {
          const DothiField *field = info->fields->pdata[i];

          if (field->type != DOTHI_FIELD_TEXT && field->type != DOTHI_FIELD_INTEGER)
            continue;
          gtk_string_list_append (fields, field->name);
          if (g_strcmp0 (field->name, selected) == 0)
            chosen = n;
          n++;
        }
    }
  adw_combo_row_set_model (self->stations_field_row, G_LIST_MODEL (fields));
  adw_combo_row_set_selected (self->stations_field_row, chosen);
  gtk_widget_set_sensitive (GTK_WIDGET (self->stations_field_row), n > 0);
}

static void
stations_changed_cb (DothiSourceDialog *self)
{
  fill_station_fields (self, NULL);
}

/* The project's point layers, for the station layer combo. */
static void
fill_station_layers (DothiSourceDialog *self,
                     const char        *selected)
{
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) layers = dothi_project_list_layers (self->project, NULL);
  guint chosen = 0;

  g_ptr_array_set_size (self->station_layers, 0);
  /* Translators: no station layer for a live source */
  gtk_string_list_append (titles, _("None"));
  g_ptr_array_add (self->station_layers, g_strdup (""));
  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      const DothiLayerInfo *info = layers->pdata[i];

      if (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOINT)
        continue;
      gtk_string_list_append (titles, info->title != NULL ? info->title : info->name);
      if (g_strcmp0 (info->name, selected) == 0)
        chosen = self->station_layers->len;
      g_ptr_array_add (self->station_layers, g_strdup (info->name));
    }
  adw_combo_row_set_model (self->stations_row, G_LIST_MODEL (titles));
  adw_combo_row_set_selected (self->stations_row, chosen);
}

static const char *
member_string (JsonObject *obj,
               const char *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static double
member_number (JsonObject *obj,
               const char *name,
               double      fallback)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  return json_node_get_double (node);
}

static void
set_text (AdwEntryRow *row,
          const char  *text)
{
  if (text != NULL)
    gtk_editable_set_text (GTK_EDITABLE (row), text);
}

/* The form from the definition read. */
static void
fill (DothiSourceDialog *self)
{
  JsonObject *obj = self->definition;
  JsonObject *stations = NULL;
  JsonNode *node;

  set_text (self->name_row, member_string (obj, "name"));
  adw_combo_row_set_selected (self->kind_row, g_strcmp0 (member_string (obj, "kind"), "http") == 0 ? 1 : 0);
  set_text (self->host_row, member_string (obj, "host"));
  gtk_spin_button_set_value (self->port_spin, member_number (obj, "port", 0));
  node = obj != NULL ? json_object_get_member (obj, "topics") : NULL;
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *topics = json_node_get_array (node);
      g_autoptr(GString) text = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (topics); i++)
        {
          const char *topic = json_array_get_string_element (topics, i);

          if (topic == NULL)
            continue;
          if (text->len > 0)
            g_string_append (text, ", ");
          g_string_append (text, topic);
        }
      gtk_editable_set_text (GTK_EDITABLE (self->topics_row), text->str);
    }
  node = obj != NULL ? json_object_get_member (obj, "tls") : NULL;
  gtk_switch_set_active (self->tls_switch, node != NULL && JSON_NODE_HOLDS_VALUE (node)
                                           && json_node_get_value_type (node) == G_TYPE_BOOLEAN
                                           && json_node_get_boolean (node));
  set_text (self->ca_row, member_string (obj, "ca_file"));
  set_text (self->username_row, member_string (obj, "username"));
  set_text (self->url_row, member_string (obj, "url"));
  gtk_spin_button_set_value (self->interval_spin, member_number (obj, "interval", 60));
  set_text (self->timezone_row, member_string (obj, "timezone"));
  set_text (self->crs_row, member_string (obj, "crs"));
  node = obj != NULL ? json_object_get_member (obj, "stations") : NULL;
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    stations = json_node_get_object (node);
  fill_station_layers (self, member_string (stations, "layer"));
  fill_station_fields (self, member_string (stations, "id_field"));
  kind_changed_cb (self);
}

static char *
entry_text (AdwEntryRow *row)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
}

/* Sets @name to @text, or removes it when @text is empty. */
static void
set_or_remove (JsonObject *obj,
               const char *name,
               const char *text)
{
  if (text != NULL && *text != '\0')
    json_object_set_string_member (obj, name, text);
  else if (json_object_has_member (obj, name))
    json_object_remove_member (obj, name);
}

static void
remove_members (JsonObject         *obj,
                const char * const *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (json_object_has_member (obj, names[i]))
      json_object_remove_member (obj, names[i]);
}

/* The definition the form says, over what was read. */
static JsonObject *
build (DothiSourceDialog *self)
{
  static const char * const mqtt_only[] = { "host", "port", "topics", "tls", "ca_file",
                                            "qos", "client_id", NULL };
  static const char * const http_only[] = { "url", "interval", NULL };
  JsonObject *obj = NULL;
  g_autofree char *name = entry_text (self->name_row);
  g_autofree char *timezone = entry_text (self->timezone_row);
  g_autofree char *crs = entry_text (self->crs_row);
  g_autofree char *username = entry_text (self->username_row);
  guint layer = adw_combo_row_get_selected (self->stations_row);

  /* A deep copy (json_node_copy shares objects): a failed save leaves
   * the definition read as it was. */
  if (self->definition != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), self->definition);
      g_autofree char *text = json_to_string (node, FALSE);
      g_autoptr(JsonNode) copy = json_from_string (text, NULL);

      if (copy != NULL && JSON_NODE_HOLDS_OBJECT (copy))
        obj = json_object_ref (json_node_get_object (copy));
    }
  if (obj == NULL)
    obj = json_object_new ();
  json_object_set_string_member (obj, "name", name);
  set_or_remove (obj, "timezone", timezone);
  set_or_remove (obj, "crs", crs);
  /* Either kind: MQTT's user, or HTTP basic authentication. */
  set_or_remove (obj, "username", username);
  if (is_mqtt (self))
    {
      g_autofree char *host = entry_text (self->host_row);
      g_autofree char *topics = entry_text (self->topics_row);
      g_autofree char *ca = entry_text (self->ca_row);
      g_auto(GStrv) parts = g_strsplit (topics, ",", -1);
      JsonArray *array = json_array_new ();
      int port = gtk_spin_button_get_value_as_int (self->port_spin);

      remove_members (obj, http_only);
      json_object_set_string_member (obj, "kind", "mqtt");
      set_or_remove (obj, "host", host);
      if (port > 0)
        json_object_set_int_member (obj, "port", port);
      else if (json_object_has_member (obj, "port"))
        json_object_remove_member (obj, "port");
      for (guint i = 0; parts[i] != NULL; i++)
        {
          g_strstrip (parts[i]);
          if (*parts[i] != '\0')
            json_array_add_string_element (array, parts[i]);
        }
      json_object_set_array_member (obj, "topics", array);
      json_object_set_boolean_member (obj, "tls", gtk_switch_get_active (self->tls_switch));
      set_or_remove (obj, "ca_file", ca);
    }
  else
    {
      g_autofree char *url = entry_text (self->url_row);

      remove_members (obj, mqtt_only);
      json_object_set_string_member (obj, "kind", "http");
      set_or_remove (obj, "url", url);
      json_object_set_int_member (obj, "interval", gtk_spin_button_get_value_as_int (self->interval_spin));
    }
  if (layer > 0 && layer < self->station_layers->len)
    {
      JsonObject *stations = json_object_new ();
      GtkStringObject *field = adw_combo_row_get_selected_item (self->stations_field_row);

      json_object_set_string_member (stations, "layer", self->station_layers->pdata[layer]);
      json_object_set_string_member (stations, "id_field",
                                     field != NULL ? gtk_string_object_get_string (field) : "");
      json_object_set_object_member (obj, "stations", stations);
    }
  else if (json_object_has_member (obj, "stations"))
    json_object_remove_member (obj, "stations");
  return obj;
}

gboolean
dothi_source_dialog_save (DothiSourceDialog *self,
                          GError           **error)
{
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autoptr(GError) local = NULL;
  const char *name;

  g_return_val_if_fail (DOTHI_IS_SOURCE_DIALOG (self), FALSE);

  obj = build (self);
  name = json_object_get_string_member (obj, "name");
  root = json_node_init_object (json_node_alloc (), obj);
  json = json_to_string (root, FALSE);
  if (!dothi_live_source_define (self->project, json, &local))
    {
      show_error (self, local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  /* A new name is a new source: the old one goes. */
  if (self->original != NULL && g_strcmp0 (self->original, name) != 0
      && !dothi_live_source_remove (self->project, self->original, &local))
    {
      show_error (self, local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  show_error (self, NULL);
  g_signal_emit (self, signals[SAVED], 0, name);
  gtk_window_close (GTK_WINDOW (self));
  return TRUE;
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  dothi_source_dialog_save (DOTHI_SOURCE_DIALOG (widget), NULL);
}

static void
dothi_source_dialog_finalize (GObject *object)
{
  DothiSourceDialog *self = DOTHI_SOURCE_DIALOG (object);

  g_clear_object (&self->project);
  g_free (self->original);
  g_clear_pointer (&self->definition, json_object_unref);
  g_clear_pointer (&self->station_layers, g_ptr_array_unref);
  G_OBJECT_CLASS (dothi_source_dialog_parent_class)->finalize (object);
}

static void
dothi_source_dialog_class_init (DothiSourceDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = dothi_source_dialog_finalize;

  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/vn/dothi/Dothi/ui/dothi-source-dialog.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, DothiSourceDialog, name)
  BIND (error_revealer);
  BIND (error_label);
  BIND (name_row);
  BIND (kind_row);
  BIND (mqtt_group);
  BIND (http_group);
  BIND (host_row);
  BIND (port_spin);
  BIND (topics_row);
  BIND (tls_switch);
  BIND (ca_row);
  BIND (username_row);
  BIND (url_row);
  BIND (interval_spin);
  BIND (timezone_row);
  BIND (crs_row);
  BIND (stations_row);
  BIND (stations_field_row);
#undef BIND
  gtk_widget_class_install_action (widget_class, "source.save", NULL, save_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "source.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
dothi_source_dialog_init (DothiSourceDialog *self)
{
  self->station_layers = g_ptr_array_new_with_free_func (g_free);
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->kind_row, "notify::selected", G_CALLBACK (kind_changed_cb), self);
}

DothiSourceDialog *
dothi_source_dialog_new (GtkWindow    *parent,
                         DothiProject *project,
                         const char   *name)
{
  DothiSourceDialog *self;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  self = g_object_new (DOTHI_TYPE_SOURCE_DIALOG, "transient-for", parent, NULL);
  self->project = g_object_ref (project);
  self->original = g_strdup (name);
  /* Translators: title of the live source form */
  gtk_window_set_title (GTK_WINDOW (self), name != NULL ? _("Live Source") : _("New Live Source"));
  if (name != NULL)
    {
      g_autofree char *json = dothi_live_source_dup (project, name, NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root;

      if (json != NULL && json_parser_load_from_data (parser, json, -1, NULL)
          && (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
        self->definition = json_object_ref (json_node_get_object (root));
    }
  fill (self);
  g_signal_connect_swapped (self->stations_row, "notify::selected", G_CALLBACK (stations_changed_cb), self);
  return self;
}
