/* dothi-identify-panel.c: shows the results of an identify (dothi-search.h)
 * beside the map; the window runs the query and the highlight. */
#define G_LOG_DOMAIN "dothi-identify-panel"

#include "config.h"
#include "dothi-identify-panel.h"

#include <glib/gi18n.h>

struct _DothiIdentifyPanel
{
  AdwBin         parent_instance;

  GPtrArray     *results;   /* DothiIdentifyResult* */
  guint          current;
  /* Set while the drop-down is refilled: its selection is ours then. */
  gboolean       filling;

  GtkLabel      *title_label;
  GtkLabel      *subtitle_label;
  GtkButton     *zoom_button;
  GtkButton     *close_button;
  GtkDropDown   *result_dropdown;
  GtkStringList *result_titles;
  GtkGrid       *fields_grid;
};

G_DEFINE_FINAL_TYPE (DothiIdentifyPanel, dothi_identify_panel, ADW_TYPE_BIN)

enum {
  RESULT_SHOWN,
  ZOOM_REQUESTED,
  CLOSE_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
result_title (const DothiIdentifyResult *result)
{
  return result->layer_title && result->layer_title[0]
         ? result->layer_title : result->layer;
}

static char *
result_description (const DothiIdentifyResult *result)
{
  g_autofree char *fid = g_strdup_printf ("%" G_GINT64_FORMAT, result->fid);

  /* Translators: a feature in the identify panel: its number (fid) */
  return g_strdup_printf (_("Feature %s"), fid);
}

static void
clear_fields (DothiIdentifyPanel *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->fields_grid))))
    gtk_grid_remove (self->fields_grid, child);
}

static void
show_current (DothiIdentifyPanel *self)
{
  const DothiIdentifyResult *result = dothi_identify_panel_get_current (self);
  g_autofree char *description = NULL;

  clear_fields (self);
  if (result == NULL)
    {
      gtk_label_set_text (self->title_label, "");
      gtk_label_set_text (self->subtitle_label, "");
      return;
    }

  description = result_description (result);
  gtk_label_set_text (self->title_label, result_title (result));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->title_label), result_title (result));
  gtk_label_set_text (self->subtitle_label, description);

  for (guint i = 0; result->names != NULL && i < result->names->len; i++)
    {
      const char *name = g_ptr_array_index (result->names, i);
      const char *value = result->values && i < result->values->len
                          ? g_ptr_array_index (result->values, i) : NULL;
      GtkWidget *name_label = gtk_label_new (name);
      GtkWidget *value_label;

      gtk_label_set_xalign (GTK_LABEL (name_label), 0);
      gtk_label_set_yalign (GTK_LABEL (name_label), 0);
      gtk_label_set_wrap (GTK_LABEL (name_label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (name_label), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_max_width_chars (GTK_LABEL (name_label), 16);
      gtk_widget_add_css_class (name_label, "dim-label");

      if (value != NULL)
        value_label = gtk_label_new (value);
      else
        {
          /* Translators: shown for an empty (NULL) value in the identify panel */
          value_label = gtk_label_new (_("(empty)"));
          gtk_widget_add_css_class (value_label, "dim-label");
        }
      gtk_label_set_xalign (GTK_LABEL (value_label), 0);
      gtk_label_set_yalign (GTK_LABEL (value_label), 0);
      gtk_label_set_wrap (GTK_LABEL (value_label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (value_label), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_selectable (GTK_LABEL (value_label), TRUE);
      gtk_widget_set_hexpand (value_label, TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (value_label), 24);

      gtk_grid_attach (self->fields_grid, name_label, 0, i, 1, 1);
      gtk_grid_attach (self->fields_grid, value_label, 1, i, 1, 1);
    }

  g_signal_emit (self, signals[RESULT_SHOWN], 0, result->layer, result->fid);
}

static void
selected_cb (GtkDropDown        *dropdown,
             GParamSpec         *pspec,
             DothiIdentifyPanel *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->filling || selected == GTK_INVALID_LIST_POSITION || selected == self->current)
    return;
  dothi_identify_panel_select (self, selected);
}

static void
close_clicked_cb (GtkButton          *button,
                  DothiIdentifyPanel *self)
{
  g_signal_emit (self, signals[CLOSE_REQUESTED], 0);
}

static void
zoom_clicked_cb (GtkButton          *button,
                 DothiIdentifyPanel *self)
{
  g_signal_emit (self, signals[ZOOM_REQUESTED], 0);
}

static void
dothi_identify_panel_dispose (GObject *object)
{
  DothiIdentifyPanel *self = DOTHI_IDENTIFY_PANEL (object);

  g_clear_pointer (&self->results, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_IDENTIFY_PANEL);

  G_OBJECT_CLASS (dothi_identify_panel_parent_class)->dispose (object);
}

static void
dothi_identify_panel_class_init (DothiIdentifyPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_identify_panel_dispose;

  signals[RESULT_SHOWN] =
    g_signal_new ("result-shown", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT64);
  signals[ZOOM_REQUESTED] =
    g_signal_new ("zoom-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[CLOSE_REQUESTED] =
    g_signal_new ("close-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-identify-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, title_label);
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, zoom_button);
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, close_button);
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, result_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, result_titles);
  gtk_widget_class_bind_template_child (widget_class, DothiIdentifyPanel, fields_grid);

  gtk_widget_class_set_css_name (widget_class, "identifypanel");
}

static void
dothi_identify_panel_init (DothiIdentifyPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect (self->result_dropdown, "notify::selected",
                    G_CALLBACK (selected_cb), self);
  g_signal_connect (self->close_button, "clicked",
                    G_CALLBACK (close_clicked_cb), self);
  g_signal_connect (self->zoom_button, "clicked",
                    G_CALLBACK (zoom_clicked_cb), self);
}

GtkWidget *
dothi_identify_panel_new (void)
{
  return g_object_new (DOTHI_TYPE_IDENTIFY_PANEL, NULL);
}

void
dothi_identify_panel_set_results (DothiIdentifyPanel *self,
                                  GPtrArray          *results)
{
  guint n_old;

  g_return_if_fail (DOTHI_IS_IDENTIFY_PANEL (self));

  g_clear_pointer (&self->results, g_ptr_array_unref);
  if (results != NULL && results->len > 0)
    self->results = g_ptr_array_ref (results);
  self->current = 0;

  self->filling = TRUE;
  n_old = g_list_model_get_n_items (G_LIST_MODEL (self->result_titles));
  gtk_string_list_splice (self->result_titles, 0, n_old, NULL);
  for (guint i = 0; self->results != NULL && i < self->results->len; i++)
    {
      const DothiIdentifyResult *result = g_ptr_array_index (self->results, i);
      g_autofree char *description = result_description (result);
      /* Translators: an entry of the list of features under the point
       * clicked: layer title, then "Feature 12" */
      g_autofree char *text = g_strdup_printf (_("%s — %s"), result_title (result),
                                               description);

      gtk_string_list_append (self->result_titles, text);
    }
  gtk_drop_down_set_selected (self->result_dropdown, 0);
  self->filling = FALSE;

  gtk_widget_set_visible (GTK_WIDGET (self->result_dropdown),
                          self->results != NULL && self->results->len > 1);
  show_current (self);
}

guint
dothi_identify_panel_get_n_results (DothiIdentifyPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_IDENTIFY_PANEL (self), 0);

  return self->results ? self->results->len : 0;
}

const DothiIdentifyResult *
dothi_identify_panel_get_current (DothiIdentifyPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_IDENTIFY_PANEL (self), NULL);

  if (self->results == NULL || self->current >= self->results->len)
    return NULL;
  return g_ptr_array_index (self->results, self->current);
}

void
dothi_identify_panel_select (DothiIdentifyPanel *self,
                             guint               index)
{
  g_return_if_fail (DOTHI_IS_IDENTIFY_PANEL (self));

  if (self->results == NULL || index >= self->results->len)
    return;
  self->current = index;
  self->filling = TRUE;
  gtk_drop_down_set_selected (self->result_dropdown, index);
  self->filling = FALSE;
  show_current (self);
}

const char *
dothi_identify_panel_get_title (DothiIdentifyPanel *self)
{
  g_return_val_if_fail (DOTHI_IS_IDENTIFY_PANEL (self), NULL);

  return gtk_label_get_text (self->title_label);
}
