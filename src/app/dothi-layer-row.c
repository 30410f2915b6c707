/* dothi-layer-row.c: one row of the layer panel, built from a copy of the
 * layer's registry entry (DothiLayerInfo); it never touches the project
 * and reports what the user did through signals. */
#define G_LOG_DOMAIN "dothi-layer-row"

#include "config.h"
#include "dothi-layer-row.h"

#include "dothi-format.h"

#include <glib/gi18n.h>
#include <math.h>

/* Longer legends end with "and N more": the map shows the rest. */
#define MAX_LEGEND_ITEMS 24
/* The slider stores its value once it rests this long. */
#define OPACITY_STORE_DELAY_MS 300

struct _DothiLayerRow
{
  AdwExpanderRow  parent_instance;

  DothiLayerInfo *info;
  DothiStyle     *style;
  char           *kind_text;
  char           *count_text;
  char           *source_text;
  guint           n_legend_items;
  guint           opacity_timeout_id;
  /* Set while the widgets show the info: no signals then. */
  gboolean        updating;

  GtkImage       *drag_handle;
  GtkCheckButton *visible_check;
  GtkMenuButton  *menu_button;
  GtkBox         *legend_box;
  GtkScale       *opacity_scale;
  GtkLabel       *kind_label;
  GtkLabel       *source_label;
};

G_DEFINE_FINAL_TYPE (DothiLayerRow, dothi_layer_row, ADW_TYPE_EXPANDER_ROW)

enum {
  VISIBLE_TOGGLED,
  OPACITY_CHANGED,
  LAYER_DROPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* What a swatch draws: a symbol as the layer's geometry shows it. */
typedef struct {
  DothiSymbol       symbol;
  DothiGeometryKind kind;
} Swatch;

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
set_source_color (cairo_t          *cr,
                  const DothiColor *color)
{
  cairo_set_source_rgba (cr, color->r, color->g, color->b, color->a);
}

static void
draw_swatch (GtkDrawingArea *area,
             cairo_t        *cr,
             int             width,
             int             height,
             gpointer        user_data)
{
  const Swatch *swatch = user_data;
  const DothiSymbol *symbol = &swatch->symbol;
  double stroke = CLAMP (symbol->stroke_width, 0.0, 3.0);

  switch (swatch->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      cairo_set_line_width (cr, MAX (stroke, 1.5));
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
      cairo_move_to (cr, 2, height - 3);
      cairo_curve_to (cr, width * 0.4, height * 0.1, width * 0.6, height * 0.9,
                      width - 2, 3);
      set_source_color (cr, &symbol->stroke);
      cairo_stroke (cr);
      break;

    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      {
        double r = MIN (MIN (width, height) / 2.0 - 1.0,
                        MAX (symbol->marker_size / 2.0, 3.0));

        cairo_arc (cr, width / 2.0, height / 2.0, r, 0, 2 * G_PI);
        set_source_color (cr, &symbol->fill);
        cairo_fill_preserve (cr);
        cairo_set_line_width (cr, MAX (stroke, 1.0));
        set_source_color (cr, &symbol->stroke);
        cairo_stroke (cr);
      }
      break;

    case DOTHI_GEOMETRY_KIND_NONE:
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
    default:
      cairo_rectangle (cr, 1.5, 1.5, width - 3, height - 3);
      set_source_color (cr, &symbol->fill);
      cairo_fill_preserve (cr);
      cairo_set_line_width (cr, MAX (stroke, 1.0));
      set_source_color (cr, &symbol->stroke);
      cairo_stroke (cr);
      break;
    }
}

static GtkWidget *
new_swatch (const DothiSymbol *symbol,
            DothiGeometryKind  kind)
{
  GtkWidget *area = gtk_drawing_area_new ();
  Swatch *swatch = g_new0 (Swatch, 1);

  swatch->symbol = *symbol;
  swatch->kind = kind;
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (area), 22);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), 16);
  gtk_widget_set_valign (area, GTK_ALIGN_CENTER);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), draw_swatch,
                                  swatch, g_free);
  return area;
}

static void
add_legend_item (DothiLayerRow     *self,
                 const DothiSymbol *symbol,
                 const char        *text)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_tooltip_text (label, text);
  gtk_box_append (GTK_BOX (box), new_swatch (symbol, self->info->kind));
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (self->legend_box, box);
  self->n_legend_items++;
}

static char *
format_range (const DothiStyleRule *rule)
{
  char min[G_ASCII_DTOSTR_BUF_SIZE];
  char max[G_ASCII_DTOSTR_BUF_SIZE];

  g_snprintf (min, sizeof min, "%.6g", rule->min);
  g_snprintf (max, sizeof max, "%.6g", rule->max);
  /* Translators: a class of a graduated style, from one value to another */
  return g_strdup_printf (_("%s to %s"), min, max);
}

static void
update_legend (DothiLayerRow *self)
{
  GtkWidget *child;
  const DothiStyle *style = self->style;
  guint n_rules;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->legend_box))))
    gtk_box_remove (self->legend_box, child);
  self->n_legend_items = 0;

  if (style == NULL)
    {
      gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->legend_box)), FALSE);
      return;
    }
  gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->legend_box)), TRUE);

  n_rules = style->kind == DOTHI_STYLE_SINGLE || style->rules == NULL ? 0 : style->rules->len;
  for (guint i = 0; i < n_rules && i < MAX_LEGEND_ITEMS; i++)
    {
      const DothiStyleRule *rule = g_ptr_array_index (style->rules, i);
      g_autofree char *range = NULL;
      const char *text = rule->label;

      if (text == NULL || text[0] == '\0')
        {
          if (style->kind == DOTHI_STYLE_GRADUATED)
            text = range = format_range (rule);
          else
            text = rule->value ? rule->value : "";
        }
      add_legend_item (self, &rule->symbol, text);
    }

  if (n_rules > MAX_LEGEND_ITEMS)
    {
      guint more = n_rules - MAX_LEGEND_ITEMS;
      /* Translators: last line of a long legend */
      g_autofree char *text = g_strdup_printf (ngettext ("and %u more class",
                                                         "and %u more classes", more),
                                               more);
      GtkWidget *label = gtk_label_new (text);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (self->legend_box, label);
    }

  if (style->kind == DOTHI_STYLE_SINGLE)
    /* Translators: legend entry of a layer drawn with one symbol */
    add_legend_item (self, &style->other, _("All features"));
  else if (style->draw_other)
    add_legend_item (self, &style->other,
                     style->other_label && style->other_label[0]
                     ? style->other_label
                     /* Translators: legend entry for values no class matches */
                     : _("Other values"));
}

static void
update_menu (DothiLayerRow *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();
  g_autoptr(GMenuItem) zoom = NULL;
  g_autoptr(GMenuItem) style = NULL;

  /* Translators: item of a layer's menu */
  zoom = g_menu_item_new (_("_Zoom to Layer"), NULL);
  g_menu_item_set_action_and_target_value (zoom, "win.zoom-to-layer",
                                           g_variant_new_string (self->info->name));
  g_menu_append_item (section, zoom);

  /* Translators: item of a layer's menu; opens the style dialog */
  style = g_menu_item_new (_("_Style…"), NULL);
  g_menu_item_set_action_and_target_value (style, "win.layer-style",
                                           g_variant_new_string (self->info->name));
  g_menu_append_item (section, style);

  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  gtk_menu_button_set_menu_model (self->menu_button, G_MENU_MODEL (menu));
}

static void
update_row (DothiLayerRow *self)
{
  const DothiLayerInfo *info = self->info;
  const char *title = info->title && info->title[0] ? info->title : info->name;
  g_autofree char *tooltip = NULL;

  g_free (self->count_text);
  self->count_text = format_count (info->feature_count);
  g_free (self->source_text);
  self->source_text = format_source (info);
  g_free (self->kind_text);
  self->kind_text = g_strdup (dothi_geometry_kind_to_label (info->kind));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), title);
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self), self->count_text);
  gtk_label_set_text (self->kind_label, self->kind_text);
  gtk_label_set_text (self->source_label, self->source_text);
  /* The row shows the file name; the tooltip keeps the whole path. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->source_label), info->source);

  self->updating = TRUE;
  gtk_check_button_set_active (self->visible_check, info->visible);
  gtk_range_set_value (GTK_RANGE (self->opacity_scale),
                       round (CLAMP (info->opacity, 0.0, 1.0) * 100.0));
  self->updating = FALSE;

  /* Translators: tooltip of a layer's check box; the layer's title */
  tooltip = g_strdup_printf (_("Show or hide “%s”"), title);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->visible_check), tooltip);

  update_menu (self);
}

static void
visible_toggled_cb (GtkCheckButton *button,
                    DothiLayerRow  *self)
{
  gboolean visible = gtk_check_button_get_active (button);

  if (self->updating || self->info->visible == visible)
    return;
  self->info->visible = visible;
  g_signal_emit (self, signals[VISIBLE_TOGGLED], 0, visible);
}

static gboolean
opacity_rested_cb (gpointer user_data)
{
  DothiLayerRow *self = DOTHI_LAYER_ROW (user_data);

  self->opacity_timeout_id = 0;
  g_signal_emit (self, signals[OPACITY_CHANGED], 0, self->info->opacity, TRUE);
  return G_SOURCE_REMOVE;
}

static void
opacity_changed_cb (GtkRange      *range,
                    DothiLayerRow *self)
{
  double opacity = gtk_range_get_value (range) / 100.0;

  if (self->updating || fabs (self->info->opacity - opacity) < 1e-6)
    return;
  self->info->opacity = opacity;
  g_signal_emit (self, signals[OPACITY_CHANGED], 0, opacity, FALSE);

  g_clear_handle_id (&self->opacity_timeout_id, g_source_remove);
  self->opacity_timeout_id = g_timeout_add (OPACITY_STORE_DELAY_MS,
                                            opacity_rested_cb, self);
}

static GdkContentProvider *
drag_prepare_cb (GtkDragSource *source,
                 double         x,
                 double         y,
                 DothiLayerRow *self)
{
  return gdk_content_provider_new_typed (G_TYPE_STRING, self->info->name);
}

static void
drag_begin_cb (GtkDragSource *source,
               GdkDrag       *drag,
               DothiLayerRow *self)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (GTK_WIDGET (self));

  gtk_drag_source_set_icon (source, paintable, 0, 0);
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         DothiLayerRow *self)
{
  const char *name;

  if (!G_VALUE_HOLDS_STRING (value))
    return FALSE;
  name = g_value_get_string (value);
  if (name == NULL || g_strcmp0 (name, self->info->name) == 0)
    return FALSE;

  g_signal_emit (self, signals[LAYER_DROPPED], 0, name);
  return TRUE;
}

static void
dothi_layer_row_dispose (GObject *object)
{
  DothiLayerRow *self = DOTHI_LAYER_ROW (object);

  /* A pending store still reaches the project: the user let go already. */
  if (self->opacity_timeout_id != 0)
    {
      g_clear_handle_id (&self->opacity_timeout_id, g_source_remove);
      g_signal_emit (self, signals[OPACITY_CHANGED], 0, self->info->opacity, TRUE);
    }

  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_LAYER_ROW);

  G_OBJECT_CLASS (dothi_layer_row_parent_class)->dispose (object);
}

static void
dothi_layer_row_finalize (GObject *object)
{
  DothiLayerRow *self = DOTHI_LAYER_ROW (object);

  g_clear_pointer (&self->info, dothi_layer_info_free);
  g_clear_pointer (&self->style, dothi_style_unref);
  g_free (self->kind_text);
  g_free (self->count_text);
  g_free (self->source_text);

  G_OBJECT_CLASS (dothi_layer_row_parent_class)->finalize (object);
}

static void
dothi_layer_row_class_init (DothiLayerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_layer_row_dispose;
  object_class->finalize = dothi_layer_row_finalize;

  signals[VISIBLE_TOGGLED] =
    g_signal_new ("visible-toggled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[OPACITY_CHANGED] =
    g_signal_new ("opacity-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_BOOLEAN);
  signals[LAYER_DROPPED] =
    g_signal_new ("layer-dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-layer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, drag_handle);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, visible_check);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, legend_box);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, opacity_scale);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, kind_label);
  gtk_widget_class_bind_template_child (widget_class, DothiLayerRow, source_label);
}

static void
dothi_layer_row_init (DothiLayerRow *self)
{
  GtkDragSource *source;
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect (self->visible_check, "toggled",
                    G_CALLBACK (visible_toggled_cb), self);
  g_signal_connect (self->opacity_scale, "value-changed",
                    G_CALLBACK (opacity_changed_cb), self);

  /* The whole row drags (the slider claims its own drags first); the
   * handle only shows that it can. */
  source = gtk_drag_source_new ();
  gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
  g_signal_connect (source, "prepare", G_CALLBACK (drag_prepare_cb), self);
  g_signal_connect (source, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (source));

  target = gtk_drop_target_new (G_TYPE_STRING, GDK_ACTION_MOVE);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

GtkWidget *
dothi_layer_row_new (const DothiLayerInfo *info)
{
  DothiLayerRow *self;

  g_return_val_if_fail (info != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_LAYER_ROW, NULL);
  self->info = dothi_layer_info_copy (info);
  update_row (self);
  update_legend (self);

  return GTK_WIDGET (self);
}

const DothiLayerInfo *
dothi_layer_row_get_info (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return self->info;
}

const char *
dothi_layer_row_get_name (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return self->info->name;
}

void
dothi_layer_row_set_style (DothiLayerRow *self,
                           DothiStyle    *style)
{
  g_return_if_fail (DOTHI_IS_LAYER_ROW (self));

  if (self->style == style)
    return;
  g_clear_pointer (&self->style, dothi_style_unref);
  self->style = style ? dothi_style_ref (style) : NULL;
  update_legend (self);
}

guint
dothi_layer_row_get_n_legend_items (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), 0);

  return self->n_legend_items;
}

gboolean
dothi_layer_row_get_layer_visible (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), FALSE);

  return self->info->visible;
}

void
dothi_layer_row_set_layer_visible (DothiLayerRow *self,
                                   gboolean       visible)
{
  g_return_if_fail (DOTHI_IS_LAYER_ROW (self));

  gtk_check_button_set_active (self->visible_check, visible);
}

double
dothi_layer_row_get_opacity (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), 1.0);

  return self->info->opacity;
}

void
dothi_layer_row_set_opacity (DothiLayerRow *self,
                             double         opacity)
{
  g_return_if_fail (DOTHI_IS_LAYER_ROW (self));

  gtk_range_set_value (GTK_RANGE (self->opacity_scale),
                       CLAMP (opacity, 0.0, 1.0) * 100.0);
}

const char *
dothi_layer_row_get_kind_text (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return self->kind_text;
}

const char *
dothi_layer_row_get_count_text (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return self->count_text;
}

const char *
dothi_layer_row_get_source_text (DothiLayerRow *self)
{
  g_return_val_if_fail (DOTHI_IS_LAYER_ROW (self), NULL);

  return self->source_text;
}
