/* dothi-sensor-chart.c: a sensor's readings over a period as a line chart:
 * cairo axes, ticks labelled dd/mm HH:mm in ICT, dashed threshold lines,
 * the line broken where readings stop for a long while. */
#define G_LOG_DOMAIN "dothi-sensor-chart"

#include "config.h"
#include "dothi-sensor-chart.h"

#include <glib/gi18n.h>
#include <math.h>

#include "dothi-format.h"

/* Logical pixels around the plot. */
#define MARGIN_LEFT 72.0
#define MARGIN_RIGHT 24.0
#define MARGIN_TOP 20.0
#define MARGIN_BOTTOM 44.0

struct _DothiSensorChart
{
  GtkWidget  parent_instance;

  GArray    *readings;   /* double pairs */
  gint64     since, until;
  char      *unit;
  double     low, high;
  char      *message;
};

G_DEFINE_FINAL_TYPE (DothiSensorChart, dothi_sensor_chart, GTK_TYPE_WIDGET)

/* The pairs may come as two doubles per element or one; either way the
 * data is time, value, time, value… */
static guint
n_points (GArray *readings)
{
  if (readings == NULL)
    return 0;
  return g_array_get_element_size (readings) >= 2 * sizeof (double)
         ? readings->len : readings->len / 2;
}

#define READING(a, i, k) (((const double *) (a)->data)[2 * (i) + (k)])

static GTimeZone *
ict (void)
{
  static GTimeZone *zone;

  /* Vietnam has kept UTC+7 since 1975: a fixed offset, no tzdata needed. */
  if (g_once_init_enter (&zone))
    g_once_init_leave (&zone, g_time_zone_new_offset (7 * 3600));
  return zone;
}

char *
dothi_sensor_chart_format_time (gint64 time)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (time);
  g_autoptr(GDateTime) local = NULL;

  if (utc == NULL)
    return g_strdup ("");
  local = g_date_time_to_timezone (utc, ict ());
  return g_date_time_format (local, "%d/%m %H:%M");
}

/* A tick step (seconds) giving at most about @max ticks over @span. */
static gint64
tick_step (gint64 span, int max)
{
  static const gint64 steps[] = {
    600, 1800, 3600, 2 * 3600, 3 * 3600, 4 * 3600, 6 * 3600, 12 * 3600,
    86400, 2 * 86400, 5 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
  };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (span / steps[i] <= max)
      return steps[i];
  return steps[G_N_ELEMENTS (steps) - 1];
}

/* A round step for the value axis. */
static double
value_step (double range, int max)
{
  double raw = range / MAX (max, 1);
  double magnitude = pow (10, floor (log10 (raw)));
  double norm = raw / magnitude;

  if (norm <= 1)
    return magnitude;
  if (norm <= 2)
    return 2 * magnitude;
  if (norm <= 5)
    return 5 * magnitude;
  return 10 * magnitude;
}

static void
show_text (cairo_t     *cr,
           PangoLayout *layout,
           const char  *text,
           double       x,
           double       y,
           double       xalign,
           double       yalign)
{
  int width, height;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, x - xalign * width, y - yalign * height);
  pango_cairo_show_layout (cr, layout);
}

static void
dothi_sensor_chart_snapshot (GtkWidget   *widget,
                             GtkSnapshot *snapshot)
{
  DothiSensorChart *self = DOTHI_SENSOR_CHART (widget);
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  g_autoptr(PangoLayout) layout = NULL;
  double plot_w, plot_h, vmin = G_MAXDOUBLE, vmax = -G_MAXDOUBLE, step, gap;
  gint64 span, tstep;
  graphene_rect_t rect;
  GdkRGBA fg;
  gboolean drawing;
  cairo_t *cr;

  if (width <= MARGIN_LEFT + MARGIN_RIGHT || height <= MARGIN_TOP + MARGIN_BOTTOM)
    return;
  plot_w = width - MARGIN_LEFT - MARGIN_RIGHT;
  plot_h = height - MARGIN_TOP - MARGIN_BOTTOM;
  /* gtk_widget_get_color() is GTK 4.10; 4.8 has the style context's. */
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  graphene_rect_init (&rect, 0, 0, width, height);
  cr = gtk_snapshot_append_cairo (snapshot, &rect);
  layout = gtk_widget_create_pango_layout (widget, NULL);

  if (self->message != NULL || n_points (self->readings) == 0
      || self->until <= self->since)
    {
      gdk_cairo_set_source_rgba (cr, &fg);
      pango_layout_set_width (layout, (int) (width * PANGO_SCALE));
      pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
      show_text (cr, layout, self->message != NULL ? self->message
                 /* Translators: in place of a sensor's chart */
                 : _("No readings in this period"), 0, height / 2, 0, 0.5);
      cairo_destroy (cr);
      return;
    }

  for (guint i = 0; i < n_points (self->readings); i++)
    {
      double v = READING (self->readings, i, 1);

      if (!isfinite (v))
        continue;
      vmin = MIN (vmin, v);
      vmax = MAX (vmax, v);
    }
  if (isfinite (self->low))
    vmin = MIN (vmin, self->low), vmax = MAX (vmax, self->low);
  if (isfinite (self->high))
    vmin = MIN (vmin, self->high), vmax = MAX (vmax, self->high);
  if (vmin > vmax)
    vmin = 0, vmax = 1;
  if (vmax - vmin < 1e-9)
    vmin -= 0.5, vmax += 0.5;
  step = value_step (vmax - vmin, MAX (2, (int) (plot_h / 40)));
  vmin = floor (vmin / step) * step;
  vmax = ceil (vmax / step) * step;
  span = self->until - self->since;

#define X(t) (MARGIN_LEFT + ((double) ((t) - self->since)) / span * plot_w)
#define Y(v) (MARGIN_TOP + (1.0 - ((v) - vmin) / (vmax - vmin)) * plot_h)

  /* Grid and value labels. */
  cairo_set_line_width (cr, 1.0);
  for (double v = vmin; v <= vmax + step / 2; v += step)
    {
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.15);
      cairo_move_to (cr, MARGIN_LEFT, round (Y (v)) + 0.5);
      cairo_line_to (cr, MARGIN_LEFT + plot_w, round (Y (v)) + 0.5);
      cairo_stroke (cr);
      g_autofree char *text = dothi_format_double (v, step >= 1 ? 0 : step >= 0.1 ? 1 : 2);

      gdk_cairo_set_source_rgba (cr, &fg);
      show_text (cr, layout, text, MARGIN_LEFT - 6, Y (v), 1.0, 0.5);
    }
  if (self->unit != NULL)
    {
      gdk_cairo_set_source_rgba (cr, &fg);
      show_text (cr, layout, self->unit, 4, MARGIN_TOP - 4, 0, 0.5);
    }

  /* Time ticks, on round ICT hours and days. */
  tstep = tick_step (span, MAX (2, (int) (plot_w / 110)));
  {
    gint64 offset = 7 * 3600;
    gint64 t = ((self->since + offset) / tstep + 1) * tstep - offset;

    for (; t < self->until; t += tstep)
      {
        g_autofree char *text = dothi_sensor_chart_format_time (t);

        cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.15);
        cairo_move_to (cr, round (X (t)) + 0.5, MARGIN_TOP);
        cairo_line_to (cr, round (X (t)) + 0.5, MARGIN_TOP + plot_h);
        cairo_stroke (cr);
        /* A label that would run off the widget is left out (its line
         * stays): the next one down the axis names the time. */
        {
          int text_w, text_h;

          pango_layout_set_text (layout, text, -1);
          pango_layout_get_pixel_size (layout, &text_w, &text_h);
          if (X (t) + text_w / 2.0 > width - 2 || X (t) - text_w / 2.0 < 2)
            continue;
        }
        gdk_cairo_set_source_rgba (cr, &fg);
        show_text (cr, layout, text, X (t), MARGIN_TOP + plot_h + 6, 0.5, 0);
      }
  }

  /* Axes. */
  gdk_cairo_set_source_rgba (cr, &fg);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, MARGIN_LEFT + 0.5, MARGIN_TOP);
  cairo_line_to (cr, MARGIN_LEFT + 0.5, MARGIN_TOP + plot_h + 0.5);
  cairo_line_to (cr, MARGIN_LEFT + plot_w, MARGIN_TOP + plot_h + 0.5);
  cairo_stroke (cr);

  /* Thresholds, dashed. */
  {
    static const double dash[] = { 6.0, 4.0 };

    cairo_save (cr);
    cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
    cairo_set_line_width (cr, 1.5);
    if (isfinite (self->high))
      {
        g_autofree char *text = NULL;
        g_autofree char *number = dothi_format_double (self->high, 2);

        cairo_set_source_rgb (cr, 0.88, 0.11, 0.14);
        cairo_move_to (cr, MARGIN_LEFT, Y (self->high));
        cairo_line_to (cr, MARGIN_LEFT + plot_w, Y (self->high));
        cairo_stroke (cr);
        /* Translators: label of the upper threshold line of a sensor chart */
        text = g_strdup_printf (_("High threshold %s"), number);
        show_text (cr, layout, text, MARGIN_LEFT + plot_w - 4, Y (self->high) - 2, 1.0, 1.0);
      }
    if (isfinite (self->low))
      {
        g_autofree char *text = NULL;
        g_autofree char *number = dothi_format_double (self->low, 2);

        cairo_set_source_rgb (cr, 0.11, 0.44, 0.85);
        cairo_move_to (cr, MARGIN_LEFT, Y (self->low));
        cairo_line_to (cr, MARGIN_LEFT + plot_w, Y (self->low));
        cairo_stroke (cr);
        /* Translators: label of the lower threshold line of a sensor chart */
        text = g_strdup_printf (_("Low threshold %s"), number);
        show_text (cr, layout, text, MARGIN_LEFT + plot_w - 4, Y (self->low) - 2, 1.0, 1.0);
      }
    cairo_restore (cr);
  }

  /* The readings: a break where none came for a 24th of the period. */
  cairo_save (cr);
  cairo_rectangle (cr, MARGIN_LEFT, MARGIN_TOP - 2, plot_w, plot_h + 4);
  cairo_clip (cr);
  cairo_set_source_rgb (cr, 0.21, 0.52, 0.89);
  cairo_set_line_width (cr, 2.0);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  gap = span / 24.0;
  drawing = FALSE;
  for (guint i = 0; i < n_points (self->readings); i++)
    {
      double t = READING (self->readings, i, 0);
      double v = READING (self->readings, i, 1);

      if (!isfinite (v))
        {
          drawing = FALSE;
          continue;
        }
      if (drawing && t - READING (self->readings, i - 1, 0) > gap)
        drawing = FALSE;
      if (drawing)
        cairo_line_to (cr, X (t), Y (v));
      else
        {
          cairo_move_to (cr, X (t), Y (v));
          /* A lone reading still shows, as a dot. */
          cairo_arc (cr, X (t), Y (v), 1.5, 0, 2 * G_PI);
          cairo_move_to (cr, X (t), Y (v));
        }
      drawing = TRUE;
    }
  cairo_stroke (cr);
  cairo_restore (cr);

#undef X
#undef Y
  cairo_destroy (cr);
}

static void
dothi_sensor_chart_measure (GtkWidget      *widget,
                            GtkOrientation  orientation,
                            int             for_size,
                            int            *minimum,
                            int            *natural,
                            int            *minimum_baseline,
                            int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 320 : 200;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 640 : 320;
}

static void
dothi_sensor_chart_finalize (GObject *object)
{
  DothiSensorChart *self = DOTHI_SENSOR_CHART (object);

  g_clear_pointer (&self->readings, g_array_unref);
  g_clear_pointer (&self->unit, g_free);
  g_clear_pointer (&self->message, g_free);
  G_OBJECT_CLASS (dothi_sensor_chart_parent_class)->finalize (object);
}

static void
dothi_sensor_chart_class_init (DothiSensorChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = dothi_sensor_chart_finalize;
  widget_class->snapshot = dothi_sensor_chart_snapshot;
  widget_class->measure = dothi_sensor_chart_measure;
  gtk_widget_class_set_css_name (widget_class, "dothi-sensor-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
dothi_sensor_chart_init (DothiSensorChart *self)
{
  self->low = NAN;
  self->high = NAN;
}

GtkWidget *
dothi_sensor_chart_new (void)
{
  return g_object_new (DOTHI_TYPE_SENSOR_CHART, NULL);
}

void
dothi_sensor_chart_set_readings (DothiSensorChart *self,
                                 GArray           *readings,
                                 gint64            since,
                                 gint64            until,
                                 const char       *unit,
                                 double            low,
                                 double            high)
{
  g_return_if_fail (DOTHI_IS_SENSOR_CHART (self));

  g_clear_pointer (&self->readings, g_array_unref);
  if (readings != NULL)
    self->readings = g_array_ref (readings);
  self->since = since;
  self->until = until;
  g_free (self->unit);
  self->unit = g_strdup (unit);
  self->low = low;
  self->high = high;
  g_clear_pointer (&self->message, g_free);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
dothi_sensor_chart_get_n_points (DothiSensorChart *self)
{
  g_return_val_if_fail (DOTHI_IS_SENSOR_CHART (self), 0);
  return n_points (self->readings);
}

void
dothi_sensor_chart_set_message (DothiSensorChart *self,
                                const char       *message)
{
  g_return_if_fail (DOTHI_IS_SENSOR_CHART (self));

  g_free (self->message);
  self->message = g_strdup (message);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
