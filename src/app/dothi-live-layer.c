/* dothi-live-layer.c: the live overlay: sensors as coloured circles and
 * incidents as squares, placed once in Web Mercator from the project CRS,
 * drawn as GSK nodes of their own size; new data asks for at most ten
 * frames a second, while panning and zooming redraw at once. */
#define G_LOG_DOMAIN "dothi-live-layer"

#include "config.h"
#include "dothi-live-layer.h"

#include <math.h>
#include <string.h>

#include "dothi-format.h"
#include "dothi-map-transform.h"
#include "dothi-tile-layer.h"

/* Microseconds between two redraws caused by data: 10 Hz. */
#define MIN_REDRAW_INTERVAL (G_USEC_PER_SEC / 10)
/* Logical pixels. */
#define SENSOR_RADIUS 6.0
#define INCIDENT_SIZE 16.0
/* Zoom from which a sensor's value is written beside it. */
#define LABEL_ZOOM 15.5

typedef struct {
  char   *id;
  char   *label;      /* "2,35 bar" */
  double  mx, my;     /* Web Mercator */
  int     level;      /* -1, 0, 1; 2 when stale */
} Sensor;

typedef struct {
  char   *initial;    /* the category's first letter, upper case */
  double  mx, my;
  gint64  received;   /* unix seconds; 0 when unknown (always shown) */
  DothiIncidentStatus status;
} Incident;

struct _DothiLiveLayer
{
  ShumateLayer       parent_instance;

  int                srid;
  DothiMapTransform *transform;   /* main thread; NULL when PROJ failed */
  GArray            *sensors;     /* Sensor */
  GArray            *incidents;   /* Incident */
  gint64             until;

  gint64             data_mark;   /* what the data includes (the caller's number) */
  gint64             drawn_mark;  /* data_mark as of the last frame drawn */
  gint64             last_draw;   /* monotonic µs */
  GStrv              alerts;      /* the banner's lines, newest first; NULL: none */
  guint              redraw_id;
  guint              n_draws;
};

G_DEFINE_FINAL_TYPE (DothiLiveLayer, dothi_live_layer, SHUMATE_TYPE_LAYER)

static void
sensor_clear (gpointer data)
{
  Sensor *sensor = data;

  g_free (sensor->id);
  g_free (sensor->label);
}

static void
incident_clear (gpointer data)
{
  Incident *incident = data;

  g_free (incident->initial);
}

/* Project CRS to Web Mercator, through WGS 84 as the map draws it. */
static gboolean
place (DothiLiveLayer *self,
       double          x,
       double          y,
       double         *mx,
       double         *my)
{
  double lat, lon;

  if (self->transform == NULL || !isfinite (x) || !isfinite (y)
      || !dothi_map_transform_to_wgs84 (self->transform, x, y, &lat, &lon))
    return FALSE;
  dothi_lat_lon_to_mercator (lat, lon, mx, my);
  return TRUE;
}

static gboolean
redraw_cb (gpointer data)
{
  DothiLiveLayer *self = data;

  self->redraw_id = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return G_SOURCE_REMOVE;
}

/* New data: a frame now if the last one is old enough, else one when it
 * is; any number of calls in between make one frame. */
static void
request_redraw (DothiLiveLayer *self)
{
  gint64 since = g_get_monotonic_time () - self->last_draw;

  if (self->redraw_id != 0)
    return;
  if (since >= MIN_REDRAW_INTERVAL)
    gtk_widget_queue_draw (GTK_WIDGET (self));
  else
    self->redraw_id = g_timeout_add ((MIN_REDRAW_INTERVAL - since) / 1000 + 1, redraw_cb, self);
}

static GdkRGBA
rgba (guint32 rgb,
      float   alpha)
{
  GdkRGBA color = { ((rgb >> 16) & 0xff) / 255.0f, ((rgb >> 8) & 0xff) / 255.0f,
                    (rgb & 0xff) / 255.0f, alpha };

  return color;
}

static guint32
sensor_color (int level)
{
  switch (level)
    {
    case -1: return 0x1c71d8;
    case 1: return 0xe01b24;
    case 2: return 0x77767b;
    default: return 0x2ec27e;
    }
}

static guint32
incident_color (DothiIncidentStatus status)
{
  switch (status)
    {
    case DOTHI_INCIDENT_RECEIVED: return 0xe66100;     /* orange: nobody on it yet */
    case DOTHI_INCIDENT_ASSIGNED: return 0xc88800;     /* amber */
    case DOTHI_INCIDENT_IN_PROGRESS: return 0x813d9c;  /* purple */
    case DOTHI_INCIDENT_RESOLVED: return 0x26a269;     /* green */
    case DOTHI_INCIDENT_PUBLISHED: return 0x5e5c64;    /* grey: done */
    default: return 0xe66100;
    }
}

/* A disc of radius @r at (@x, @y), filled with @fill (may be NULL) and
 * ringed by @ring, @ring_width wide and centred on its edge, as cairo
 * would stroke it: GSK nodes of the marks' own size, never a surface
 * the size of the map. */
static void
append_disc (GtkSnapshot   *snapshot,
             double         x,
             double         y,
             double         r,
             const GdkRGBA *fill,
             const GdkRGBA *ring,
             float          ring_width)
{
  GskRoundedRect rounded;
  graphene_rect_t rect;
  double outer = r + ring_width / 2.0;
  const float widths[4] = { ring_width, ring_width, ring_width, ring_width };
  const GdkRGBA colors[4] = { *ring, *ring, *ring, *ring };

  if (fill != NULL)
    {
      graphene_rect_init (&rect, x - r, y - r, 2 * r, 2 * r);
      gsk_rounded_rect_init_from_rect (&rounded, &rect, r);
      gtk_snapshot_push_rounded_clip (snapshot, &rounded);
      gtk_snapshot_append_color (snapshot, fill, &rect);
      gtk_snapshot_pop (snapshot);
    }
  graphene_rect_init (&rect, x - outer, y - outer, 2 * outer, 2 * outer);
  gsk_rounded_rect_init_from_rect (&rounded, &rect, outer);
  gtk_snapshot_append_border (snapshot, &rounded, widths, colors);
}

/* @text at (@x, @y) (its left edge, or its centre when @centred, and its
 * vertical middle), in @color over a halo of @halo (NULL: none). */
static void
append_text (GtkSnapshot   *snapshot,
             PangoLayout   *layout,
             const char    *text,
             double         x,
             double         y,
             gboolean       centred,
             const GdkRGBA *color,
             const GdkRGBA *halo)
{
  int width, height;
  graphene_point_t at;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &width, &height);
  at = GRAPHENE_POINT_INIT (centred ? x - width / 2.0 : x, y - height / 2.0);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &at);
  if (halo != NULL)
    {
      const GskShadow shadows[4] = {
        { *halo, 1, 0, 1 }, { *halo, -1, 0, 1 }, { *halo, 0, 1, 1 }, { *halo, 0, -1, 1 } };

      gtk_snapshot_push_shadow (snapshot, shadows, G_N_ELEMENTS (shadows));
      gtk_snapshot_append_layout (snapshot, layout, color);
      gtk_snapshot_pop (snapshot);
    }
  else
    gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

/* The alerts not yet acknowledged, over the map's top-right corner in
 * the alert red: what the wall of an operations room must show. */
static void
append_alert_banner (DothiLiveLayer *self,
                     GtkWidget      *widget,
                     GtkSnapshot    *snapshot,
                     double          width)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  PangoFontDescription *font = pango_font_description_from_string ("Sans Bold 11");
  const GdkRGBA red = rgba (0xc01c28, 0.92f);
  const GdkRGBA white = rgba (0xffffff, 1.0f);
  const double pad = 10, gap = 4, margin = 12;
  double box_w = 0, box_h = pad, y;
  guint n = g_strv_length (self->alerts);
  GskRoundedRect box;
  graphene_rect_t rect;
  int w, h;

  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  for (guint i = 0; i < n; i++)
    {
      pango_layout_set_text (layout, self->alerts[i], -1);
      pango_layout_get_pixel_size (layout, &w, &h);
      box_w = MAX (box_w, w);
      box_h += h + (i + 1 < n ? gap : 0);
    }
  box_w += 2 * pad;
  box_h += pad;
  box_w = MIN (box_w, width - 2 * margin);
  graphene_rect_init (&rect, width - margin - box_w, margin, box_w, box_h);
  gsk_rounded_rect_init_from_rect (&box, &rect, 8);
  gtk_snapshot_push_rounded_clip (snapshot, &box);
  gtk_snapshot_append_color (snapshot, &red, &rect);
  y = margin + pad;
  for (guint i = 0; i < n; i++)
    {
      pango_layout_set_text (layout, self->alerts[i], -1);
      pango_layout_get_pixel_size (layout, &w, &h);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (rect.origin.x + pad, y));
      gtk_snapshot_append_layout (snapshot, layout, &white);
      gtk_snapshot_restore (snapshot);
      y += h + gap;
    }
  gtk_snapshot_pop (snapshot);
}

static void
dothi_live_layer_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  DothiLiveLayer *self = DOTHI_LIVE_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  g_autoptr(PangoLayout) layout = NULL;
  g_autoptr(PangoLayout) bold = NULL;
  PangoFontDescription *font;
  DothiMapFrame frame;
  gboolean labels;
  double scale;
  const GdkRGBA white = rgba (0xffffff, 1.0f);
  const GdkRGBA halo = rgba (0xffffff, 0.9f);
  const GdkRGBA ink = rgba (0x241f31, 1.0f);

  self->last_draw = g_get_monotonic_time ();
  self->n_draws++;
  self->drawn_mark = self->data_mark;
  if (!dothi_map_frame_init (&frame, viewport, widget))
    return;
  if (self->sensors->len == 0 && self->incidents->len == 0)
    {
      if (self->alerts != NULL && self->alerts[0] != NULL)
        append_alert_banner (self, widget, snapshot, frame.width);
      return;
    }

  /* Bigger marks when zoomed in: a wall screen is read from afar. */
  scale = frame.zoom >= 17 ? 1.5 : frame.zoom >= 14 ? 1.2 : 1.0;
  labels = frame.zoom >= LABEL_ZOOM;
  layout = gtk_widget_create_pango_layout (widget, NULL);
  bold = gtk_widget_create_pango_layout (widget, NULL);
  font = pango_font_description_from_string ("Sans Bold 9");
  pango_layout_set_font_description (bold, font);
  pango_font_description_free (font);

  for (guint i = 0; i < self->sensors->len; i++)
    {
      const Sensor *s = &g_array_index (self->sensors, Sensor, i);
      double r = SENSOR_RADIUS * scale;
      double x, y;

      dothi_map_frame_to_widget (&frame, s->mx, s->my, &x, &y);
      if (x < -100 || y < -r || x > frame.width + r || y > frame.height + r)
        continue;
      if (s->level == 2)
        {
          /* Stale: hollow, so nobody reads an old value as current. */
          GdkRGBA grey = rgba (sensor_color (2), 1.0f);

          append_disc (snapshot, x, y, r, NULL, &halo, 4.0f);
          append_disc (snapshot, x, y, r, NULL, &grey, 2.0f);
        }
      else
        {
          GdkRGBA fill = rgba (sensor_color (s->level), 1.0f);

          append_disc (snapshot, x, y, r, &fill, &white, 1.5f);
        }
      if (labels && s->label != NULL)
        append_text (snapshot, layout, s->label, x + r + 4, y, FALSE, &ink, &halo);
    }

  for (guint i = 0; i < self->incidents->len; i++)
    {
      const Incident *incident = &g_array_index (self->incidents, Incident, i);
      double half = INCIDENT_SIZE * scale / 2.0;
      double x, y;
      graphene_rect_t rect;
      GskRoundedRect square;
      GdkRGBA fill = rgba (incident_color (incident->status), 1.0f);
      const float widths[4] = { 1.5f, 1.5f, 1.5f, 1.5f };
      const GdkRGBA borders[4] = { white, white, white, white };

      if (self->until > 0 && incident->received > self->until)
        continue;
      dothi_map_frame_to_widget (&frame, incident->mx, incident->my, &x, &y);
      if (x < -half || y < -half || x > frame.width + half || y > frame.height + half)
        continue;
      graphene_rect_init (&rect, x - half, y - half, 2 * half, 2 * half);
      gtk_snapshot_append_color (snapshot, &fill, &rect);
      graphene_rect_inset (&rect, -0.75f, -0.75f);
      gsk_rounded_rect_init_from_rect (&square, &rect, 0);
      gtk_snapshot_append_border (snapshot, &square, widths, borders);
      if (incident->initial != NULL)
        append_text (snapshot, bold, incident->initial, x, y, TRUE, &white, NULL);
    }
  if (self->alerts != NULL && self->alerts[0] != NULL)
    append_alert_banner (self, widget, snapshot, frame.width);
}

static void
viewport_changed_cb (DothiLiveLayer *self)
{
  if (self->sensors->len > 0 || self->incidents->len > 0)
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
dothi_live_layer_constructed (GObject *object)
{
  DothiLiveLayer *self = DOTHI_LIVE_LAYER (object);

  G_OBJECT_CLASS (dothi_live_layer_parent_class)->constructed (object);
  dothi_viewport_connect_moved (shumate_layer_get_viewport (SHUMATE_LAYER (self)),
                                G_CALLBACK (viewport_changed_cb), self);
}

static void
dothi_live_layer_dispose (GObject *object)
{
  DothiLiveLayer *self = DOTHI_LIVE_LAYER (object);

  g_clear_handle_id (&self->redraw_id, g_source_remove);
  G_OBJECT_CLASS (dothi_live_layer_parent_class)->dispose (object);
}

static void
dothi_live_layer_finalize (GObject *object)
{
  DothiLiveLayer *self = DOTHI_LIVE_LAYER (object);

  g_clear_pointer (&self->transform, dothi_map_transform_free);
  g_clear_pointer (&self->alerts, g_strfreev);
  g_clear_pointer (&self->sensors, g_array_unref);
  g_clear_pointer (&self->incidents, g_array_unref);
  G_OBJECT_CLASS (dothi_live_layer_parent_class)->finalize (object);
}

static void
dothi_live_layer_class_init (DothiLiveLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = dothi_live_layer_constructed;
  object_class->dispose = dothi_live_layer_dispose;
  object_class->finalize = dothi_live_layer_finalize;
  widget_class->snapshot = dothi_live_layer_snapshot;
}

static void
dothi_live_layer_init (DothiLiveLayer *self)
{
  self->sensors = g_array_new (FALSE, TRUE, sizeof (Sensor));
  g_array_set_clear_func (self->sensors, sensor_clear);
  self->incidents = g_array_new (FALSE, TRUE, sizeof (Incident));
  g_array_set_clear_func (self->incidents, incident_clear);
  /* The map under it takes every event. */
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

/* Public API ------------------------------------------------------------- */

DothiLiveLayer *
dothi_live_layer_new (ShumateViewport *viewport,
                      int              srid)
{
  g_autoptr(GError) error = NULL;
  DothiLiveLayer *self;

  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);

  self = g_object_new (DOTHI_TYPE_LIVE_LAYER, "viewport", viewport, NULL);
  self->srid = srid;
  /* A CRS PROJ cannot place: nothing is drawn; the panel still lists. */
  self->transform = dothi_map_transform_new (srid, &error);
  if (self->transform == NULL)
    g_debug ("No transform from SRID %d: %s", srid, error->message);
  return self;
}

void
dothi_live_layer_set_sensors (DothiLiveLayer *self,
                              GPtrArray      *sensors)
{
  g_return_if_fail (DOTHI_IS_LIVE_LAYER (self));

  g_array_set_size (self->sensors, 0);
  for (guint i = 0; sensors != NULL && i < sensors->len; i++)
    {
      const DothiSensorState *state = sensors->pdata[i];
      Sensor sensor = { 0 };

      if (!place (self, state->x, state->y, &sensor.mx, &sensor.my))
        continue;
      sensor.id = g_strdup (state->sensor_id);
      sensor.level = state->stale ? 2 : CLAMP (state->level, -1, 1);
      if (isfinite (state->last_value))
        {
          g_autofree char *number = dothi_format_double (state->last_value, 2);

          /* "2,35 bar": a number and a unit, no words to translate. */
          sensor.label = g_strdup_printf ("%s %s", number, state->unit != NULL ? state->unit : "");
        }
      g_array_append_val (self->sensors, sensor);
    }
  request_redraw (self);
}

void
dothi_live_layer_set_incidents (DothiLiveLayer *self,
                                GPtrArray      *incidents)
{
  g_return_if_fail (DOTHI_IS_LIVE_LAYER (self));

  g_array_set_size (self->incidents, 0);
  for (guint i = 0; incidents != NULL && i < incidents->len; i++)
    {
      const DothiIncident *source = incidents->pdata[i];
      Incident incident = { 0 };

      if (!place (self, source->x, source->y, &incident.mx, &incident.my))
        continue;
      incident.status = source->status;
      if (source->category != NULL && *source->category != '\0'
          && g_utf8_validate (source->category, -1, NULL))
        {
          char buf[8] = { 0 };

          g_unichar_to_utf8 (g_unichar_toupper (g_utf8_get_char (source->category)), buf);
          incident.initial = g_utf8_normalize (buf, -1, G_NORMALIZE_NFC);
        }
      if (source->received_at != NULL)
        {
          g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (source->received_at, NULL);

          if (time != NULL)
            incident.received = g_date_time_to_unix (time);
        }
      g_array_append_val (self->incidents, incident);
    }
  request_redraw (self);
}

void
dothi_live_layer_set_replay_time (DothiLiveLayer *self,
                                  gint64          until)
{
  g_return_if_fail (DOTHI_IS_LIVE_LAYER (self));

  if (self->until == until)
    return;
  self->until = until;
  request_redraw (self);
}

gint64
dothi_live_layer_get_replay_time (DothiLiveLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), 0);
  return self->until;
}

guint
dothi_live_layer_get_n_sensors (DothiLiveLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), 0);
  return self->sensors->len;
}

gboolean
dothi_live_layer_get_sensor_level (DothiLiveLayer *self,
                                   const char     *sensor_id,
                                   int            *level)
{
  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), FALSE);
  g_return_val_if_fail (sensor_id != NULL, FALSE);

  for (guint i = 0; i < self->sensors->len; i++)
    {
      const Sensor *s = &g_array_index (self->sensors, Sensor, i);

      if (g_strcmp0 (s->id, sensor_id) == 0)
        {
          if (level != NULL)
            *level = s->level;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
dothi_live_layer_has_sensor (DothiLiveLayer *self,
                             const char     *sensor_id)
{
  return dothi_live_layer_get_sensor_level (self, sensor_id, NULL);
}

guint
dothi_live_layer_get_n_incidents (DothiLiveLayer *self)
{
  guint n = 0;

  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), 0);
  for (guint i = 0; i < self->incidents->len; i++)
    if (self->until <= 0 || g_array_index (self->incidents, Incident, i).received <= self->until)
      n++;
  return n;
}

guint
dothi_live_layer_get_n_draws (DothiLiveLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), 0);
  return self->n_draws;
}

void
dothi_live_layer_set_data_mark (DothiLiveLayer *self,
                                gint64          mark)
{
  g_return_if_fail (DOTHI_IS_LIVE_LAYER (self));

  self->data_mark = mark;
}

gint64
dothi_live_layer_get_drawn_mark (DothiLiveLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), 0);

  return self->drawn_mark;
}

void
dothi_live_layer_set_alerts (DothiLiveLayer     *self,
                             const char * const *lines)
{
  g_return_if_fail (DOTHI_IS_LIVE_LAYER (self));

  g_clear_pointer (&self->alerts, g_strfreev);
  if (lines != NULL && lines[0] != NULL)
    self->alerts = g_strdupv ((char **) lines);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char * const *
dothi_live_layer_get_alerts (DothiLiveLayer *self)
{
  g_return_val_if_fail (DOTHI_IS_LIVE_LAYER (self), NULL);

  return (const char * const *) self->alerts;
}
