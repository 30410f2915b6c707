/* dothi-style-dialog.c: edits a copy of a layer's style (dothi-style.h)
 * and stores it with dothi_project_set_style() on Apply. */
#define G_LOG_DOMAIN "dothi-style-dialog"

#include "config.h"
#include "dothi-style-dialog.h"
#include "dothi-format.h"

#include "dothi-error.h"

#include <glib/gi18n.h>
#include <math.h>

/* Categories beyond this many are drawn with the "other" symbol. */
#define MAX_CATEGORIES 100
/* Values read to find the range of a graduated field. */
#define MAX_GRADUATED_VALUES 200000

struct _DothiStyleDialog
{
  AdwWindow        parent_instance;

  DothiProject    *project;
  DothiLayerInfo  *info;
  DothiStyle      *style;     /* our own copy, never shared */
  GPtrArray       *fields;    /* char*: field names offered */
  /* Set while the widgets show the style: no reclassification then. */
  gboolean         loading;

  AdwToastOverlay *toast_overlay;
  AdwWindowTitle  *window_title;
  GtkButton       *cancel_button;
  GtkButton       *apply_button;
  AdwComboRow     *kind_row;
  AdwComboRow     *field_row;
  GtkStringList   *field_names;
  AdwActionRow    *classes_row;
  GtkSpinButton   *classes_spin;
  GtkSpinButton   *width_spin;
  AdwComboRow     *scale_row;
  GtkStringList   *scale_names;
  GtkButton       *classify_button;
  GtkListBox      *rules_list;
  AdwComboRow     *label_row;
  GtkStringList   *label_names;
};

G_DEFINE_FINAL_TYPE (DothiStyleDialog, dothi_style_dialog, ADW_TYPE_WINDOW)

/* Scales a layer may stop at (0: every scale), and what one CSS pixel is
 * on the ground at 1:1 (96 dpi): a scale of 1:N is N × this metres/px. */
static const gint64 visibility_scales[] = { 0, 5000, 10000, 25000, 50000, 75000, 100000, 250000, 500000 };
#define METRES_PER_CSS_PIXEL (0.0254 / 96.0)

static guint
scale_index_for (double max_resolution)
{
  guint best = 0;
  double best_diff = G_MAXDOUBLE;

  if (max_resolution <= 0)
    return 0;
  for (guint i = 1; i < G_N_ELEMENTS (visibility_scales); i++)
    {
      double diff = fabs (visibility_scales[i] * METRES_PER_CSS_PIXEL - max_resolution);

      if (diff < best_diff)
        {
          best_diff = diff;
          best = i;
        }
    }
  return best;
}

enum {
  APPLIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Colours for categories without a conventional one: distinct, soft
 * enough to read labels over (ColorBrewer Set3-like). */
static const char *const palette[] = {
  "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
  "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
};

/* Graduated ramp, light to dark (YlOrRd). */
static const char *const ramp_low = "#ffffb2";
static const char *const ramp_high = "#bd0026";

static void
to_rgba (const DothiColor *color,
         GdkRGBA          *rgba)
{
  rgba->red = color->r;
  rgba->green = color->g;
  rgba->blue = color->b;
  rgba->alpha = color->a;
}

static void
from_rgba (const GdkRGBA *rgba,
           DothiColor    *color)
{
  color->r = rgba->red;
  color->g = rgba->green;
  color->b = rgba->blue;
  color->a = rgba->alpha;
}

static gboolean
is_line_layer (DothiStyleDialog *self)
{
  return self->info->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING;
}

/* The colour a rule row edits: lines have only a stroke. */
static DothiColor *
symbol_main_color (DothiStyleDialog *self,
                   DothiSymbol      *symbol)
{
  return is_line_layer (self) ? &symbol->stroke : &symbol->fill;
}

static const char *
selected_field (DothiStyleDialog *self)
{
  guint i = adw_combo_row_get_selected (self->field_row);

  if (i == GTK_INVALID_LIST_POSITION || i >= self->fields->len)
    return NULL;
  return g_ptr_array_index (self->fields, i);
}

static void
color_set_cb (GtkColorButton *button,
              DothiColor     *color)
{
  GdkRGBA rgba;

  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (button), &rgba);
  from_rgba (&rgba, color);
}

static GtkWidget *
new_color_button (DothiColor *color,
                  const char *title)
{
  GtkWidget *button;
  GdkRGBA rgba;

  to_rgba (color, &rgba);
  button = gtk_color_button_new_with_rgba (&rgba);
  gtk_color_chooser_set_use_alpha (GTK_COLOR_CHOOSER (button), TRUE);
  gtk_color_button_set_title (GTK_COLOR_BUTTON (button), title);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, title);
  /* @color lives in the style, which outlives the rows. */
  g_signal_connect (button, "color-set", G_CALLBACK (color_set_cb), color);
  return button;
}

static void
add_rule_row (DothiStyleDialog *self,
              const char       *title,
              DothiSymbol      *symbol,
              gboolean          with_outline)
{
  GtkWidget *row = adw_action_row_new ();
  /* Translators: title of the colour chooser of one class of a style */
  GtkWidget *fill = new_color_button (symbol_main_color (self, symbol), _("Colour"));

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), fill);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), fill);
  if (with_outline && !is_line_layer (self))
    /* Translators: title of the colour chooser of polygon outlines */
    adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                               new_color_button (&symbol->stroke, _("Outline Colour")));
  gtk_list_box_append (self->rules_list, row);
}

static char *
rule_title (const DothiStyle     *style,
            const DothiStyleRule *rule)
{
  if (rule->label != NULL && rule->label[0] != '\0')
    return g_strdup (rule->label);
  if (style->kind == DOTHI_STYLE_GRADUATED)
    /* Translators: a class of a graduated style, from one value to another */
    return g_strdup_printf (_("%g to %g"), rule->min, rule->max);
  return g_strdup (rule->value ? rule->value : "");
}

static void
update_rules (DothiStyleDialog *self)
{
  DothiStyle *style = self->style;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->rules_list))))
    gtk_list_box_remove (self->rules_list, child);

  if (style->kind == DOTHI_STYLE_SINGLE)
    {
      /* Translators: the one symbol of a single-symbol style */
      add_rule_row (self, _("All Features"), &style->other, TRUE);
      return;
    }

  for (guint i = 0; style->rules != NULL && i < style->rules->len; i++)
    {
      DothiStyleRule *rule = g_ptr_array_index (style->rules, i);
      g_autofree char *title = rule_title (style, rule);

      add_rule_row (self, title, &rule->symbol, FALSE);
    }
  if (style->draw_other)
    add_rule_row (self,
                  style->other_label && style->other_label[0]
                  ? style->other_label
                  /* Translators: the class of values no other class matches */
                  : _("Other Values"),
                  &style->other, FALSE);
}

static void
update_sensitivity (DothiStyleDialog *self)
{
  DothiStyleKind kind = self->style->kind;

  gtk_widget_set_visible (GTK_WIDGET (self->field_row), kind != DOTHI_STYLE_SINGLE);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_row), kind == DOTHI_STYLE_GRADUATED);
  gtk_widget_set_visible (GTK_WIDGET (self->classify_button), kind != DOTHI_STYLE_SINGLE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->field_row), self->fields->len > 0);
}

static void
show_error (DothiStyleDialog *self,
            const GError     *error)
{
  AdwToast *toast = adw_toast_new (error->message);

  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static DothiSymbol
template_symbol (DothiStyleDialog *self)
{
  DothiSymbol symbol = self->style->other;

  if (self->style->rules != NULL && self->style->rules->len > 0)
    symbol = ((DothiStyleRule *) g_ptr_array_index (self->style->rules, 0))->symbol;
  symbol.stroke_width = gtk_spin_button_get_value (self->width_spin);
  return symbol;
}

static void
clear_rules (DothiStyle *style)
{
  if (style->rules != NULL)
    g_ptr_array_set_size (style->rules, 0);
}

static gboolean
classify_categorised (DothiStyleDialog  *self,
                      const char        *field,
                      GError           **error)
{
  g_autoptr(GPtrArray) values = NULL;
  DothiSymbol symbol = template_symbol (self);

  values = dothi_project_distinct_values (self->project, self->info->name, field,
                                          MAX_CATEGORIES + 1, error);
  if (values == NULL)
    return FALSE;

  clear_rules (self->style);
  for (guint i = 0; i < values->len && i < MAX_CATEGORIES; i++)
    {
      const char *value = g_ptr_array_index (values, i);
      const char *name = dothi_style_land_use_name (value);
      g_autofree char *label = NULL;
      DothiColor color;

      if (!dothi_style_land_use_color (value, &color))
        dothi_color_parse (palette[i % G_N_ELEMENTS (palette)], &color);
      *symbol_main_color (self, &symbol) = color;
      if (name != NULL)
        /* Translators: a land-use code and its name: "ODT — Đất ở tại đô thị" */
        label = g_strdup_printf (_("%s — %s"), value, name);
      dothi_style_add_rule (self->style, label ? label : value, value, 0, 0, &symbol);
    }

  /* Values past the limit still show, in grey. */
  self->style->draw_other = values->len > MAX_CATEGORIES;
  return TRUE;
}

static gboolean
classify_graduated (DothiStyleDialog  *self,
                    const char        *field,
                    GError           **error)
{
  g_autoptr(GPtrArray) values = NULL;
  DothiSymbol symbol = template_symbol (self);
  guint n_classes = gtk_spin_button_get_value_as_int (self->classes_spin);
  double min = INFINITY, max = -INFINITY;
  DothiColor low, high;

  values = dothi_project_distinct_values (self->project, self->info->name, field,
                                          MAX_GRADUATED_VALUES, error);
  if (values == NULL)
    return FALSE;

  for (guint i = 0; i < values->len; i++)
    {
      const char *text = g_ptr_array_index (values, i);
      char *end = NULL;
      double v = g_ascii_strtod (text, &end);

      if (end == text || *end != '\0' || !isfinite (v))
        continue;
      min = MIN (min, v);
      max = MAX (max, v);
    }

  if (!isfinite (min))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: field name, layer title */
                   _("Field “%s” in layer “%s” holds no numbers to make ranges of"),
                   field, self->info->title ? self->info->title : self->info->name);
      return FALSE;
    }
  if (max == min)
    n_classes = 1;

  dothi_color_parse (ramp_low, &low);
  dothi_color_parse (ramp_high, &high);
  clear_rules (self->style);
  for (guint i = 0; i < n_classes; i++)
    {
      double t = n_classes > 1 ? (double) i / (n_classes - 1) : 0.0;
      double lo = min + (max - min) * i / n_classes;
      /* The last class includes the maximum (rules match min <= v < max). */
      double hi = i + 1 == n_classes ? nextafter (max, INFINITY)
                                     : min + (max - min) * (i + 1) / n_classes;
      DothiColor color = {
        low.r + (high.r - low.r) * t,
        low.g + (high.g - low.g) * t,
        low.b + (high.b - low.b) * t,
        1.0,
      };

      *symbol_main_color (self, &symbol) = color;
      dothi_style_add_rule (self->style, NULL, NULL, lo, hi, &symbol);
    }
  self->style->draw_other = FALSE;
  return TRUE;
}

static void
classify_clicked_cb (GtkButton        *button,
                     DothiStyleDialog *self)
{
  g_autoptr(GError) error = NULL;

  if (!dothi_style_dialog_classify (self, &error))
    show_error (self, error);
}

static void
kind_selected_cb (AdwComboRow      *row,
                  GParamSpec       *pspec,
                  DothiStyleDialog *self)
{
  guint kind = adw_combo_row_get_selected (row);

  if (self->loading || kind == GTK_INVALID_LIST_POSITION)
    return;
  dothi_style_dialog_set_kind (self, (DothiStyleKind) kind);
}

static void
field_selected_cb (AdwComboRow      *row,
                   GParamSpec       *pspec,
                   DothiStyleDialog *self)
{
  g_autoptr(GError) error = NULL;

  if (self->loading || self->style->kind == DOTHI_STYLE_SINGLE)
    return;
  if (!dothi_style_dialog_classify (self, &error))
    show_error (self, error);
}

static void
width_changed_cb (GtkSpinButton    *spin,
                  DothiStyleDialog *self)
{
  double width = gtk_spin_button_get_value (spin);

  self->style->other.stroke_width = width;
  for (guint i = 0; self->style->rules != NULL && i < self->style->rules->len; i++)
    ((DothiStyleRule *) g_ptr_array_index (self->style->rules, i))->symbol.stroke_width = width;
}

static void
apply_clicked_cb (GtkButton        *button,
                  DothiStyleDialog *self)
{
  g_autoptr(GError) error = NULL;

  if (!dothi_style_dialog_apply (self, &error))
    show_error (self, error);
}

static void
cancel_clicked_cb (GtkButton        *button,
                   DothiStyleDialog *self)
{
  gtk_window_close (GTK_WINDOW (self));
}

static void
load_style (DothiStyleDialog *self)
{
  const char *title = self->info->title && self->info->title[0]
                      ? self->info->title : self->info->name;
  guint label_index = 0;
  int field_index = -1;

  self->loading = TRUE;

  adw_window_title_set_subtitle (self->window_title, title);

  for (guint i = 0; self->info->fields != NULL && i < self->info->fields->len; i++)
    {
      DothiField *field = g_ptr_array_index (self->info->fields, i);

      if (field->type == DOTHI_FIELD_BLOB)
        continue;
      g_ptr_array_add (self->fields, g_strdup (field->name));
      gtk_string_list_append (self->field_names, field->name);
    }

  /* Translators: the layer is drawn at every map scale */
  gtk_string_list_append (self->scale_names, _("Every scale"));
  for (guint i = 1; i < G_N_ELEMENTS (visibility_scales); i++)
    {
      g_autofree char *n = dothi_format_int64 (visibility_scales[i]);
      g_autofree char *text = g_strdup_printf ("1:%s", n);

      gtk_string_list_append (self->scale_names, text);
    }
  adw_combo_row_set_selected (self->scale_row, scale_index_for (self->style->max_resolution));

  /* Translators: choice of the label field meaning "no labels" */
  gtk_string_list_append (self->label_names, _("None"));
  for (guint i = 0; i < self->fields->len; i++)
    {
      const char *name = g_ptr_array_index (self->fields, i);

      gtk_string_list_append (self->label_names, name);
      if (g_strcmp0 (name, self->style->label_field) == 0)
        label_index = i + 1;
      if (g_strcmp0 (name, self->style->field) == 0)
        field_index = (int) i;
    }

  adw_combo_row_set_selected (self->kind_row, self->style->kind);
  adw_combo_row_set_selected (self->field_row, field_index >= 0 ? (guint) field_index : 0);
  adw_combo_row_set_selected (self->label_row, label_index);
  gtk_spin_button_set_value (self->width_spin,
                             self->style->rules && self->style->rules->len > 0
                             && self->style->kind != DOTHI_STYLE_SINGLE
                             ? ((DothiStyleRule *) g_ptr_array_index (self->style->rules, 0))->symbol.stroke_width
                             : self->style->other.stroke_width);
  if (self->style->kind == DOTHI_STYLE_GRADUATED && self->style->rules != NULL
      && self->style->rules->len >= 2)
    gtk_spin_button_set_value (self->classes_spin, self->style->rules->len);

  update_sensitivity (self);
  update_rules (self);
  self->loading = FALSE;
}

static void
dothi_style_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), DOTHI_TYPE_STYLE_DIALOG);

  G_OBJECT_CLASS (dothi_style_dialog_parent_class)->dispose (object);
}

static void
dothi_style_dialog_finalize (GObject *object)
{
  DothiStyleDialog *self = DOTHI_STYLE_DIALOG (object);

  g_clear_object (&self->project);
  g_clear_pointer (&self->info, dothi_layer_info_free);
  g_clear_pointer (&self->style, dothi_style_unref);
  g_clear_pointer (&self->fields, g_ptr_array_unref);

  G_OBJECT_CLASS (dothi_style_dialog_parent_class)->finalize (object);
}

static void
dothi_style_dialog_class_init (DothiStyleDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dothi_style_dialog_dispose;
  object_class->finalize = dothi_style_dialog_finalize;

  signals[APPLIED] =
    g_signal_new ("applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, DOTHI_TYPE_STYLE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/vn/dothi/Dothi/ui/dothi-style-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, apply_button);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, kind_row);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, field_row);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, field_names);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, classes_row);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, classes_spin);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, width_spin);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, scale_row);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, scale_names);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, classify_button);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, rules_list);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, label_row);
  gtk_widget_class_bind_template_child (widget_class, DothiStyleDialog, label_names);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
dothi_style_dialog_init (DothiStyleDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->fields = g_ptr_array_new_with_free_func (g_free);

  g_signal_connect (self->kind_row, "notify::selected",
                    G_CALLBACK (kind_selected_cb), self);
  g_signal_connect (self->field_row, "notify::selected",
                    G_CALLBACK (field_selected_cb), self);
  g_signal_connect (self->width_spin, "value-changed",
                    G_CALLBACK (width_changed_cb), self);
  g_signal_connect (self->classify_button, "clicked",
                    G_CALLBACK (classify_clicked_cb), self);
  g_signal_connect (self->apply_button, "clicked",
                    G_CALLBACK (apply_clicked_cb), self);
  g_signal_connect (self->cancel_button, "clicked",
                    G_CALLBACK (cancel_clicked_cb), self);
}

GtkWidget *
dothi_style_dialog_new (GtkWindow            *parent,
                        DothiProject         *project,
                        const DothiLayerInfo *info,
                        const DothiStyle     *style)
{
  DothiStyleDialog *self;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (style != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_STYLE_DIALOG,
                       "transient-for", parent,
                       NULL);
  self->project = g_object_ref (project);
  self->info = dothi_layer_info_copy (info);
  self->style = dothi_style_copy (style);
  load_style (self);

  return GTK_WIDGET (self);
}

void
dothi_style_dialog_set_kind (DothiStyleDialog *self,
                             DothiStyleKind    kind)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (DOTHI_IS_STYLE_DIALOG (self));

  if (adw_combo_row_get_selected (self->kind_row) != (guint) kind)
    {
      /* The combo's notify comes back here. */
      adw_combo_row_set_selected (self->kind_row, kind);
      return;
    }
  if (self->style->kind == kind)
    return;

  self->style->kind = kind;
  clear_rules (self->style);
  self->style->draw_other = kind != DOTHI_STYLE_SINGLE;
  update_sensitivity (self);

  if (kind != DOTHI_STYLE_SINGLE && selected_field (self) != NULL
      && !dothi_style_dialog_classify (self, &error))
    show_error (self, error);
  update_rules (self);
}

gboolean
dothi_style_dialog_set_field (DothiStyleDialog *self,
                              const char       *field)
{
  g_return_val_if_fail (DOTHI_IS_STYLE_DIALOG (self), FALSE);

  for (guint i = 0; i < self->fields->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->fields, i), field) == 0)
      {
        self->loading = TRUE;
        adw_combo_row_set_selected (self->field_row, i);
        self->loading = FALSE;
        return TRUE;
      }
  return FALSE;
}

gboolean
dothi_style_dialog_classify (DothiStyleDialog  *self,
                             GError           **error)
{
  const char *field;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_STYLE_DIALOG (self), FALSE);

  field = selected_field (self);
  if (self->style->kind == DOTHI_STYLE_SINGLE)
    return TRUE;
  if (field == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer title */
                   _("Layer “%s” has no fields to classify by"),
                   self->info->title ? self->info->title : self->info->name);
      return FALSE;
    }

  g_free (self->style->field);
  self->style->field = g_strdup (field);
  if (self->style->kind == DOTHI_STYLE_CATEGORISED)
    ok = classify_categorised (self, field, error);
  else
    ok = classify_graduated (self, field, error);

  update_rules (self);
  return ok;
}

gboolean
dothi_style_dialog_apply (DothiStyleDialog  *self,
                          GError           **error)
{
  guint label = adw_combo_row_get_selected (self->label_row);

  g_return_val_if_fail (DOTHI_IS_STYLE_DIALOG (self), FALSE);

  {
    guint scale = adw_combo_row_get_selected (self->scale_row);

    self->style->max_resolution = scale != GTK_INVALID_LIST_POSITION && scale > 0
                                  && scale < G_N_ELEMENTS (visibility_scales)
                                  ? visibility_scales[scale] * METRES_PER_CSS_PIXEL : 0;
  }
  g_clear_pointer (&self->style->label_field, g_free);
  if (label != GTK_INVALID_LIST_POSITION && label > 0 && label <= self->fields->len)
    self->style->label_field = g_strdup (g_ptr_array_index (self->fields, label - 1));
  if (self->style->kind != DOTHI_STYLE_SINGLE && self->style->field == NULL)
    self->style->field = g_strdup (selected_field (self));

  if (!dothi_project_set_style (self->project, self->info->name, self->style, error))
    return FALSE;

  g_signal_emit (self, signals[APPLIED], 0, self->style);
  gtk_window_close (GTK_WINDOW (self));
  return TRUE;
}

const DothiStyle *
dothi_style_dialog_get_style (DothiStyleDialog *self)
{
  g_return_val_if_fail (DOTHI_IS_STYLE_DIALOG (self), NULL);

  return self->style;
}

gboolean
dothi_style_dialog_set_visible_scale (DothiStyleDialog *self,
                                      gint64            denominator)
{
  g_return_val_if_fail (DOTHI_IS_STYLE_DIALOG (self), FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (visibility_scales); i++)
    if (visibility_scales[i] == denominator)
      {
        adw_combo_row_set_selected (self->scale_row, i);
        return TRUE;
      }
  return FALSE;
}
