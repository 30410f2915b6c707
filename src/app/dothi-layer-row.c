/* dothi-layer-row.c: one row of the layer list, built from a copy of the
 * layer's registry entry (DothiLayerInfo); it never touches the project. */
#define G_LOG_DOMAIN "dothi-layer-row"

#include "config.h"
#include "dothi-layer-row.h"

#include "dothi-format.h"

#include <glib/gi18n.h>

struct _DothiLayerRow
{
  AdwActionRow    parent_instance;

  DothiLayerInfo *info;

  GtkLabel       *kind_label;
  GtkLabel       *count_label;
};

G_DEFINE_FINAL_TYPE (DothiLayerRow, dothi_layer_row, ADW_TYPE_ACTION_ROW)

/* "1.234 đối tượng": the count in the user's locale. */
static char *
format_count (gint64 count)
{
  g_autofree char *number = dothi_format_int64 (count);

  /* Translators: number of features (rows) in a layer, already formatted
   * with thousands separators */
  return g_strdup_printf (ngettext ("%s feature", "%s features",
                                    (gulong) MIN (count, G_MAXLONG)),
                          number);
}

static char *
format_source (const DothiLayerInfo *info)
{
  g_autofree char *source = NULL;

  if (info->source == NULL || info->source[0] == '\0')
    return g_strdup (_("Created in Dothi"));

  source = g_filename_display_basename (info->source);
  if (info->encoding == NULL || info->encoding[0] == '\0')
    return g_steal_pointer (&source);

  /* Translators: the file a layer was imported from, and that file's text
   * encoding, such as "thua_dat.shp, encoding CP1258" */
  return g_strdup_printf (_("%s, encoding %s"), source, info->encoding);
}

static void
update_row (DothiLayerRow *self)
{
  const DothiLayerInfo *info = self->info;
  g_autofree char *count = format_count (info->feature_count);
  g_autofree char *source = format_source (info);
  const char *title = info->title && info->title[0] ? info->title : info->name;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), source);
  gtk_label_set_text (self->kind_label, dothi_geometry_kind_to_label (info->kind));
  gtk_label_set_text (self->count_label, count);
  /* The subtitle shows the file name; the tooltip keeps the whole path. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), info->source);
}

static void
dothi_layer_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_LAYER_ROW);

  G_OBJECT_CLASS (dothi_layer_row_parent_class)->dispose (object);
}

static void
dothi_layer_row_finalize (GObject *object)
{
  DothiLayerRow *self = DOTHI_LAYER_ROW (object);

  g_clear_pointer (&self->info, dothi_layer_info_free);

  G_OBJECT_CLASS (dothi_layer_row_parent_class)->finalize (object);
}

static void
dothi_layer_row_class_init (DothiLayerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_layer_row_dispose;
  object_class->finalize = dothi_layer_row_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-layer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, kind_label);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, count_label);
}

static void
dothi_layer_row_init (DothiLayerRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
dothi_layer_row_new (const DothiLayerInfo *info)
{
  DothiLayerRow *self;

  g_return_val_if_fail (info != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_LAYER_ROW, NULL);
  self->info = dothi_layer_info_copy (info);
  update_row (self);

  return GTK_WIDGET (self);
}

const DothiLayerInfo *
dothi_layer_row_get_info (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return self->info;
}

const char *
dothi_layer_row_get_kind_text (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return gtk_label_get_text (self->kind_label);
}

const char *
dothi_layer_row_get_count_text (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return gtk_label_get_text (self->count_label);
}
