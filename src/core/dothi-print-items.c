/* dothi-print-items.c: the items of a print layout other than the map
 * itself: VN-2000 grid, plot labels, overview, legend, scale bar, north
 * arrow, Vietnamese title blocks, text, images, tables and frames. */
#define G_LOG_DOMAIN "dothi-print"

#include "config.h"

#include "dothi-print-private.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-expression.h"
#include "dothi-search.h"
#include "dothi-spatialite-blob.h"

#include <glib/gi18n-lib.h>
#include <cpl_error.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Style sizes are logical pixels: 1/96 inch on paper. */
#define MM_PER_PX (25.4 / 96.0)

/* ---- small helpers ----------------------------------------------------- */

static double
get_double (JsonObject *item, const char *key, double fallback)
{
  JsonNode *node;

  if (item == NULL || (node = json_object_get_member (item, key)) == NULL
      || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE:
      return json_node_get_double (node);
    default:
      return fallback;
    }
}

static const char *
get_string (JsonObject *item, const char *key)
{
  JsonNode *node;

  if (item == NULL || (node = json_object_get_member (item, key)) == NULL
      || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
get_bool (JsonObject *item, const char *key, gboolean fallback)
{
  JsonNode *node;

  if (item == NULL || (node = json_object_get_member (item, key)) == NULL
      || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

static void
get_rect (JsonObject *item, double *x, double *y, double *w, double *h)
{
  *x = get_double (item, "x", 0);
  *y = get_double (item, "y", 0);
  *w = MAX (get_double (item, "w", 0), 0);
  *h = MAX (get_double (item, "h", 0), 0);
}

static void
set_color (cairo_t *cr, const DothiColor *c, double opacity)
{
  cairo_set_source_rgba (cr, c->r, c->g, c->b, c->a * opacity);
}

static gboolean
get_color (JsonObject *item, const char *key, DothiColor *color)
{
  const char *text = get_string (item, key);

  return text != NULL && dothi_color_parse (text, color);
}

static gboolean
set_db_error (sqlite3 *db, const char *layer, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, then SQLite's message */
               _("Could not read layer “%s” for printing: %s"),
               layer, sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
check_cancelled (DothiPrintContext *ctx, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (ctx->cancellable, error);
}

/* Text of a field value for printing, or NULL for NULL. */
static char *
column_text (sqlite3_stmt *stmt, int col)
{
  const unsigned char *text;

  switch (sqlite3_column_type (stmt, col))
    {
    case SQLITE_NULL:
      return NULL;
    case SQLITE_INTEGER:
      return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (stmt, col));
    case SQLITE_FLOAT:
      {
        double v = sqlite3_column_double (stmt, col);
        char *s = dothi_print_format_number (v, 2);
        char *comma = strchr (s, ',');

        /* "244,30" → "244,3", "12,00" → "12". */
        if (comma != NULL)
          {
            char *end = s + strlen (s) - 1;

            while (end > comma && *end == '0')
              *end-- = '\0';
            if (end == comma)
              *comma = '\0';
          }
        return s;
      }
    default:
      text = sqlite3_column_text (stmt, col);
      return text ? g_strdup ((const char *) text) : NULL;
    }
}

/* "1:2.000" with the Vietnamese grouping. */
static char *
format_scale (double scale)
{
  g_autofree char *n = dothi_print_format_number (scale, 0);

  return g_strdup_printf ("Tỷ lệ 1:%s", n);
}

/* ---- numbers ------------------------------------------------------------- */

char *
dothi_print_format_number (double value, int decimals)
{
  char buf[512];
  char fmt[16];
  const char *p;
  const char *dot;
  GString *out;
  gsize int_len;
  gboolean zero = TRUE;

  if (!isfinite (value))
    return g_strdup ("");
  decimals = CLAMP (decimals, 0, 12);
  g_snprintf (fmt, sizeof fmt, "%%.%df", decimals);
  g_ascii_formatd (buf, sizeof buf, fmt, value);

  out = g_string_new (NULL);
  p = buf;
  if (*p == '-')
    p++;
  for (const char *q = p; *q; q++)
    if (*q >= '1' && *q <= '9')
      zero = FALSE;
  if (buf[0] == '-' && !zero)
    g_string_append_c (out, '-');
  dot = strchr (p, '.');
  int_len = dot ? (gsize) (dot - p) : strlen (p);
  for (gsize i = 0; i < int_len; i++)
    {
      if (i > 0 && (int_len - i) % 3 == 0)
        g_string_append_c (out, '.');
      g_string_append_c (out, p[i]);
    }
  if (dot != NULL && dot[1] != '\0')
    {
      g_string_append_c (out, ',');
      g_string_append (out, dot + 1);
    }
  return g_string_free (out, FALSE);
}

/* The smallest 1, 2, 5 × 10^k at least @v. */
static double
nice_at_least (double v)
{
  double p;

  if (!(v > 0) || !isfinite (v))
    return 1;
  p = pow (10, floor (log10 (v)));
  if (p >= v * (1 - 1e-9))
    return p;
  if (2 * p >= v * (1 - 1e-9))
    return 2 * p;
  if (5 * p >= v * (1 - 1e-9))
    return 5 * p;
  return 10 * p;
}

double
dothi_print_nice_length (double metres)
{
  double target, p;

  if (!(metres > 0) || !isfinite (metres))
    return 0;
  /* The largest 1, 2, 5 × 10^k within a third of the frame. */
  target = metres / 3;
  p = pow (10, floor (log10 (target)));
  if (5 * p <= target * (1 + 1e-9))
    return 5 * p;
  if (2 * p <= target * (1 + 1e-9))
    return 2 * p;
  return p;
}

/* Decimals that show every multiple of @step exactly (0..3). */
static int
decimals_for (double step)
{
  for (int d = 0; d < 3; d++)
    {
      double scaled = step * pow (10, d);

      if (fabs (scaled - round (scaled)) < 1e-6 * MAX (1, scaled))
        return d;
    }
  return 3;
}

/* ---- text ---------------------------------------------------------------- */

PangoLayout *
dothi_print_text_layout (cairo_t    *cr,
                         const char *text,
                         double      size_pt,
                         gboolean    bold,
                         double      width_mm)
{
  PangoLayout *layout;
  PangoContext *pctx;
  PangoFontDescription *desc;
  cairo_font_options_t *options;
  g_autofree char *valid = NULL;
  g_autofree char *nfc = NULL;

  g_return_val_if_fail (cr != NULL, NULL);

  layout = pango_cairo_create_layout (cr);
  pctx = pango_layout_get_context (layout);
  /* User space is millimetres: hinted metrics would round advances to
   * whole millimetres. */
  options = cairo_font_options_create ();
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_antialias (options, CAIRO_ANTIALIAS_GRAY);
  pango_cairo_context_set_font_options (pctx, options);
  cairo_font_options_destroy (options);
  pango_context_set_round_glyph_positions (pctx, FALSE);
  pango_layout_context_changed (layout);

  desc = pango_font_description_new ();
  pango_font_description_set_family (desc, DOTHI_PRINT_FONT);
  pango_font_description_set_weight (desc, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_font_description_set_absolute_size (desc, MAX (size_pt, 0.5) / DOTHI_PT_PER_MM * PANGO_SCALE);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);

  if (width_mm > 0)
    {
      pango_layout_set_width (layout, (int) (width_mm * PANGO_SCALE));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    }
  valid = g_utf8_make_valid (text ? text : "", -1);
  nfc = g_utf8_normalize (valid, -1, G_NORMALIZE_NFC);
  pango_layout_set_text (layout, nfc ? nfc : valid, -1);
  return layout;
}

/* Pango markup with every value NFC (the markup itself is ASCII). */
static void
set_markup_nfc (PangoLayout *layout, const char *markup)
{
  g_autofree char *nfc = g_utf8_normalize (markup, -1, G_NORMALIZE_NFC);

  pango_layout_set_markup (layout, nfc ? nfc : markup, -1);
}

static void
layout_size (PangoLayout *layout, double *w, double *h)
{
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  if (w)
    *w = (double) logical.width / PANGO_SCALE;
  if (h)
    *h = (double) logical.height / PANGO_SCALE;
}

static void
show_layout (cairo_t *cr, PangoLayout *layout, double x, double y)
{
  cairo_move_to (cr, x, y);
  pango_cairo_update_layout (cr, layout);
  pango_cairo_show_layout (cr, layout);
}

/* Text with a white halo, for labels over the map. */
static void
show_layout_halo (cairo_t *cr, PangoLayout *layout, double x, double y, double halo)
{
  cairo_save (cr);
  cairo_move_to (cr, x, y);
  pango_cairo_update_layout (cr, layout);
  pango_cairo_layout_path (cr, layout);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.9);
  cairo_set_line_width (cr, halo);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  cairo_restore (cr);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  show_layout (cr, layout, x, y);
}

/* A layout of @text (markup when @markup) that fits @w × @h: wrapped to
 * @w, shrunk from @size_pt down to @min_pt; lines past @h at @min_pt
 * are cut with an ellipsis. */
static PangoLayout *
fit_text (cairo_t *cr, const char *text, gboolean markup, double size_pt, double min_pt,
          gboolean bold, double w, double h, PangoAlignment align)
{
  PangoLayout *layout = NULL;
  double size = size_pt;

  min_pt = MIN (min_pt, size_pt);
  for (;;)
    {
      double tw, th;
      gboolean word_broken = FALSE;

      g_clear_object (&layout);
      layout = dothi_print_text_layout (cr, markup ? "" : text, size, bold, MAX (w, 0.1));
      if (markup)
        set_markup_nfc (layout, text);
      pango_layout_set_alignment (layout, align);
      /* A word split across lines reads badly: shrink instead. With
       * word wrapping only, a word too long for the width overflows. */
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD);
      {
        PangoLayoutIter *iter = pango_layout_get_iter (layout);

        do
          {
            PangoRectangle r;

            pango_layout_iter_get_line_extents (iter, NULL, &r);
            if ((double) r.width / PANGO_SCALE > w + 0.01)
              word_broken = TRUE;
          }
        while (pango_layout_iter_next_line (iter));
        pango_layout_iter_free (iter);
      }
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
      layout_size (layout, &tw, &th);
      if ((th <= h + 0.01 && !word_broken) || size <= min_pt + 1e-6)
        break;
      size = MAX (size * 0.92, min_pt);
    }
  {
    double th;

    layout_size (layout, NULL, &th);
    if (th > h + 0.01)
      {
        pango_layout_set_height (layout, (int) (h * PANGO_SCALE));
        pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      }
  }
  return layout;
}

/* Draws @text fitted into the box, centred vertically. */
static void
draw_fitted (cairo_t *cr, const char *text, gboolean markup, double size_pt, double min_pt,
             gboolean bold, double x, double y, double w, double h, PangoAlignment align,
             double pad)
{
  g_autoptr(PangoLayout) layout = NULL;
  double th;

  if (text == NULL || *text == '\0' || w <= 2 * pad || h <= 0)
    return;
  layout = fit_text (cr, text, markup, size_pt, min_pt, bold, w - 2 * pad, h - pad, align);
  layout_size (layout, NULL, &th);
  cairo_set_source_rgb (cr, 0, 0, 0);
  show_layout (cr, layout, x + pad, y + MAX ((h - th) / 2, 0));
}

/* ---- geometry ------------------------------------------------------------ */

/* A polygon: rings of x, y pairs, the first the outer one. */
typedef struct {
  GPtrArray *rings;   /* GArray of double */
  double     bbox[4];
  double     area;
} Polygon;

static void
polygon_free (gpointer data)
{
  Polygon *p = data;

  g_ptr_array_unref (p->rings);
  g_free (p);
}

typedef struct {
  const guint8 *p;
  const guint8 *end;
} Wkb;

static gboolean
wkb_u32 (Wkb *w, gboolean le, guint32 *v)
{
  guint32 u;

  if (w->end - w->p < 4)
    return FALSE;
  memcpy (&u, w->p, 4);
  w->p += 4;
  *v = le ? GUINT32_FROM_LE (u) : GUINT32_FROM_BE (u);
  return TRUE;
}

static gboolean
wkb_f64 (Wkb *w, gboolean le, double *v)
{
  guint64 u;

  if (w->end - w->p < 8)
    return FALSE;
  memcpy (&u, w->p, 8);
  w->p += 8;
  u = le ? GUINT64_FROM_LE (u) : GUINT64_FROM_BE (u);
  memcpy (v, &u, 8);
  return TRUE;
}

static double
ring_signed_area (const GArray *ring)
{
  const double *c = (const double *) ring->data;
  guint n = ring->len / 2;
  double a = 0;

  for (guint i = 0, j = n - 1; i < n; j = i++)
    a += c[2 * j] * c[2 * i + 1] - c[2 * i] * c[2 * j + 1];
  return a / 2;
}

/* Reads one geometry, appending its polygons to @out. */
static gboolean
wkb_read (Wkb *w, GPtrArray *out, int depth)
{
  guint8 order;
  gboolean le;
  guint32 type, base, dims;
  guint coords;

  if (depth > 8 || w->p >= w->end)
    return FALSE;
  order = *w->p++;
  le = order == 1;
  if (!wkb_u32 (w, le, &type))
    return FALSE;
  dims = 2;
  if (type & 0x80000000u)
    dims++;
  if (type & 0x40000000u)
    dims++;
  type &= 0x0fffffffu;
  base = type % 1000;
  switch (type / 1000)
    {
    case 1: case 2: dims = MAX (dims, 3); break;
    case 3: dims = 4; break;
    default: break;
    }
  coords = dims;

  switch (base)
    {
    case 1:
      {
        double v;

        for (guint i = 0; i < coords; i++)
          if (!wkb_f64 (w, le, &v))
            return FALSE;
        return TRUE;
      }
    case 2:
      {
        guint32 n;
        double v;

        if (!wkb_u32 (w, le, &n) || (gsize) (w->end - w->p) < (gsize) n * coords * 8)
          return FALSE;
        for (guint i = 0; i < n * coords; i++)
          wkb_f64 (w, le, &v);
        return TRUE;
      }
    case 3:
      {
        guint32 n_rings;
        Polygon *poly;

        if (!wkb_u32 (w, le, &n_rings))
          return FALSE;
        poly = g_new0 (Polygon, 1);
        poly->rings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
        poly->bbox[0] = poly->bbox[1] = G_MAXDOUBLE;
        poly->bbox[2] = poly->bbox[3] = -G_MAXDOUBLE;
        for (guint r = 0; r < n_rings; r++)
          {
            guint32 n;
            GArray *ring;

            if (!wkb_u32 (w, le, &n) || (gsize) (w->end - w->p) < (gsize) n * coords * 8)
              {
                polygon_free (poly);
                return FALSE;
              }
            ring = g_array_sized_new (FALSE, FALSE, sizeof (double), n * 2);
            for (guint i = 0; i < n; i++)
              {
                double xy[2], v;

                wkb_f64 (w, le, &xy[0]);
                wkb_f64 (w, le, &xy[1]);
                for (guint k = 2; k < coords; k++)
                  wkb_f64 (w, le, &v);
                g_array_append_vals (ring, xy, 2);
                if (r == 0)
                  {
                    poly->bbox[0] = MIN (poly->bbox[0], xy[0]);
                    poly->bbox[1] = MIN (poly->bbox[1], xy[1]);
                    poly->bbox[2] = MAX (poly->bbox[2], xy[0]);
                    poly->bbox[3] = MAX (poly->bbox[3], xy[1]);
                  }
              }
            if (ring->len >= 6)
              {
                double a = fabs (ring_signed_area (ring));

                poly->area += r == 0 ? a : -a;
                g_ptr_array_add (poly->rings, ring);
              }
            else
              g_array_unref (ring);
          }
        if (poly->rings->len > 0)
          g_ptr_array_add (out, poly);
        else
          polygon_free (poly);
        return TRUE;
      }
    case 4: case 5: case 6: case 7:
      {
        guint32 n;

        if (!wkb_u32 (w, le, &n))
          return FALSE;
        for (guint i = 0; i < n; i++)
          if (!wkb_read (w, out, depth + 1))
            return FALSE;
        return TRUE;
      }
    default:
      return FALSE;
    }
}

/* The polygons of a SpatiaLite blob (empty for other kinds). */
static GPtrArray *
polygons_from_blob (const void *blob, int len, GByteArray *scratch)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (polygon_free);
  Wkb w;

  if (blob == NULL || len <= 0
      || !dothi_blob_to_wkb (blob, len, scratch, NULL))
    return out;
  w.p = scratch->data;
  w.end = scratch->data + scratch->len;
  wkb_read (&w, out, 0);
  return out;
}

static gboolean
polygon_contains (const Polygon *poly, double x, double y)
{
  gboolean inside = FALSE;

  for (guint r = 0; r < poly->rings->len; r++)
    {
      const GArray *ring = poly->rings->pdata[r];
      const double *c = (const double *) ring->data;
      guint n = ring->len / 2;

      for (guint i = 0, j = n - 1; i < n; j = i++)
        {
          double xi = c[2 * i], yi = c[2 * i + 1], xj = c[2 * j], yj = c[2 * j + 1];

          if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            inside = !inside;
        }
    }
  return inside;
}

/* Whether segment (x0,y0)-(x1,y1) enters the open box (Liang–Barsky). */
static gboolean
segment_enters_box (double x0, double y0, double x1, double y1, const double box[4])
{
  double t0 = 0, t1 = 1;
  double dx = x1 - x0, dy = y1 - y0;
  double p[4] = { -dx, dx, -dy, dy };
  double q[4] = { x0 - box[0], box[2] - x0, y0 - box[1], box[3] - y0 };

  for (int i = 0; i < 4; i++)
    {
      if (p[i] == 0)
        {
          if (q[i] <= 0)
            return FALSE;
          continue;
        }
      {
        double t = q[i] / p[i];

        if (p[i] < 0)
          t0 = MAX (t0, t);
        else
          t1 = MIN (t1, t);
      }
      if (t0 >= t1)
        return FALSE;
    }
  return t1 - t0 > 1e-9;
}

/* Whether the box (ground coordinates) lies inside the polygon. */
static gboolean
polygon_holds_box (const Polygon *poly, const double box[4])
{
  if (box[0] < poly->bbox[0] || box[2] > poly->bbox[2]
      || box[1] < poly->bbox[1] || box[3] > poly->bbox[3])
    return FALSE;
  if (!polygon_contains (poly, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    return FALSE;
  for (guint r = 0; r < poly->rings->len; r++)
    {
      const GArray *ring = poly->rings->pdata[r];
      const double *c = (const double *) ring->data;
      guint n = ring->len / 2;

      for (guint i = 0, j = n - 1; i < n; j = i++)
        if (segment_enters_box (c[2 * j], c[2 * j + 1], c[2 * i], c[2 * i + 1], box))
          return FALSE;
    }
  return TRUE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* A point of @poly where a box of @bw × @bh (ground units) fits inside
 * it, and only inside @clip (minx miny maxx maxy), or FALSE. Tries the
 * bounding box centre, then the middles of the widest spans along a few
 * horizontal lines. */
static gboolean
polygon_label_point (const Polygon *poly, double bw, double bh, const double clip[4],
                     double *out_x, double *out_y)
{
  const int n_lines = 9;
  g_autoptr(GArray) cand = g_array_new (FALSE, FALSE, sizeof (double) * 3);
  g_autoptr(GArray) xs = g_array_new (FALSE, FALSE, sizeof (double));
  double bb_w = poly->bbox[2] - poly->bbox[0];
  double bb_h = poly->bbox[3] - poly->bbox[1];

  if (bw > bb_w || bh > bb_h)
    return FALSE;
  {
    double c[3] = { (poly->bbox[0] + poly->bbox[2]) / 2, (poly->bbox[1] + poly->bbox[3]) / 2, G_MAXDOUBLE };

    g_array_append_val (cand, c);
  }
  for (int l = 0; l < n_lines; l++)
    {
      /* From the middle outwards. */
      int k = (l % 2 == 0) ? l / 2 : -(l + 1) / 2;
      double y = poly->bbox[1] + bb_h * (0.5 + (double) k / (n_lines + 1));

      g_array_set_size (xs, 0);
      for (guint r = 0; r < poly->rings->len; r++)
        {
          const GArray *ring = poly->rings->pdata[r];
          const double *c = (const double *) ring->data;
          guint n = ring->len / 2;

          for (guint i = 0, j = n - 1; i < n; j = i++)
            {
              double yi = c[2 * i + 1], yj = c[2 * j + 1];

              if ((yi > y) != (yj > y))
                {
                  double x = c[2 * i] + (c[2 * j] - c[2 * i]) * (y - yi) / (yj - yi);

                  g_array_append_val (xs, x);
                }
            }
        }
      g_array_sort (xs, compare_doubles);
      for (guint i = 0; i + 1 < xs->len; i += 2)
        {
          double x0 = g_array_index (xs, double, i);
          double x1 = g_array_index (xs, double, i + 1);
          double c[3] = { (x0 + x1) / 2, y, (x1 - x0) * (1.0 - 0.1 * ABS (k)) };

          if (x1 - x0 >= bw)
            g_array_append_val (cand, c);
        }
    }
  /* Widest first, the centre before all. */
  for (guint i = 1; i < cand->len; i++)
    for (guint j = i; j > 1; j--)
      {
        double *a = (double *) cand->data + 3 * (j - 1);
        double *b = (double *) cand->data + 3 * j;

        if (b[2] > a[2])
          {
            double t[3];

            memcpy (t, a, sizeof t);
            memcpy (a, b, sizeof t);
            memcpy (b, t, sizeof t);
          }
      }
  for (guint i = 0; i < cand->len && i < 12; i++)
    {
      const double *c = (const double *) cand->data + 3 * i;
      double box[4] = { c[0] - bw / 2, c[1] - bh / 2, c[0] + bw / 2, c[1] + bh / 2 };

      if (box[0] < clip[0] || box[1] < clip[1] || box[2] > clip[2] || box[3] > clip[3])
        continue;
      if (polygon_holds_box (poly, box))
        {
          *out_x = c[0];
          *out_y = c[1];
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- map frames ---------------------------------------------------------- */

typedef struct {
  double x, y, w, h;
  double minx, maxy;
  double sx, sy;      /* mm per metre */
} Frame;

static gboolean
frame_init (Frame *f, DothiPrintMap *map)
{
  double ew = map->extent[2] - map->extent[0];
  double eh = map->extent[3] - map->extent[1];

  if (!(ew > 0) || !(eh > 0) || map->w <= 0 || map->h <= 0)
    return FALSE;
  f->x = map->x;
  f->y = map->y;
  f->w = map->w;
  f->h = map->h;
  f->minx = map->extent[0];
  f->maxy = map->extent[3];
  f->sx = map->w / ew;
  f->sy = map->h / eh;
  return TRUE;
}

static inline double
frame_px (const Frame *f, double e)
{
  return f->x + (e - f->minx) * f->sx;
}

static inline double
frame_py (const Frame *f, double n)
{
  return f->y + (f->maxy - n) * f->sy;
}

static const DothiLayerInfo *
find_field_layer (DothiPrintContext *ctx, const char *layer, const char *field)
{
  const DothiLayerInfo *info = dothi_print_context_find_layer (ctx, layer);

  if (info == NULL || (field != NULL && dothi_layer_info_find_field (info, field) < 0))
    return NULL;
  return info;
}

/* ---- VN-2000 grid --------------------------------------------------------- */

static void
grid_label (cairo_t *cr, const char *text, double size_pt, double ax, double ay,
            int side /* 0 top, 1 right, 2 bottom, 3 left */, const Frame *f)
{
  g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, text, size_pt, FALSE, 0);
  double tw, th;

  layout_size (layout, &tw, &th);
  cairo_set_source_rgb (cr, 0, 0, 0);
  switch (side)
    {
    case 0:
    case 2:
      if (ax - tw / 2 < f->x - 0.5 || ax + tw / 2 > f->x + f->w + 0.5)
        return;
      show_layout (cr, layout, ax - tw / 2, side == 0 ? ay - th : ay);
      break;
    default:
      if (ay - tw / 2 < f->y - 0.5 || ay + tw / 2 > f->y + f->h + 0.5)
        return;
      cairo_save (cr);
      cairo_translate (cr, ax, ay);
      cairo_rotate (cr, -G_PI / 2);
      show_layout (cr, layout, -tw / 2, side == 3 ? -th : 0);
      cairo_restore (cr);
      break;
    }
}

gboolean
dothi_print_draw_map_grid (cairo_t            *cr,
                           DothiPrintContext  *ctx,
                           DothiPrintMap      *map,
                           GError            **error)
{
  JsonNode *node;
  double interval = 0;
  double size_pt, tick = 1.5, gap = 2.0;
  gint64 step_x = 1, step_y = 1;
  gboolean crosses;
  int decimals;
  Frame f;

  g_return_val_if_fail (cr != NULL && map != NULL, FALSE);

  if (!frame_init (&f, map))
    return TRUE;
  node = map->item ? json_object_get_member (map->item, "grid") : NULL;
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && (json_node_get_value_type (node) == G_TYPE_INT64
          || json_node_get_value_type (node) == G_TYPE_DOUBLE))
    {
      interval = json_node_get_double (node);
      if (!(interval > 0))
        return TRUE;
    }
  else if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
           && json_node_get_value_type (node) == G_TYPE_BOOLEAN
           && !json_node_get_boolean (node))
    return TRUE;
  else
    /* Automatic: 4 to 10 lines across. */
    interval = nice_at_least ((map->extent[2] - map->extent[0]) / 10);
  /* Never denser than a line per 2 mm on paper. */
  while (interval * MIN (f.sx, f.sy) < 2)
    interval = nice_at_least (interval * 1.01);

  decimals = decimals_for (interval);
  crosses = g_strcmp0 (get_string (map->item, "grid_style"), "crosses") == 0;
  size_pt = get_double (map->item, "grid_size", 6.5);
  /* Label every line, or every second or fifth… when labels would touch. */
  {
    double widest = MAX (fabs (map->extent[0]), MAX (fabs (map->extent[2]),
                         MAX (fabs (map->extent[1]), fabs (map->extent[3]))));
    g_autofree char *sample = dothi_print_format_number (widest, decimals);
    g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, sample, size_pt, FALSE, 0);
    double tw;

    layout_size (layout, &tw, NULL);
    step_x = MAX (1, (gint64) ceil ((tw + 2) / (interval * f.sx)));
    step_y = MAX (1, (gint64) ceil ((tw + 2) / (interval * f.sy)));
  }

  /* Lines (or crosses), clipped to the frame. */
  cairo_save (cr);
  cairo_rectangle (cr, f.x, f.y, f.w, f.h);
  cairo_clip (cr);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  if (!crosses)
    {
      cairo_set_source_rgba (cr, 0.35, 0.35, 0.35, 0.75);
      cairo_set_line_width (cr, 0.1);
      for (gint64 k = (gint64) ceil (map->extent[0] / interval); k * interval <= map->extent[2]; k++)
        {
          double px = frame_px (&f, k * interval);

          cairo_move_to (cr, px, f.y);
          cairo_line_to (cr, px, f.y + f.h);
        }
      for (gint64 k = (gint64) ceil (map->extent[1] / interval); k * interval <= map->extent[3]; k++)
        {
          double py = frame_py (&f, k * interval);

          cairo_move_to (cr, f.x, py);
          cairo_line_to (cr, f.x + f.w, py);
        }
      cairo_stroke (cr);
    }
  else
    {
      double arm = MIN (2.5, interval * MIN (f.sx, f.sy) / 6);

      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      cairo_set_line_width (cr, 0.15);
      for (gint64 i = (gint64) ceil (map->extent[0] / interval); i * interval <= map->extent[2]; i++)
        for (gint64 j = (gint64) ceil (map->extent[1] / interval); j * interval <= map->extent[3]; j++)
          {
            double px = frame_px (&f, i * interval), py = frame_py (&f, j * interval);

            cairo_move_to (cr, px - arm, py);
            cairo_line_to (cr, px + arm, py);
            cairo_move_to (cr, px, py - arm);
            cairo_line_to (cr, px, py + arm);
          }
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  /* Ticks and labels outside the frame: Y (easting) on top and bottom,
   * X (northing) left and right. */
  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 0.15);
  for (gint64 k = (gint64) ceil (map->extent[0] / interval); k * interval <= map->extent[2]; k++)
    {
      double e = k * interval;
      double px = frame_px (&f, e);
      g_autofree char *text = dothi_print_format_number (e, decimals);

      cairo_move_to (cr, px, f.y);
      cairo_line_to (cr, px, f.y - tick);
      cairo_move_to (cr, px, f.y + f.h);
      cairo_line_to (cr, px, f.y + f.h + tick);
      cairo_stroke (cr);
      if (k % step_x != 0)
        continue;
      grid_label (cr, text, size_pt, px, f.y - gap, 0, &f);
      grid_label (cr, text, size_pt, px, f.y + f.h + gap, 2, &f);
    }
  for (gint64 k = (gint64) ceil (map->extent[1] / interval); k * interval <= map->extent[3]; k++)
    {
      double n = k * interval;
      double py = frame_py (&f, n);
      g_autofree char *text = dothi_print_format_number (n, decimals);

      cairo_move_to (cr, f.x, py);
      cairo_line_to (cr, f.x - tick, py);
      cairo_move_to (cr, f.x + f.w, py);
      cairo_line_to (cr, f.x + f.w + tick, py);
      cairo_stroke (cr);
      if (k % step_y != 0)
        continue;
      grid_label (cr, text, size_pt, f.x - gap, py, 3, &f);
      grid_label (cr, text, size_pt, f.x + f.w + gap, py, 1, &f);
    }
  cairo_restore (cr);
  return TRUE;
}

/* ---- plot labels --------------------------------------------------------- */

static const char * const zoning_code_fields[] = {
  "ky_hieu", "ky_hieu_o", "kyhieu", "ma_o", "ma_o_dat", "ma_lo", "ma_khu", "ma_qh",
  "ma_quy_hoach", "code", "plot_code",
};
static const char * const population_fields[] = {
  "dan_so", "danso", "so_dan", "population", "pop",
};
static const char * const density_fields[] = {
  "mat_do_xd", "mat_do", "mdxd", "density",
};
static const char * const height_fields[] = {
  "tang_cao", "tang_cao_max", "so_tang", "floors",
};
static const char * const parcel_area_fields[] = {
  "dien_tich", "dientich", "dt", "area",
};
static const char * const land_use_fields[] = {
  "muc_dich", "loai_dat", "mdsd", "ma_loai_dat", "land_use",
};

static const char *
first_field (const DothiLayerInfo *info, const char * const *names, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      int k = dothi_layer_info_find_field (info, names[i]);

      if (k >= 0)
        return ((const DothiField *) info->fields->pdata[k])->name;
    }
  return NULL;
}

static gboolean
is_zoning_layer (const DothiLayerInfo *info)
{
  g_autofree char *title = dothi_text_fold (info->title ? info->title : "");
  const char *name = info->name ? info->name : "";

  return strstr (name, "zoning") != NULL || strstr (name, "quy_hoach") != NULL
         || g_str_has_prefix (name, "qh") || strstr (title, "quy hoach") != NULL
         || dothi_layer_info_find_field (info, "chuc_nang") >= 0
         || first_field (info, zoning_code_fields, 6) != NULL;
}

typedef enum {
  LABEL_PLAIN,     /* the style's label field */
  LABEL_ZONING,    /* TT 04/2022: code, area (ha), population */
  LABEL_PARCEL,    /* TT 25/2014: number over area, land-use code */
} LabelKind;

typedef struct {
  LabelKind   kind;
  const char *code_field;
  const char *area_field;
  const char *pop_field;
  const char *density_field;
  const char *height_field;
  const char *use_field;
} LabelSpec;

/* A label drawn in a box of paper millimetres. */
typedef struct {
  double w, h;
  PangoLayout *top;      /* code / parcel number (bold) */
  PangoLayout *bottom;   /* area, population… (may be NULL) */
  PangoLayout *extra;    /* parcel land-use code (may be NULL) */
  gboolean     boxed;    /* zoning: white box and outline */
} Label;

static void
label_clear (Label *l)
{
  g_clear_object (&l->top);
  g_clear_object (&l->bottom);
  g_clear_object (&l->extra);
}

static void
label_measure (Label *l, double pad)
{
  double w1 = 0, h1 = 0, w2 = 0, h2 = 0, w3 = 0, h3 = 0;

  layout_size (l->top, &w1, &h1);
  if (l->bottom)
    layout_size (l->bottom, &w2, &h2);
  if (l->extra)
    layout_size (l->extra, &w3, &h3);
  l->w = MAX (MAX (w1, w2), w3) + 2 * pad;
  l->h = h1 + h2 + h3 + 2 * pad + (l->bottom ? 0.3 : 0);
}

static void
label_draw (cairo_t *cr, Label *l, double cx, double cy, double pad)
{
  double x = cx - l->w / 2, y = cy - l->h / 2;
  double w1, h1, w2 = 0, h2 = 0, w3 = 0;

  layout_size (l->top, &w1, &h1);
  if (l->bottom)
    layout_size (l->bottom, &w2, &h2);
  if (l->extra)
    layout_size (l->extra, &w3, NULL);
  if (l->boxed)
    {
      cairo_rectangle (cr, x, y, l->w, l->h);
      cairo_set_source_rgba (cr, 1, 1, 1, 0.88);
      cairo_fill_preserve (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      cairo_set_line_width (cr, 0.12);
      cairo_stroke (cr);
    }
  if (l->boxed)
    {
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      show_layout (cr, l->top, cx - w1 / 2, y + pad);
    }
  else
    show_layout_halo (cr, l->top, cx - w1 / 2, y + pad, 0.45);
  if (l->bottom)
    {
      double ly = y + pad + h1 + 0.15;
      double lw = MAX (w1, w2) + (l->boxed ? 2 * pad : 0.6);

      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      cairo_set_line_width (cr, l->boxed ? 0.12 : 0.15);
      cairo_move_to (cr, cx - MIN (lw, l->w) / 2, ly);
      cairo_line_to (cr, cx + MIN (lw, l->w) / 2, ly);
      cairo_stroke (cr);
      if (l->boxed)
        {
          cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
          show_layout (cr, l->bottom, cx - w2 / 2, ly + 0.15);
        }
      else
        show_layout_halo (cr, l->bottom, cx - w2 / 2, ly + 0.15, 0.45);
      if (l->extra)
        show_layout_halo (cr, l->extra, cx - w3 / 2, ly + 0.15 + h2, 0.45);
    }
  else if (l->extra)
    show_layout_halo (cr, l->extra, cx - w3 / 2, y + pad + h1, 0.45);
}

static gboolean
boxes_overlap (const double *a, const double *b)
{
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/* Builds the label for one row (@level 0 full, 1 shorter, 2 shortest);
 * FALSE when there is nothing to write. */
static gboolean
label_build (cairo_t *cr, Label *l, const LabelSpec *spec, sqlite3_stmt *stmt,
             double area_m2, double size_pt, int level)
{
  g_autofree char *code = column_text (stmt, 2);
  GString *bottom;

  memset (l, 0, sizeof *l);
  if (code == NULL || *code == '\0')
    return FALSE;
  switch (spec->kind)
    {
    case LABEL_ZONING:
      l->boxed = TRUE;
      l->top = dothi_print_text_layout (cr, code, size_pt, TRUE, 0);
      if (level >= 2)
        {
          l->boxed = FALSE;
          return TRUE;
        }
      bottom = g_string_new (NULL);
      {
        g_autofree char *ha = dothi_print_format_number (area_m2 / 10000.0, 2);

        g_string_append_printf (bottom, "%s ha", ha);
      }
      if (level == 0 && spec->density_field != NULL && spec->height_field != NULL
          && sqlite3_column_type (stmt, 4) != SQLITE_NULL && sqlite3_column_type (stmt, 5) != SQLITE_NULL)
        {
          g_autofree char *d = column_text (stmt, 4);
          g_autofree char *t = column_text (stmt, 5);

          g_string_append_printf (bottom, "\nMĐXD %s%% · %s tầng", d, t);
        }
      if (spec->pop_field != NULL && sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        {
          g_autofree char *p = dothi_print_format_number (sqlite3_column_double (stmt, 3), 0);

          g_string_append_printf (bottom, "\n%s người", p);
        }
      l->bottom = dothi_print_text_layout (cr, bottom->str, size_pt * 0.8, FALSE, 0);
      pango_layout_set_alignment (l->bottom, PANGO_ALIGN_CENTER);
      g_string_free (bottom, TRUE);
      return TRUE;
    case LABEL_PARCEL:
      l->top = dothi_print_text_layout (cr, code, size_pt, FALSE, 0);
      if (level >= 2)
        return TRUE;
      if (spec->area_field != NULL && sqlite3_column_type (stmt, 3) != SQLITE_NULL)
        {
          g_autofree char *a = dothi_print_format_number (sqlite3_column_double (stmt, 3), 1);

          l->bottom = dothi_print_text_layout (cr, a, size_pt, FALSE, 0);
        }
      if (level == 0 && spec->use_field != NULL)
        {
          g_autofree char *u = column_text (stmt, 4);

          if (u != NULL && *u != '\0')
            l->extra = dothi_print_text_layout (cr, u, size_pt * 0.9, FALSE, 0);
        }
      return TRUE;
    case LABEL_PLAIN:
    default:
      l->top = dothi_print_text_layout (cr, code, size_pt, FALSE, 0);
      return level == 0;
    }
}

static gboolean
draw_layer_labels (cairo_t *cr, DothiPrintContext *ctx, DothiPrintMap *map, const Frame *f,
                   const DothiRenderLayer *layer, GArray *placed, GError **error)
{
  const DothiLayerInfo *info = dothi_print_context_find_layer (ctx, layer->name);
  const DothiStyle *style = layer->style;
  LabelSpec spec = { 0 };
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GByteArray) scratch = g_byte_array_new ();
  double size_pt = get_double (map->item, "label_size", 7);
  double pad = 0.5;
  double mm_to_m = 1.0 / f->sx;    /* metres per mm */
  double min_w, min_h;
  const char *cols[3] = { NULL, NULL, NULL };
  g_autoptr(DothiSqlStr) c0 = NULL;
  g_autoptr(DothiSqlStr) c1 = NULL;
  g_autoptr(DothiSqlStr) c2 = NULL;
  g_autoptr(DothiSqlStr) c3 = NULL;
  guint n = 0;

  if (info == NULL || style == NULL || layer->selection != NULL
      || (info->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON
          && info->kind != DOTHI_GEOMETRY_KIND_GEOMETRY))
    return TRUE;

  if (is_zoning_layer (info))
    {
      spec.kind = LABEL_ZONING;
      spec.code_field = first_field (info, zoning_code_fields, G_N_ELEMENTS (zoning_code_fields));
      if (spec.code_field == NULL && style->label_field != NULL
          && dothi_layer_info_find_field (info, style->label_field) >= 0)
        spec.code_field = style->label_field;
      spec.pop_field = first_field (info, population_fields, G_N_ELEMENTS (population_fields));
      spec.density_field = first_field (info, density_fields, G_N_ELEMENTS (density_fields));
      spec.height_field = first_field (info, height_fields, G_N_ELEMENTS (height_fields));
      cols[0] = spec.pop_field;
      cols[1] = spec.density_field;
      cols[2] = spec.height_field;
    }
  else if (style->label_field != NULL && dothi_layer_info_find_field (info, style->label_field) >= 0)
    {
      spec.code_field = style->label_field;
      spec.area_field = first_field (info, parcel_area_fields, G_N_ELEMENTS (parcel_area_fields));
      spec.use_field = first_field (info, land_use_fields, G_N_ELEMENTS (land_use_fields));
      spec.kind = spec.area_field != NULL ? LABEL_PARCEL : LABEL_PLAIN;
      cols[0] = spec.area_field;
      cols[1] = spec.use_field;
    }
  if (spec.code_field == NULL)
    return TRUE;
  /* Names and numbers are not read at scales far past the style's own
   * label limit (plot labels of zoning are, whatever the scale). */
  if (spec.kind != LABEL_ZONING && style->label_max_resolution > 0
      && map->scale * MM_PER_PX / 1000.0 > 4 * style->label_max_resolution)
    return TRUE;

  /* Column names come from the registry's field list. */
#define COL(name) ((name) ? sqlite3_mprintf ("t.\"%w\"", (name)) : sqlite3_mprintf ("NULL"))
  c0 = COL (spec.code_field);
  c1 = COL (cols[0]);
  c2 = COL (cols[1]);
  c3 = COL (cols[2]);
#undef COL
  /* Columns: fid, geom, code, then area/pop, use/density, height. */
  sql = sqlite3_mprintf ("SELECT t.fid, t.geom, %s, %s, %s, %s FROM \"idx_%w_geom\" AS r "
                         "JOIN \"%w\" AS t ON t.fid = r.pkid "
                         "WHERE r.xmin <= ?3 AND r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?2 "
                         "AND r.xmax - r.xmin >= ?5 AND r.ymax - r.ymin >= ?6 "
                         "ORDER BY (r.xmax - r.xmin) * (r.ymax - r.ymin) DESC LIMIT ?7",
                         c0, c1, c2, c3, layer->name, layer->name);
  if (sqlite3_prepare_v2 (ctx->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (ctx->db, layer->name, error);

  /* The smallest label on paper: a few characters of one line. */
  min_w = (size_pt / DOTHI_PT_PER_MM) * 1.2 + 2 * pad;
  min_h = (size_pt / DOTHI_PT_PER_MM) * 1.3 + 2 * pad;
  sqlite3_bind_double (stmt, 1, map->extent[0]);
  sqlite3_bind_double (stmt, 2, map->extent[1]);
  sqlite3_bind_double (stmt, 3, map->extent[2]);
  sqlite3_bind_double (stmt, 4, map->extent[3]);
  sqlite3_bind_double (stmt, 5, min_w * mm_to_m);
  sqlite3_bind_double (stmt, 6, min_h * mm_to_m);
  sqlite3_bind_int (stmt, 7, 20000);

  cairo_save (cr);
  cairo_rectangle (cr, f->x, f->y, f->w, f->h);
  cairo_clip (cr);
  for (;;)
    {
      int rc = sqlite3_step (stmt);
      g_autoptr(GPtrArray) polys = NULL;
      const Polygon *best = NULL;

      if (rc == SQLITE_DONE)
        break;
      if (rc != SQLITE_ROW)
        {
          cairo_restore (cr);
          return set_db_error (ctx->db, layer->name, error);
        }
      if ((++n & 255) == 0 && !check_cancelled (ctx, error))
        {
          cairo_restore (cr);
          return FALSE;
        }
      if (sqlite3_column_type (stmt, 2) == SQLITE_NULL)
        continue;
      polys = polygons_from_blob (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1), scratch);
      {
        double total = 0;

        for (guint i = 0; i < polys->len; i++)
          {
            const Polygon *p = polys->pdata[i];

            total += p->area;
            if (best == NULL || p->area > best->area)
              best = p;
          }
        if (best == NULL)
          continue;
        for (int level = 0; level < 3; level++)
          {
            Label l;
            double px, py, box[4];

            if (!label_build (cr, &l, &spec, stmt, total, size_pt, level))
              {
                label_clear (&l);
                if (spec.kind == LABEL_PLAIN || level >= 2)
                  break;
                continue;
              }
            label_measure (&l, l.boxed ? pad : 0.2);
            if (polygon_label_point (best, l.w * mm_to_m, l.h * mm_to_m, map->extent, &px, &py))
              {
                double cx = frame_px (f, px), cy = frame_py (f, py);
                gboolean free_spot = TRUE;

                box[0] = cx - l.w / 2 - 0.3;
                box[1] = cy - l.h / 2 - 0.3;
                box[2] = cx + l.w / 2 + 0.3;
                box[3] = cy + l.h / 2 + 0.3;
                for (guint i = 0; i < placed->len / 4 && free_spot; i++)
                  if (boxes_overlap (box, &g_array_index (placed, double, 4 * i)))
                    free_spot = FALSE;
                if (free_spot)
                  {
                    label_draw (cr, &l, cx, cy, l.boxed ? pad : 0.2);
                    g_array_append_vals (placed, box, 4);
                    label_clear (&l);
                    break;
                  }
              }
            label_clear (&l);
          }
      }
    }
  cairo_restore (cr);
  return TRUE;
}

gboolean
dothi_print_draw_map_labels (cairo_t            *cr,
                             DothiPrintContext  *ctx,
                             DothiPrintMap      *map,
                             GError            **error)
{
  g_autoptr(GArray) placed = g_array_new (FALSE, FALSE, sizeof (double));
  Frame f;

  g_return_val_if_fail (cr != NULL && ctx != NULL && map != NULL, FALSE);

  if (!get_bool (map->item, "labels", FALSE) || map->layers == NULL || !frame_init (&f, map))
    return TRUE;
  /* Top layers label first. */
  for (guint i = map->layers->len; i-- > 0;)
    if (!draw_layer_labels (cr, ctx, map, &f, map->layers->pdata[i], placed, error))
      return FALSE;
  return TRUE;
}

/* ---- overview ------------------------------------------------------------ */

gboolean
dothi_print_draw_overview (cairo_t            *cr,
                           DothiPrintContext  *ctx,
                           JsonObject         *item,
                           GError            **error)
{
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
  DothiPrintMap *main_map = dothi_print_context_find_map (ctx, get_string (item, "map"));
  JsonArray *names = NULL;
  DothiPrintMap view = { 0 };
  double x, y, w, h, ext[4] = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  double ew, eh;

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (w <= 0 || h <= 0)
    return TRUE;
  if (json_object_has_member (item, "layers")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (item, "layers")))
    names = json_object_get_array_member (item, "layers");

  for (int pass = 0; pass < 2 && layers->len == 0; pass++)
    for (guint i = 0; ctx->layers != NULL && i < ctx->layers->len; i++)
      {
        const DothiLayerInfo *info = ctx->layers->pdata[i];
        DothiStyle *style;
        g_autoptr(DothiStyle) fallback = NULL;
        gboolean wanted = FALSE;

        if (info->kind == DOTHI_GEOMETRY_KIND_NONE || info->feature_count == 0)
          continue;
        if (names != NULL)
          {
            for (guint k = 0; k < json_array_get_length (names); k++)
              if (g_strcmp0 (json_array_get_string_element (names, k), info->name) == 0)
                wanted = TRUE;
          }
        else
          wanted = info->visible
                   && (pass == 1 || info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON);
        if (!wanted)
          continue;
        style = ctx->styles ? g_hash_table_lookup (ctx->styles, info->name) : NULL;
        if (style == NULL)
          style = fallback = dothi_style_new_default (info, NULL);
        g_ptr_array_add (layers, dothi_render_layer_new (info, style));
        ext[0] = MIN (ext[0], info->extent[0]);
        ext[1] = MIN (ext[1], info->extent[1]);
        ext[2] = MAX (ext[2], info->extent[2]);
        ext[3] = MAX (ext[3], info->extent[3]);
      }
  if (main_map != NULL)
    {
      ext[0] = MIN (ext[0], main_map->extent[0]);
      ext[1] = MIN (ext[1], main_map->extent[1]);
      ext[2] = MAX (ext[2], main_map->extent[2]);
      ext[3] = MAX (ext[3], main_map->extent[3]);
    }
  if (!(ext[2] > ext[0]) || !(ext[3] > ext[1]))
    return TRUE;

  /* Pad and fit the item's shape, so the whole item is map. */
  ew = (ext[2] - ext[0]) * 1.08;
  eh = (ext[3] - ext[1]) * 1.08;
  if (ew / eh < w / h)
    ew = eh * w / h;
  else
    eh = ew * h / w;
  view.item = item;
  view.id = "overview";
  view.x = x;
  view.y = y;
  view.w = w;
  view.h = h;
  view.extent[0] = (ext[0] + ext[2]) / 2 - ew / 2;
  view.extent[1] = (ext[1] + ext[3]) / 2 - eh / 2;
  view.extent[2] = view.extent[0] + ew;
  view.extent[3] = view.extent[1] + eh;
  view.scale = ew / (w / 1000.0);
  view.layers = layers;

  cairo_save (cr);
  cairo_rectangle (cr, x, y, w, h);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  cairo_restore (cr);
  if (layers->len > 0)
    {
      cairo_save (cr);
      if (!dothi_print_draw_map_features (cr, ctx, &view, error))
        {
          cairo_restore (cr);
          return FALSE;
        }
      cairo_restore (cr);
    }

  if (main_map != NULL)
    {
      Frame f;
      double rx0, ry0, rx1, ry1;

      frame_init (&f, &view);
      rx0 = frame_px (&f, main_map->extent[0]);
      rx1 = frame_px (&f, main_map->extent[2]);
      ry0 = frame_py (&f, main_map->extent[3]);
      ry1 = frame_py (&f, main_map->extent[1]);
      cairo_save (cr);
      cairo_rectangle (cr, x, y, w, h);
      cairo_clip (cr);
      cairo_set_source_rgb (cr, 0.86, 0.08, 0.08);
      cairo_set_line_width (cr, 0.4);
      if (rx1 - rx0 < 1.2 && ry1 - ry0 < 1.2)
        {
          /* Too small to see as a box: a marked point. */
          double cx = (rx0 + rx1) / 2, cy = (ry0 + ry1) / 2;

          cairo_arc (cr, cx, cy, 1.2, 0, 2 * G_PI);
          cairo_stroke (cr);
          cairo_move_to (cr, cx - 2, cy);
          cairo_line_to (cr, cx + 2, cy);
          cairo_move_to (cr, cx, cy - 2);
          cairo_line_to (cr, cx, cy + 2);
        }
      else
        cairo_rectangle (cr, rx0, ry0, rx1 - rx0, ry1 - ry0);
      cairo_stroke (cr);
      cairo_restore (cr);
    }
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 0.25);
  cairo_rectangle (cr, x, y, w, h);
  cairo_stroke (cr);
  return TRUE;
}

/* ---- legend -------------------------------------------------------------- */

typedef struct {
  gboolean          heading;
  gboolean          indent;
  char             *text;
  DothiSymbol       symbol;
  DothiGeometryKind kind;
  double            opacity;
} LegendEntry;

static void
legend_entry_free (gpointer data)
{
  LegendEntry *e = data;

  g_free (e->text);
  g_free (e);
}

static void
legend_add (GPtrArray *entries, gboolean heading, gboolean indent, const char *text,
            const DothiSymbol *symbol, DothiGeometryKind kind, double opacity)
{
  LegendEntry *e = g_new0 (LegendEntry, 1);

  e->heading = heading;
  e->indent = indent;
  e->text = g_strdup (text ? text : "");
  if (symbol)
    e->symbol = *symbol;
  e->kind = kind;
  e->opacity = opacity;
  g_ptr_array_add (entries, e);
}

static char *
graduated_label (const DothiStyleRule *rule)
{
  g_autofree char *a = NULL, *b = NULL;

  if (rule->label != NULL && *rule->label != '\0')
    return g_strdup (rule->label);
  a = dothi_print_format_number (rule->min, decimals_for (rule->min));
  b = dothi_print_format_number (rule->max, decimals_for (rule->max));
  return g_strdup_printf ("%s – %s", a, b);
}

/* Whether any feature of @layer lies in @extent. */
static gboolean
layer_has_features_in (DothiPrintContext *ctx, const char *layer, const double extent[4],
                       gboolean *has, GError **error)
{
  g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("SELECT 1 FROM \"idx_%w_geom\" WHERE xmin <= ?3 AND xmax >= ?1 "
                                                "AND ymin <= ?4 AND ymax >= ?2 LIMIT 1", layer);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (ctx->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (ctx->db, layer, error);
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, extent[i]);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return set_db_error (ctx->db, layer, error);
  *has = rc == SQLITE_ROW;
  return TRUE;
}

/* The rules of a categorised @layer whose value occurs in @extent, as a
 * set of DothiSymbol pointers (the style's own), and whether features
 * match no rule but are drawn. */
static gboolean
categories_in (DothiPrintContext *ctx, const DothiRenderLayer *layer, const double extent[4],
               GHashTable *present, GError **error)
{
  const DothiStyle *style = layer->style;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean whole;
  int rc;
  guint n = 0;

  if (find_field_layer (ctx, layer->name, style->field) == NULL)
    return TRUE;
  /* The whole layer in view: no need for the R-tree. */
  whole = extent[0] <= layer->extent[0] && extent[1] <= layer->extent[1]
          && extent[2] >= layer->extent[2] && extent[3] >= layer->extent[3];
  if (whole)
    sql = sqlite3_mprintf ("SELECT DISTINCT \"%w\" FROM \"%w\" WHERE ?1 = ?1 AND ?2 = ?2 "
                           "AND ?3 = ?3 AND ?4 = ?4", style->field, layer->name);
  else
    sql = sqlite3_mprintf ("SELECT DISTINCT t.\"%w\" FROM \"idx_%w_geom\" AS r "
                           "JOIN \"%w\" AS t ON t.fid = r.pkid "
                           "WHERE r.xmin <= ?3 AND r.xmax >= ?1 AND r.ymin <= ?4 AND r.ymax >= ?2",
                           style->field, layer->name, layer->name);
  if (sqlite3_prepare_v2 (ctx->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (ctx->db, layer->name, error);
  for (int i = 0; i < 4; i++)
    sqlite3_bind_double (stmt, i + 1, extent[i]);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const DothiSymbol *symbol = dothi_style_lookup_text (style, (const char *) sqlite3_column_text (stmt, 0));

      if (symbol != NULL)
        g_hash_table_add (present, (gpointer) symbol);
      if ((++n & 1023) == 0 && !check_cancelled (ctx, error))
        return FALSE;
    }
  if (rc != SQLITE_DONE)
    return set_db_error (ctx->db, layer->name, error);
  return TRUE;
}

/* The printed sheet is Vietnamese whatever the UI language: a default
 * style's untranslated "Other values" prints as "Khác". */
static const char *
other_label (const DothiStyle *style)
{
  return g_strcmp0 (style->other_label, "Other values") == 0 ? "Khác" : style->other_label;
}

static gboolean
legend_entries (DothiPrintContext *ctx, DothiPrintMap *map, GPtrArray *entries, GError **error)
{
  /* Metres per logical pixel on paper, as the renderer sees it. */
  double resolution = map->scale * MM_PER_PX / 1000.0;

  for (guint i = map->layers->len; i-- > 0;)
    {
      const DothiRenderLayer *layer = map->layers->pdata[i];
      const DothiStyle *style = layer->style;
      const char *title = layer->title && *layer->title ? layer->title : layer->name;
      gboolean has = FALSE;

      if (layer->selection != NULL || style == NULL || layer->kind == DOTHI_GEOMETRY_KIND_NONE)
        continue;
      if (style->max_resolution > 0 && resolution > style->max_resolution * 1.0001)
        continue;
      if (!layer_has_features_in (ctx, layer->name, map->extent, &has, error))
        return FALSE;
      if (!has)
        continue;

      switch (style->kind)
        {
        case DOTHI_STYLE_CATEGORISED:
          {
            g_autoptr(GHashTable) present = g_hash_table_new (NULL, NULL);
            guint first = entries->len;

            if (!categories_in (ctx, layer, map->extent, present, error))
              return FALSE;
            legend_add (entries, TRUE, FALSE, title, NULL, layer->kind, layer->opacity);
            for (guint r = 0; r < style->rules->len; r++)
              {
                const DothiStyleRule *rule = style->rules->pdata[r];

                if (g_hash_table_contains (present, &rule->symbol))
                  legend_add (entries, FALSE, TRUE, rule->label && *rule->label ? rule->label : rule->value,
                              &rule->symbol, layer->kind, layer->opacity);
              }
            if (style->draw_other && style->other_label != NULL
                && g_hash_table_contains (present, &style->other))
              legend_add (entries, FALSE, TRUE, other_label (style), &style->other,
                          layer->kind, layer->opacity);
            if (entries->len == first + 1)
              {
                /* Nothing classified in view: the layer as one row. */
                g_ptr_array_remove_index (entries, first);
                legend_add (entries, FALSE, FALSE, title, &style->other, layer->kind, layer->opacity);
              }
          }
          break;
        case DOTHI_STYLE_GRADUATED:
          legend_add (entries, TRUE, FALSE, title, NULL, layer->kind, layer->opacity);
          for (guint r = 0; r < style->rules->len; r++)
            {
              const DothiStyleRule *rule = style->rules->pdata[r];
              g_autofree char *label = graduated_label (rule);

              legend_add (entries, FALSE, TRUE, label, &rule->symbol, layer->kind, layer->opacity);
            }
          if (style->draw_other && style->other_label != NULL)
            legend_add (entries, FALSE, TRUE, other_label (style), &style->other,
                        layer->kind, layer->opacity);
          break;
        case DOTHI_STYLE_SINGLE:
        default:
          legend_add (entries, FALSE, FALSE, title, &style->other, layer->kind, layer->opacity);
          break;
        }
    }
  return TRUE;
}

static void
marker_path (cairo_t *cr, DothiMarker marker, double cx, double cy, double d)
{
  double r = d / 2;

  switch (marker)
    {
    case DOTHI_MARKER_SQUARE:
      cairo_rectangle (cr, cx - r, cy - r, d, d);
      break;
    case DOTHI_MARKER_TRIANGLE:
      cairo_move_to (cr, cx, cy - r);
      cairo_line_to (cr, cx + r, cy + r * 0.8);
      cairo_line_to (cr, cx - r, cy + r * 0.8);
      cairo_close_path (cr);
      break;
    case DOTHI_MARKER_DIAMOND:
      cairo_move_to (cr, cx, cy - r);
      cairo_line_to (cr, cx + r, cy);
      cairo_line_to (cr, cx, cy + r);
      cairo_line_to (cr, cx - r, cy);
      cairo_close_path (cr);
      break;
    case DOTHI_MARKER_CIRCLE:
    default:
      cairo_new_sub_path (cr);
      cairo_arc (cr, cx, cy, r, 0, 2 * G_PI);
      break;
    }
}

static void
draw_swatch (cairo_t *cr, const LegendEntry *e, double x, double y, double w, double h)
{
  const DothiSymbol *s = &e->symbol;
  double op = e->opacity > 0 ? e->opacity : 1;

  cairo_save (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  switch (e->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      cairo_move_to (cr, x, y + h / 2);
      cairo_line_to (cr, x + w, y + h / 2);
      set_color (cr, &s->stroke, op);
      cairo_set_line_width (cr, CLAMP (s->stroke_width * MM_PER_PX, 0.2, h * 0.8));
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
      cairo_stroke (cr);
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      {
        double d = CLAMP (s->marker_size * MM_PER_PX, 1.0, h);

        marker_path (cr, s->marker, x + w / 2, y + h / 2, d);
        set_color (cr, &s->fill, op);
        cairo_fill_preserve (cr);
        if (s->stroke_width > 0)
          {
            set_color (cr, &s->stroke, op);
            cairo_set_line_width (cr, MAX (s->stroke_width * MM_PER_PX, 0.1));
            cairo_stroke (cr);
          }
        cairo_new_path (cr);
      }
      break;
    default:
      cairo_rectangle (cr, x, y, w, h);
      set_color (cr, &s->fill, op);
      cairo_fill_preserve (cr);
      if (s->stroke_width > 0)
        set_color (cr, &s->stroke, op);
      else
        cairo_set_source_rgba (cr, 0.4, 0.4, 0.4, 1);
      cairo_set_line_width (cr, CLAMP (s->stroke_width * MM_PER_PX, 0.1, 0.5));
      cairo_stroke (cr);
      break;
    }
  cairo_restore (cr);
}

typedef struct {
  double size_pt;
  int    ncols;
  double col_w;
  double sw, sh;     /* swatch */
  double gap;
} LegendFit;

/* Heights of the entries at @fit and whether they fit @avail_h in
 * @fit->ncols columns; @col_of gets each entry's column, @y_of its y. */
static gboolean
legend_place (cairo_t *cr, GPtrArray *entries, LegendFit *fit, double avail_h,
              int *col_of, double *y_of, double *h_of)
{
  int col = 0;
  double y = 0;

  for (guint i = 0; i < entries->len; i++)
    col_of[i] = G_MAXINT;
  for (guint i = 0; i < entries->len; i++)
    {
      const LegendEntry *e = entries->pdata[i];
      double indent = e->indent ? fit->sw * 0.35 : 0;
      double text_w = fit->col_w - indent - (e->heading ? 0 : fit->sw + fit->gap);
      g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, e->text, fit->size_pt,
                                                               e->heading, MAX (text_w, 1));
      double th;

      layout_size (layout, NULL, &th);
      h_of[i] = MAX (th, e->heading ? 0 : fit->sh) + fit->gap * (e->heading ? 0.6 : 0.8);
      /* A heading stays with its first row. */
      {
        double need = h_of[i];

        if (e->heading && i + 1 < entries->len)
          need += fit->sh + fit->gap;
        if (y > 0 && y + need > avail_h + 1e-6)
          {
            col++;
            y = 0;
          }
      }
      if (col >= fit->ncols)
        return FALSE;
      col_of[i] = col;
      y_of[i] = y;
      y += h_of[i];
      if (y > avail_h + 1e-6 && col + 1 >= fit->ncols)
        {
          col_of[i] = G_MAXINT;
          return FALSE;
        }
    }
  return TRUE;
}

static void
legend_fit_init (LegendFit *fit, double size_pt, int ncols, double width)
{
  double size_mm = size_pt / DOTHI_PT_PER_MM;

  fit->size_pt = size_pt;
  fit->ncols = ncols;
  fit->gap = size_mm * 0.55;
  fit->sw = size_mm * 2.2;
  fit->sh = size_mm * 1.4;
  fit->col_w = (width - (ncols - 1) * fit->gap * 2) / ncols;
}

gboolean
dothi_print_draw_legend (cairo_t            *cr,
                         DothiPrintContext  *ctx,
                         JsonObject         *item,
                         GError            **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (legend_entry_free);
  DothiPrintMap *map = dothi_print_context_find_map (ctx, get_string (item, "map"));
  const char *title_raw = get_string (item, "title");
  g_autofree char *title = dothi_print_expand (ctx, title_raw ? title_raw : "Chú giải");
  double x, y, w, h, base_pt = get_double (item, "size", 8);
  double pad = 2, title_h = 0;
  g_autofree int *col_of = NULL;
  g_autofree double *y_of = NULL, *h_of = NULL;
  LegendFit fit = { 0 };
  gboolean fits = FALSE;

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (w <= 2 * pad || h <= 2 * pad)
    return TRUE;
  if (map != NULL && map->layers != NULL && !legend_entries (ctx, map, entries, error))
    return FALSE;

  if (get_bool (item, "border", FALSE))
    {
      cairo_rectangle (cr, x, y, w, h);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill_preserve (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_set_line_width (cr, 0.25);
      cairo_stroke (cr);
    }

  if (*title != '\0')
    {
      g_autoptr(PangoLayout) layout = fit_text (cr, title, FALSE, base_pt * 1.35, base_pt,
                                                TRUE, w - 2 * pad, h / 3, PANGO_ALIGN_CENTER);

      layout_size (layout, NULL, &title_h);
      cairo_set_source_rgb (cr, 0, 0, 0);
      show_layout (cr, layout, x + pad, y + pad);
      title_h += 1.5;
    }
  if (entries->len == 0)
    return TRUE;

  col_of = g_new0 (int, entries->len);
  y_of = g_new0 (double, entries->len);
  h_of = g_new0 (double, entries->len);
  /* The largest text, in as few columns as it takes. */
  for (double size = base_pt; !fits && size >= 4.5; size *= 0.9)
    for (int ncols = 1; ncols <= 8 && !fits; ncols++)
      {
        legend_fit_init (&fit, size, ncols, w - 2 * pad);
        if (ncols > 1 && fit.col_w < fit.sw * 4)
          break;
        fits = legend_place (cr, entries, &fit, h - 2 * pad - title_h, col_of, y_of, h_of);
      }
  if (!fits)
    {
      /* What fits at the smallest size, the rest left out. */
      int ncols = 1;

      while (ncols < 8)
        {
          legend_fit_init (&fit, 4.5, ncols + 1, w - 2 * pad);
          if (fit.col_w < fit.sw * 4)
            break;
          ncols++;
        }
      legend_fit_init (&fit, 4.5, ncols, w - 2 * pad);
      legend_place (cr, entries, &fit, h - 2 * pad - title_h, col_of, y_of, h_of);
    }

  for (guint i = 0; i < entries->len; i++)
    {
      const LegendEntry *e = entries->pdata[i];
      double indent = e->indent ? fit.sw * 0.35 : 0;
      double ex = x + pad + col_of[i] * (fit.col_w + fit.gap * 2) + indent;
      double ey = y + pad + title_h + y_of[i];
      double text_w = fit.col_w - indent - (e->heading ? 0 : fit.sw + fit.gap);
      g_autoptr(PangoLayout) layout = NULL;
      double th;

      if (col_of[i] >= fit.ncols)
        break;
      layout = dothi_print_text_layout (cr, e->text, fit.size_pt, e->heading, MAX (text_w, 1));
      layout_size (layout, NULL, &th);
      cairo_set_source_rgb (cr, 0, 0, 0);
      if (e->heading)
        show_layout (cr, layout, ex, ey);
      else
        {
          double row_h = MAX (th, fit.sh);

          draw_swatch (cr, e, ex, ey + (row_h - fit.sh) / 2, fit.sw, fit.sh);
          cairo_set_source_rgb (cr, 0, 0, 0);
          show_layout (cr, layout, ex + fit.sw + fit.gap, ey + (row_h - th) / 2);
        }
    }
  return TRUE;
}

/* ---- scale bar ----------------------------------------------------------- */

gboolean
dothi_print_draw_scale_bar (cairo_t            *cr,
                            DothiPrintContext  *ctx,
                            JsonObject         *item,
                            GError            **error)
{
  DothiPrintMap *map = dothi_print_context_find_map (ctx, get_string (item, "map"));
  double x, y, w, h, scale = 0, ground_w, seg, text_h, bar_h, size_pt, label_pt;
  double unit = 1, bar_len = 0, bar_x, seg_mm, by;
  double title_w, title_h, zero_w = 0, num_w = 0, end_w = 0;
  int nseg, decimals = 0;
  g_autofree char *title_text = NULL;
  g_autoptr(PangoLayout) title = NULL;
  g_autoptr(PangoLayout) zero = NULL;
  g_autoptr(PangoLayout) end = NULL;

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (map != NULL)
    scale = map->scale > 0 ? map->scale
            : (map->w > 0 ? (map->extent[2] - map->extent[0]) * 1000.0 / map->w : 0);
  if (!(scale > 0) || w <= 0 || h <= 0)
    return TRUE;

  /* Divisions of a round length, 2 to 4 of them, within the item. */
  ground_w = w / 1000.0 * scale;
  seg = dothi_print_nice_length (ground_w);
  nseg = CLAMP ((int) floor (ground_w * 0.8 / seg), 1, 4);

  /* The scale above, the bar, its labels below. */
  text_h = h * 0.36;
  size_pt = CLAMP (text_h / 1.36 * DOTHI_PT_PER_MM, 5, 14);
  label_pt = size_pt * 0.85;
  bar_h = CLAMP (h * 0.16, 0.8, 3);

  title_text = format_scale (scale);
  title = dothi_print_text_layout (cr, title_text, size_pt, TRUE, 0);
  layout_size (title, &title_w, &title_h);
  zero = dothi_print_text_layout (cr, "0", label_pt, FALSE, 0);
  layout_size (zero, &zero_w, NULL);

  for (;;)
    {
      gboolean km = seg * nseg >= 1000;
      g_autofree char *number = NULL;
      g_autofree char *last = NULL;
      g_autoptr(PangoLayout) num = NULL;

      unit = km ? 1000 : 1;
      decimals = decimals_for (seg * nseg / unit);
      number = dothi_print_format_number (seg * nseg / unit, decimals);
      last = g_strdup_printf ("%s %s", number, km ? "km" : "m");
      num = dothi_print_text_layout (cr, number, label_pt, FALSE, 0);
      layout_size (num, &num_w, NULL);
      g_clear_object (&end);
      end = dothi_print_text_layout (cr, last, label_pt, FALSE, 0);
      layout_size (end, &end_w, NULL);
      bar_len = seg * nseg / scale * 1000.0;
      /* The last number is centred on the bar's end, its unit after it. */
      if (bar_len + zero_w / 2 + end_w - num_w / 2 <= w || nseg == 1)
        break;
      nseg--;
    }
  bar_x = x + (w - bar_len - (end_w - num_w / 2) + zero_w / 2) / 2;
  bar_x = MAX (bar_x, x + zero_w / 2);
  seg_mm = bar_len / nseg;

  /* "Tỷ lệ 1:2.000" */
  cairo_set_source_rgb (cr, 0, 0, 0);
  show_layout (cr, title, x + (w - title_w) / 2, y);

  by = y + MAX (title_h, text_h) + 0.3;
  cairo_save (cr);
  cairo_set_line_width (cr, 0.15);
  for (int i = 0; i < nseg; i++)
    {
      cairo_rectangle (cr, bar_x + i * seg_mm, by, seg_mm, bar_h);
      if (i % 2 == 0)
        cairo_set_source_rgb (cr, 0, 0, 0);
      else
        cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill_preserve (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  /* "0", "100", "200 m": under each division, the last with the unit. */
  cairo_set_source_rgb (cr, 0, 0, 0);
  for (int i = 0; i <= nseg; i++)
    {
      double lx = bar_x + i * seg_mm;
      double ly = by + bar_h + 0.5;

      if (i == 0)
        show_layout (cr, zero, lx - zero_w / 2, ly);
      else if (i == nseg)
        show_layout (cr, end, lx - num_w / 2, ly);
      else
        {
          g_autofree char *n = dothi_print_format_number (seg * i / unit, decimals_for (seg * i / unit));
          g_autoptr(PangoLayout) l = dothi_print_text_layout (cr, n, label_pt, FALSE, 0);
          double lw;

          layout_size (l, &lw, NULL);
          /* Left out when it would touch its neighbours. */
          if (lw + 1 < seg_mm)
            show_layout (cr, l, lx - lw / 2, ly);
        }
    }
  return TRUE;
}

/* ---- north arrow --------------------------------------------------------- */

gboolean
dothi_print_draw_north_arrow (cairo_t            *cr,
                              DothiPrintContext  *ctx,
                              JsonObject         *item,
                              GError            **error)
{
  double x, y, w, h, letter_mm, cx, top, bottom, notch, half;
  g_autoptr(PangoLayout) layout = NULL;
  double lw, lh;

  g_return_val_if_fail (cr != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (w <= 0 || h <= 0)
    return TRUE;
  letter_mm = MIN (h * 0.26, w * 0.75);
  layout = dothi_print_text_layout (cr, "B", letter_mm / 1.36 * DOTHI_PT_PER_MM, TRUE, 0);
  layout_size (layout, &lw, &lh);
  cx = x + w / 2;
  cairo_set_source_rgb (cr, 0, 0, 0);
  show_layout (cr, layout, cx - lw / 2, y);

  top = y + lh + h * 0.03;
  bottom = y + h;
  half = MIN (w * 0.32, (bottom - top) * 0.28);
  notch = bottom - (bottom - top) * 0.22;
  if (bottom - top < 2)
    return TRUE;

  cairo_save (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  cairo_set_line_width (cr, 0.2);
  /* Left half black, right half white: readable in black-and-white print. */
  cairo_move_to (cr, cx, top);
  cairo_line_to (cr, cx - half, bottom);
  cairo_line_to (cr, cx, notch);
  cairo_close_path (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_fill_preserve (cr);
  cairo_stroke (cr);
  cairo_move_to (cr, cx, top);
  cairo_line_to (cr, cx + half, bottom);
  cairo_line_to (cr, cx, notch);
  cairo_close_path (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_stroke (cr);
  cairo_restore (cr);
  return TRUE;
}

/* ---- title blocks -------------------------------------------------------- */

/* An expanded field of the title block, or NULL when absent or empty. */
static char *
field_value (DothiPrintContext *ctx, JsonObject *fields, const char *key)
{
  const char *raw = get_string (fields, key);
  char *text;

  if (raw == NULL)
    {
      JsonNode *node = fields ? json_object_get_member (fields, key) : NULL;

      if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
          && json_node_get_value_type (node) == G_TYPE_INT64)
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      return NULL;
    }
  text = dothi_print_expand (ctx, raw);
  g_strstrip (text);
  if (*text == '\0')
    g_clear_pointer (&text, g_free);
  return text;
}

static char *
field_or (DothiPrintContext *ctx, JsonObject *fields, const char *key, const char *alias,
          const char *fallback)
{
  char *v = field_value (ctx, fields, key);

  if (v == NULL && alias != NULL)
    v = field_value (ctx, fields, alias);
  if (v == NULL && fallback != NULL)
    v = g_strdup (fallback);
  return v;
}

/* dd/mm/yyyy, from an ISO date if that is what the field holds. */
static char *
date_text (DothiPrintContext *ctx, JsonObject *fields)
{
  char *v = field_value (ctx, fields, "date");
  const char *var;

  if (v == NULL && ctx->vars != NULL && (var = g_hash_table_lookup (ctx->vars, "date")) != NULL)
    v = g_strdup (var);
  if (v == NULL)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();

      return g_date_time_format (now, "%d/%m/%Y");
    }
  if (strlen (v) >= 10 && g_ascii_isdigit (v[0]) && v[4] == '-' && v[7] == '-')
    {
      char *dmy = g_strdup_printf ("%.2s/%.2s/%.4s", v + 8, v + 5, v);

      g_free (v);
      return dmy;
    }
  return v;
}

static double
first_map_scale (DothiPrintContext *ctx)
{
  DothiPrintMap *map = dothi_print_context_find_map (ctx, NULL);

  if (map == NULL)
    return 0;
  if (map->scale > 0)
    return map->scale;
  return map->w > 0 ? (map->extent[2] - map->extent[0]) * 1000.0 / map->w : 0;
}

static char *
scale_line (DothiPrintContext *ctx, JsonObject *fields)
{
  g_autofree char *v = field_value (ctx, fields, "scale");
  double scale;

  if (v != NULL)
    {
      g_autofree char *folded = dothi_text_fold (v);

      if (g_str_has_prefix (folded, "ti le") || g_str_has_prefix (folded, "ty le"))
        return g_steal_pointer (&v);
      if (g_str_has_prefix (v, "1:") || g_str_has_prefix (v, "1/"))
        return g_strdup_printf ("Tỷ lệ %s", v);
      return g_strdup_printf ("Tỷ lệ 1:%s", v);
    }
  scale = first_map_scale (ctx);
  return scale > 0 ? format_scale (scale) : g_strdup ("Tỷ lệ 1:……");
}

/* "108°30′" */
static char *
format_meridian (double degrees)
{
  int d = (int) floor (degrees + 1e-9);
  int m = (int) round ((degrees - d) * 60);

  if (m == 60)
    {
      d++;
      m = 0;
    }
  return m == 0 ? g_strdup_printf ("%d°", d) : g_strdup_printf ("%d°%02d′", d, m);
}

static char *
crs_text (DothiPrintContext *ctx, JsonObject *fields)
{
  char *v = field_value (ctx, fields, "crs");
  const DothiVn2000Zone *zones;
  guint n_zones = 0;
  double meridian = 0;
  const char *name = ctx->crs_name;

  if (v != NULL)
    return v;
  zones = dothi_crs_vn2000_zones (&n_zones);
  for (guint i = 0; i < n_zones; i++)
    if (zones[i].srid == ctx->srid)
      meridian = zones[i].meridian;
  /* Other TM-3 zones: the meridian from the name ("TM-3 108-30"). */
  if (meridian == 0 && name != NULL && strstr (name, "TM-3") != NULL)
    {
      const char *p = strstr (name, "TM-3") + 4;
      int d = 0, m = 0;

      while (*p && !g_ascii_isdigit (*p))
        p++;
      if (sscanf (p, "%d%*[^0-9]%d", &d, &m) >= 1 && d > 90 && d < 120)
        meridian = d + m / 60.0;
    }
  if (meridian > 0)
    {
      g_autofree char *m = format_meridian (meridian);

      return g_strdup_printf ("Hệ tọa độ VN-2000, kinh tuyến trục %s, múi chiếu 3°", m);
    }
  if (name != NULL && strstr (name, "UTM") != NULL && dothi_crs_is_vn2000 (ctx->srid))
    {
      const char *z = strstr (name, "zone ");
      int zone = z ? atoi (z + 5) : 0;

      if (zone >= 47 && zone <= 50)
        return g_strdup_printf ("Hệ tọa độ VN-2000, kinh tuyến trục %d°, múi chiếu 6°",
                                zone * 6 - 183);
    }
  if (name != NULL)
    return g_strdup_printf ("Hệ tọa độ %s (EPSG:%d)", name, ctx->srid);
  return ctx->srid > 0 ? g_strdup_printf ("Hệ tọa độ EPSG:%d", ctx->srid) : NULL;
}

static void
stroke_rect (cairo_t *cr, double x, double y, double w, double h, double lw)
{
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, x, y, w, h);
  cairo_stroke (cr);
}

static void
hline (cairo_t *cr, double x0, double x1, double y, double lw)
{
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_move_to (cr, x0, y);
  cairo_line_to (cr, x1, y);
  cairo_stroke (cr);
}

static void
vline (cairo_t *cr, double x, double y0, double y1, double lw)
{
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, lw);
  cairo_move_to (cr, x, y0);
  cairo_line_to (cr, x, y1);
  cairo_stroke (cr);
}

/* A cell with a small bold heading and its value under it. */
static void
heading_cell (cairo_t *cr, const char *heading, const char *value, gboolean value_bold,
              double size_pt, double x, double y, double w, double h)
{
  g_autofree char *markup = NULL;

  if (value != NULL && *value != '\0')
    markup = g_markup_printf_escaped (value_bold ? "<span size='80%%' weight='bold'>%s</span>\n<b>%s</b>"
                                                 : "<span size='80%%' weight='bold'>%s</span>\n%s",
                                      heading, value);
  else
    markup = g_markup_printf_escaped ("<span size='80%%' weight='bold'>%s</span>", heading);
  draw_fitted (cr, markup, TRUE, size_pt, size_pt * 0.45, FALSE, x, y, w, h,
               PANGO_ALIGN_CENTER, MIN (1.2, w * 0.05));
}

static void
signature_cell (cairo_t *cr, const char *heading, const char *note, const char *name,
                gboolean stamp, double size_pt, double x, double y, double w, double h)
{
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>\n<span size='80%%' style='italic'>%s</span>",
                                                     heading, note);
  double head_h = MIN (h * 0.32, size_pt / DOTHI_PT_PER_MM * 3.2);

  draw_fitted (cr, markup, TRUE, size_pt, size_pt * 0.45, FALSE, x, y + 0.5, w, head_h,
               PANGO_ALIGN_CENTER, MIN (1, w * 0.05));
  if (stamp)
    {
      double r = MIN (w, h - head_h) * 0.3;
      double dash[] = { 0.8, 0.6 };

      if (r > 2)
        {
          cairo_save (cr);
          cairo_set_dash (cr, dash, 2, 0);
          cairo_set_source_rgb (cr, 0.55, 0.55, 0.55);
          cairo_set_line_width (cr, 0.15);
          cairo_new_path (cr);
          cairo_arc (cr, x + w * 0.35, y + head_h + (h - head_h) * 0.45, r, 0, 2 * G_PI);
          cairo_stroke (cr);
          cairo_restore (cr);
        }
    }
  if (name != NULL && *name != '\0')
    {
      double nh = MIN (h * 0.22, size_pt / DOTHI_PT_PER_MM * 1.8);

      draw_fitted (cr, name, FALSE, size_pt, size_pt * 0.45, TRUE, x, y + h - nh - 0.5, w, nh,
                   PANGO_ALIGN_CENTER, MIN (1, w * 0.05));
    }
}

/* "Số: 12/QĐ-UBND" → "12/QĐ-UBND", so the line does not say "số" twice. */
static const char *
decision_number (const char *decision)
{
  const char *p = decision;

  if (decision == NULL || *decision == '\0')
    return "……/QĐ-UBND";
  if (g_str_has_prefix (p, "Số") || g_str_has_prefix (p, "số"))
    {
      p += strlen ("Số");
      while (*p == ':' || *p == ' ' || *p == '.')
        p++;
      if (*p != '\0')
        return p;
    }
  return decision;
}

static void
draw_tt04 (cairo_t *cr, DothiPrintContext *ctx, JsonObject *fields,
           double x, double y, double w, double h)
{
  g_autofree char *agency = field_or (ctx, fields, "agency", "approver_agency", NULL);
  g_autofree char *preparer = field_or (ctx, fields, "preparer", "consultant", NULL);
  g_autofree char *title_raw = field_or (ctx, fields, "title", "project",
                                         ctx->layout ? dothi_layout_get_name (ctx->layout) : NULL);
  g_autofree char *title = title_raw ? g_utf8_strup (title_raw, -1) : g_strdup ("");
  g_autofree char *drawing = field_value (ctx, fields, "drawing");
  g_autofree char *scale = scale_line (ctx, fields);
  g_autofree char *sheet = field_or (ctx, fields, "sheet", "drawing_code", NULL);
  g_autofree char *crs = crs_text (ctx, fields);
  g_autofree char *decision = field_value (ctx, fields, "decision");
  g_autofree char *date = date_text (ctx, fields);
  g_autofree char *signer = field_value (ctx, fields, "signer");
  g_autofree char *checker = field_value (ctx, fields, "checker");
  g_autofree char *approver = field_value (ctx, fields, "approver");
  g_autofree char *decision_line = g_strdup_printf ("Quyết định phê duyệt số: %s",
                                                    decision_number (decision));
  g_autofree char *date_line = g_strdup_printf ("Ngày %s", date);
  g_autofree char *sheet_line = sheet ? g_strdup_printf ("Ký hiệu bản vẽ: %s", sheet) : NULL;
  double thin = 0.18, thick = 0.5;
  gboolean wide = w > 2.2 * h;

  cairo_save (cr);
  cairo_rectangle (cr, x, y, w, h);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  cairo_restore (cr);

  if (!wide)
    {
      /* A column: rows top to bottom, heights by weight. */
      const double weights[] = { 2.0, 2.4, 1.6, 1.0, 1.1, 1.1, 3.6 };
      double total = 0, rows[8], ry;
      double base_pt;

      for (guint i = 0; i < G_N_ELEMENTS (weights); i++)
        total += weights[i];
      ry = y;
      for (guint i = 0; i < G_N_ELEMENTS (weights); i++)
        {
          rows[i] = ry;
          ry += h * weights[i] / total;
        }
      rows[G_N_ELEMENTS (weights)] = y + h;
      base_pt = CLAMP (h / total * DOTHI_PT_PER_MM * 0.42, 5, 12);

      heading_cell (cr, "CƠ QUAN PHÊ DUYỆT", agency, TRUE, base_pt, x, rows[0], w / 2, rows[1] - rows[0]);
      heading_cell (cr, "CƠ QUAN LẬP", preparer, TRUE, base_pt, x + w / 2, rows[0], w / 2, rows[1] - rows[0]);
      draw_fitted (cr, title, FALSE, base_pt * 1.7, base_pt * 0.6, TRUE, x, rows[1], w,
                   rows[2] - rows[1], PANGO_ALIGN_CENTER, 1.5);
      heading_cell (cr, "TÊN BẢN VẼ", drawing, TRUE, base_pt * 1.1, x, rows[2], w, rows[3] - rows[2]);
      if (sheet_line)
        {
          draw_fitted (cr, scale, FALSE, base_pt, base_pt * 0.5, TRUE, x, rows[3], w / 2,
                       rows[4] - rows[3], PANGO_ALIGN_CENTER, 1);
          draw_fitted (cr, sheet_line, FALSE, base_pt, base_pt * 0.5, FALSE, x + w / 2, rows[3], w / 2,
                       rows[4] - rows[3], PANGO_ALIGN_CENTER, 1);
          vline (cr, x + w / 2, rows[3], rows[4], thin);
        }
      else
        draw_fitted (cr, scale, FALSE, base_pt, base_pt * 0.5, TRUE, x, rows[3], w,
                     rows[4] - rows[3], PANGO_ALIGN_CENTER, 1);
      draw_fitted (cr, crs, FALSE, base_pt * 0.9, base_pt * 0.45, FALSE, x, rows[4], w,
                   rows[5] - rows[4], PANGO_ALIGN_CENTER, 1);
      draw_fitted (cr, decision_line, FALSE, base_pt * 0.9, base_pt * 0.45, FALSE, x, rows[5], w * 0.62,
                   rows[6] - rows[5], PANGO_ALIGN_CENTER, 1);
      draw_fitted (cr, date_line, FALSE, base_pt * 0.9, base_pt * 0.45, FALSE, x + w * 0.62, rows[5], w * 0.38,
                   rows[6] - rows[5], PANGO_ALIGN_CENTER, 1);
      signature_cell (cr, "NGƯỜI LẬP", "(Ký, ghi rõ họ tên)", signer, FALSE, base_pt,
                      x, rows[6], w / 3, rows[7] - rows[6]);
      signature_cell (cr, "KIỂM TRA", "(Ký, ghi rõ họ tên)", checker, FALSE, base_pt,
                      x + w / 3, rows[6], w / 3, rows[7] - rows[6]);
      signature_cell (cr, "PHÊ DUYỆT", "(Ký tên, đóng dấu)", approver, TRUE, base_pt,
                      x + 2 * w / 3, rows[6], w / 3, rows[7] - rows[6]);

      for (guint i = 1; i < G_N_ELEMENTS (weights); i++)
        hline (cr, x, x + w, rows[i], thin);
      vline (cr, x + w / 2, rows[0], rows[1], thin);
      vline (cr, x + w * 0.62, rows[5], rows[6], thin);
      vline (cr, x + w / 3, rows[6], rows[7], thin);
      vline (cr, x + 2 * w / 3, rows[6], rows[7], thin);
    }
  else
    {
      /* A strip: names on the left, facts in the middle, signatures right. */
      double c0 = x, c1 = x + w * 0.42, c2 = x + w * 0.66, c3 = x + w;
      double r_ag = y + h * 0.28, r_ti = y + h * 0.66;
      double step = h / 4;
      double base_pt = CLAMP (h / 9 * DOTHI_PT_PER_MM * 0.5, 5, 12);

      heading_cell (cr, "CƠ QUAN PHÊ DUYỆT", agency, TRUE, base_pt, c0, y, (c1 - c0) / 2, r_ag - y);
      heading_cell (cr, "CƠ QUAN LẬP", preparer, TRUE, base_pt, c0 + (c1 - c0) / 2, y, (c1 - c0) / 2, r_ag - y);
      draw_fitted (cr, title, FALSE, base_pt * 1.7, base_pt * 0.6, TRUE, c0, r_ag, c1 - c0,
                   r_ti - r_ag, PANGO_ALIGN_CENTER, 1.5);
      heading_cell (cr, "TÊN BẢN VẼ", drawing, TRUE, base_pt * 1.1, c0, r_ti, c1 - c0, y + h - r_ti);
      {
        g_autofree char *scale_sheet = sheet_line ? g_strdup_printf ("%s · %s", scale, sheet_line)
                                                  : g_strdup (scale);

        draw_fitted (cr, scale_sheet, FALSE, base_pt, base_pt * 0.5, TRUE, c1, y, c2 - c1, step,
                     PANGO_ALIGN_CENTER, 1);
      }
      draw_fitted (cr, crs, FALSE, base_pt * 0.9, base_pt * 0.45, FALSE, c1, y + step, c2 - c1, step,
                   PANGO_ALIGN_CENTER, 1);
      draw_fitted (cr, decision_line, FALSE, base_pt * 0.9, base_pt * 0.45, FALSE, c1, y + 2 * step,
                   c2 - c1, step, PANGO_ALIGN_CENTER, 1);
      draw_fitted (cr, date_line, FALSE, base_pt * 0.9, base_pt * 0.45, FALSE, c1, y + 3 * step,
                   c2 - c1, step, PANGO_ALIGN_CENTER, 1);
      signature_cell (cr, "NGƯỜI LẬP", "(Ký, ghi rõ họ tên)", signer, FALSE, base_pt,
                      c2, y, (c3 - c2) / 3, h);
      signature_cell (cr, "KIỂM TRA", "(Ký, ghi rõ họ tên)", checker, FALSE, base_pt,
                      c2 + (c3 - c2) / 3, y, (c3 - c2) / 3, h);
      signature_cell (cr, "PHÊ DUYỆT", "(Ký tên, đóng dấu)", approver, TRUE, base_pt,
                      c2 + 2 * (c3 - c2) / 3, y, (c3 - c2) / 3, h);

      hline (cr, c0, c1, r_ag, thin);
      hline (cr, c0, c1, r_ti, thin);
      vline (cr, c0 + (c1 - c0) / 2, y, r_ag, thin);
      for (int i = 1; i < 4; i++)
        hline (cr, c1, c2, y + i * step, thin);
      vline (cr, c1, y, y + h, thin);
      vline (cr, c2, y, y + h, thin);
      vline (cr, c2 + (c3 - c2) / 3, y, y + h, thin);
      vline (cr, c2 + 2 * (c3 - c2) / 3, y, y + h, thin);
    }
  stroke_rect (cr, x + thick / 2, y + thick / 2, w - thick, h - thick, thick);
}

static void
draw_rows_centred (cairo_t *cr, double x, double y, double w, double h,
                   const char * const *texts, const double *weights, const double *sizes,
                   const gboolean *bold, guint n, double base_pt)
{
  double total = 0, ry = y;

  for (guint i = 0; i < n; i++)
    if (texts[i] != NULL)
      total += weights[i];
  if (total <= 0)
    return;
  for (guint i = 0; i < n; i++)
    {
      double rh;

      if (texts[i] == NULL)
        continue;
      rh = h * weights[i] / total;
      draw_fitted (cr, texts[i], FALSE, base_pt * sizes[i], base_pt * sizes[i] * 0.45, bold[i],
                   x, ry, w, rh, PANGO_ALIGN_CENTER, 1);
      ry += rh;
    }
}

/* Whether @name already says what it is: "Phường Tân Lợi", "Xã Ea Tu". */
static gboolean
has_unit_prefix (const char *name)
{
  g_autofree char *folded = dothi_text_fold (name);

  return g_str_has_prefix (folded, "xa ") || g_str_has_prefix (folded, "phuong ")
         || g_str_has_prefix (folded, "thi tran ") || g_str_has_prefix (folded, "dac khu ");
}

static void
draw_tt25 (cairo_t *cr, DothiPrintContext *ctx, JsonObject *fields,
           double x, double y, double w, double h)
{
  g_autofree char *title_raw = field_or (ctx, fields, "title", NULL, "BẢN ĐỒ ĐỊA CHÍNH");
  g_autofree char *title = g_utf8_strup (title_raw, -1);
  g_autofree char *commune = field_or (ctx, fields, "commune", "ward", NULL);
  g_autofree char *district = field_value (ctx, fields, "district");
  g_autofree char *province = field_value (ctx, fields, "province");
  g_autofree char *sheet = field_value (ctx, fields, "sheet");
  g_autofree char *sheet_code = field_or (ctx, fields, "sheet_code", "map_sheet", NULL);
  g_autofree char *scale = scale_line (ctx, fields);
  g_autofree char *crs = crs_text (ctx, fields);
  g_autofree char *agency = field_value (ctx, fields, "agency");
  g_autofree char *date = field_value (ctx, fields, "date");
  g_autofree char *place = NULL;
  g_autofree char *sheet_line = g_strdup_printf ("Tờ số: %s", sheet ? sheet : "……");
  g_autofree char *code_line = sheet_code ? g_strdup_printf ("Mảnh bản đồ số: %s", sheet_code) : NULL;
  g_autofree char *date_line = NULL;
  GString *p = g_string_new (NULL);

  /* "Xã/Phường: …, huyện …, tỉnh …" as given. */
  if (commune != NULL && has_unit_prefix (commune))
    g_string_append (p, commune);
  else
    g_string_append_printf (p, "Xã/Phường: %s", commune ? commune : "……");
  if (district)
    g_string_append_printf (p, ", %s", district);
  if (province)
    g_string_append_printf (p, ", %s", province);
  place = g_string_free (p, FALSE);
  if (agency || date)
    {
      g_autofree char *d = date ? date_text (ctx, fields) : NULL;

      date_line = g_strdup_printf ("%s%s%s", agency ? agency : "", agency && d ? " · " : "",
                                   d ? d : "");
    }

  if (w > 3.5 * h)
    {
      /* A strip over the sheet: the title and place left, the sheet's
       * facts right. */
      const double lw[] = { 2.2, 1.2, 1.4 }, ls[] = { 2.0, 1.0, 1.3 };
      const gboolean lb[] = { TRUE, FALSE, TRUE };
      const char *left[] = { title, place, sheet_line };
      const double rw[] = { 1.0, 1.2, 1.0, 1.0 }, rs[] = { 1.0, 1.2, 0.9, 0.9 };
      const gboolean rb[] = { FALSE, TRUE, FALSE, FALSE };
      const char *right[] = { code_line, scale, crs, date_line };
      double base_pt = CLAMP (h / 4.8 * DOTHI_PT_PER_MM * 0.5, 5, 14);

      draw_rows_centred (cr, x, y, w * 0.58, h, left, lw, ls, lb, 3, base_pt);
      draw_rows_centred (cr, x + w * 0.58, y, w * 0.42, h, right, rw, rs, rb, 4, base_pt);
    }
  else
    {
      const double weights[] = { 2.2, 1.2, 1.4, 1.0, 1.1, 1.0, 1.0 };
      const double sizes[] = { 2.0, 1.0, 1.3, 0.95, 1.1, 0.85, 0.85 };
      const gboolean bold[] = { TRUE, FALSE, TRUE, FALSE, TRUE, FALSE, FALSE };
      const char *texts[] = { title, place, sheet_line, code_line, scale, crs, date_line };
      double base_pt = CLAMP (h / 8.9 * DOTHI_PT_PER_MM * 0.5, 5, 12);

      draw_rows_centred (cr, x, y, w, h, texts, weights, sizes, bold, G_N_ELEMENTS (texts), base_pt);
    }
}

static void
draw_simple (cairo_t *cr, DothiPrintContext *ctx, JsonObject *fields,
             double x, double y, double w, double h)
{
  g_autofree char *agency = field_value (ctx, fields, "agency");
  g_autofree char *title_raw = field_or (ctx, fields, "title", NULL,
                                         ctx->layout ? dothi_layout_get_name (ctx->layout) : NULL);
  g_autofree char *title = title_raw ? g_utf8_strup (title_raw, -1) : NULL;
  g_autofree char *subtitle = field_value (ctx, fields, "subtitle");
  g_autofree char *scale = field_value (ctx, fields, "scale") ? scale_line (ctx, fields) : NULL;
  g_autofree char *date = date_text (ctx, fields);
  g_autofree char *date_line = g_strdup_printf ("Ngày %s", date);
  const double weights[] = { 1.0, 2.0, 1.2, 1.0, 0.9 };
  const double sizes[] = { 0.9, 1.8, 1.1, 1.0, 0.85 };
  const gboolean bold[] = { TRUE, TRUE, FALSE, FALSE, FALSE };
  const char *texts[] = { agency, title, subtitle, scale, date_line };
  double base_pt = CLAMP (h / 6.1 * DOTHI_PT_PER_MM * 0.45, 5, 14);

  draw_rows_centred (cr, x, y, w, h, texts, weights, sizes, bold, G_N_ELEMENTS (texts), base_pt);
}

gboolean
dothi_print_draw_title_block (cairo_t            *cr,
                              DothiPrintContext  *ctx,
                              JsonObject         *item,
                              GError            **error)
{
  const char *template = get_string (item, "template");
  JsonObject *fields = NULL;
  double x, y, w, h;

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (w <= 0 || h <= 0)
    return TRUE;
  if (json_object_has_member (item, "fields")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (item, "fields")))
    fields = json_object_get_object_member (item, "fields");

  cairo_save (cr);
  if (g_strcmp0 (template, "tt25-cadastral") == 0)
    draw_tt25 (cr, ctx, fields, x, y, w, h);
  else if (g_strcmp0 (template, "simple") == 0)
    draw_simple (cr, ctx, fields, x, y, w, h);
  else
    draw_tt04 (cr, ctx, fields, x, y, w, h);
  cairo_restore (cr);
  return TRUE;
}

/* ---- text ---------------------------------------------------------------- */

gboolean
dothi_print_draw_text (cairo_t            *cr,
                       DothiPrintContext  *ctx,
                       JsonObject         *item,
                       GError            **error)
{
  const char *raw = get_string (item, "text");
  const char *align_name = get_string (item, "align");
  g_autofree char *text = NULL;
  g_autoptr(PangoLayout) layout = NULL;
  PangoAlignment align = PANGO_ALIGN_LEFT;
  double x, y, w, h, size = get_double (item, "size", 10);
  DothiColor color = { 0, 0, 0, 1 };

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (raw == NULL || *raw == '\0' || w <= 0 || h <= 0)
    return TRUE;
  text = dothi_print_expand (ctx, raw);
  if (g_strcmp0 (align_name, "center") == 0 || g_strcmp0 (align_name, "centre") == 0)
    align = PANGO_ALIGN_CENTER;
  else if (g_strcmp0 (align_name, "right") == 0)
    align = PANGO_ALIGN_RIGHT;
  get_color (item, "color", &color);
  /* Shrunk (to half at most) rather than cut. */
  layout = fit_text (cr, text, FALSE, size > 0 ? size : 10, (size > 0 ? size : 10) * 0.5,
                     get_bool (item, "bold", FALSE), w, h, align);
  cairo_save (cr);
  cairo_rectangle (cr, x, y, w, h);
  cairo_clip (cr);
  set_color (cr, &color, 1);
  show_layout (cr, layout, x, y);
  cairo_restore (cr);
  return TRUE;
}

/* ---- images -------------------------------------------------------------- */

/* Another raster format through GDAL, as premultiplied ARGB32, at most
 * 4096 pixels on a side. */
static cairo_surface_t *
load_with_gdal (const char *path, GError **error)
{
  g_auto(GDALDatasetH) ds = NULL;
  int iw, ih, bands, ow, oh, stride;
  double f;
  g_autofree guint8 *planes = NULL;
  cairo_surface_t *surface;
  guint8 *data;

  CPLPushErrorHandler (CPLQuietErrorHandler);
  ds = GDALOpenEx (path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
  CPLPopErrorHandler ();
  if (ds == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   _("Could not read the image “%s”: not a PNG, JPEG or other raster file"), path);
      return NULL;
    }
  iw = GDALGetRasterXSize (ds);
  ih = GDALGetRasterYSize (ds);
  bands = GDALGetRasterCount (ds);
  if (iw <= 0 || ih <= 0 || bands <= 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("The image “%s” has no pixels"), path);
      return NULL;
    }
  f = MIN (1.0, 4096.0 / MAX (iw, ih));
  ow = MAX (1, (int) (iw * f));
  oh = MAX (1, (int) (ih * f));
  planes = g_malloc0 ((gsize) ow * oh * 4);
  for (int b = 0; b < MIN (bands, 4); b++)
    {
      GDALRasterBandH band = GDALGetRasterBand (ds, b + 1);
      CPLErr err;

      CPLPushErrorHandler (CPLQuietErrorHandler);
      err = GDALRasterIO (band, GF_Read, 0, 0, iw, ih, planes + (gsize) b * ow * oh,
                          ow, oh, GDT_Byte, 0, 0);
      CPLPopErrorHandler ();
      if (err != CE_None)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: file path, then GDAL's message */
                       _("Could not read the image “%s”: %s"), path, CPLGetLastErrorMsg ());
          return NULL;
        }
    }
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, ow, oh);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("The image “%s” is too large to print"), path);
      return NULL;
    }
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int j = 0; j < oh; j++)
    {
      guint32 *row = (guint32 *) (data + (gsize) j * stride);

      for (int i = 0; i < ow; i++)
        {
          gsize k = (gsize) j * ow + i;
          guint r, g, b, a;

          if (bands >= 3)
            {
              r = planes[k];
              g = planes[(gsize) ow * oh + k];
              b = planes[(gsize) 2 * ow * oh + k];
              a = bands >= 4 ? planes[(gsize) 3 * ow * oh + k] : 255;
            }
          else
            {
              r = g = b = planes[k];
              a = bands == 2 ? planes[(gsize) ow * oh + k] : 255;
            }
          row[i] = (a << 24) | ((r * a / 255) << 16) | ((g * a / 255) << 8) | (b * a / 255);
        }
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

gboolean
dothi_print_draw_image (cairo_t            *cr,
                        DothiPrintContext  *ctx,
                        JsonObject         *item,
                        GError            **error)
{
  const char *raw = get_string (item, "path");
  g_autofree char *expanded = NULL;
  g_autofree char *path = NULL;
  cairo_surface_t *surface = NULL;
  double x, y, w, h, iw, ih, s;

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (raw == NULL || *raw == '\0' || w <= 0 || h <= 0)
    return TRUE;
  expanded = dothi_print_expand (ctx, raw);
  /* Relative paths are beside the project. */
  if (g_path_is_absolute (expanded) || ctx->project_path == NULL)
    path = g_strdup (expanded);
  else
    {
      g_autofree char *dir = g_path_get_dirname (ctx->project_path);

      path = g_build_filename (dir, expanded, NULL);
    }
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("The image “%s” of the layout does not exist"), path);
      return FALSE;
    }

  surface = cairo_image_surface_create_from_png (path);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      surface = load_with_gdal (path, error);
      if (surface == NULL)
        return FALSE;
    }
  iw = cairo_image_surface_get_width (surface);
  ih = cairo_image_surface_get_height (surface);
  if (iw <= 0 || ih <= 0)
    {
      cairo_surface_destroy (surface);
      return TRUE;
    }
  s = MIN (w / iw, h / ih);
  cairo_save (cr);
  cairo_translate (cr, x + (w - iw * s) / 2, y + (h - ih * s) / 2);
  cairo_scale (cr, s, s);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_rectangle (cr, 0, 0, iw, ih);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_surface_destroy (surface);
  return TRUE;
}

/* ---- tables -------------------------------------------------------------- */

static const struct {
  const char *field;
  const char *title;
} field_titles[] = {
  { "so_to", "Số tờ" },
  { "so_thua", "Số thửa" },
  { "ma_xa", "Mã xã" },
  { "ten_chu", "Chủ sử dụng" },
  { "chu_su_dung", "Chủ sử dụng" },
  { "muc_dich", "Mục đích" },
  { "loai_dat", "Loại đất" },
  { "dien_tich", "Diện tích (m²)" },
  { "dia_chi", "Địa chỉ" },
  { "ma_khu", "Ký hiệu" },
  { "ky_hieu", "Ký hiệu" },
  { "chuc_nang", "Chức năng" },
  { "mat_do_xd", "MĐXD (%)" },
  { "tang_cao", "Tầng cao" },
  { "dan_so", "Dân số" },
  { "ten", "Tên" },
  { "ten_duong", "Tên đường" },
};

static const char *
field_title (const char *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (field_titles); i++)
    if (g_ascii_strcasecmp (field_titles[i].field, field) == 0)
      return field_titles[i].title;
  return field;
}

/* Numbers that are identifiers print without grouping. */
static gboolean
is_code_field (const char *name)
{
  return g_str_has_prefix (name, "so_") || g_str_has_prefix (name, "ma_")
         || g_str_has_suffix (name, "_id") || g_strcmp0 (name, "fid") == 0
         || g_strcmp0 (name, "nam") == 0 || g_strcmp0 (name, "year") == 0
         || g_strcmp0 (name, "id") == 0;
}

typedef struct {
  char    *name;
  gboolean numeric;
} TableColumn;

gboolean
dothi_print_draw_table (cairo_t            *cr,
                        DothiPrintContext  *ctx,
                        JsonObject         *item,
                        GError            **error)
{
  const char *layer = get_string (item, "layer");
  const char *where = get_string (item, "where");
  const char *title_raw = get_string (item, "title");
  const DothiLayerInfo *info;
  g_autoptr(GArray) columns = g_array_new (FALSE, TRUE, sizeof (TableColumn));
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *condition = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(DothiSqlStr) count_sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree double *col_w = NULL;
  GString *select;
  double x, y, w, h, size = get_double (item, "size", 8), size_mm, row_h, title_h = 0, pad;
  gint64 total = 0, max_rows = (gint64) get_double (item, "max_rows", 0);
  gint64 fit_rows, shown;
  guint ncols;
  int rc;

  g_return_val_if_fail (cr != NULL && ctx != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (layer == NULL || w <= 0 || h <= 0)
    return TRUE;
  info = dothi_print_context_find_layer (ctx, layer);
  if (info == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: layer name */
                   _("The table of the layout shows layer “%s”, which the project does not have"),
                   layer);
      return FALSE;
    }

  /* Columns: the listed fields (checked), or every non-binary one. */
  if (json_object_has_member (item, "fields")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (item, "fields")))
    {
      JsonArray *fields = json_object_get_array_member (item, "fields");

      for (guint i = 0; i < json_array_get_length (fields); i++)
        {
          JsonNode *node = json_array_get_element (fields, i);
          const char *name = JSON_NODE_HOLDS_VALUE (node)
                             && json_node_get_value_type (node) == G_TYPE_STRING
                             ? json_node_get_string (node) : NULL;
          int k = name ? dothi_layer_info_find_field (info, name) : -1;
          TableColumn c = { 0 };

          if (name != NULL && g_ascii_strcasecmp (name, "fid") == 0)
            {
              c.name = g_strdup ("fid");
              c.numeric = TRUE;
            }
          else if (k < 0)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                           /* Translators: field name, layer name */
                           _("The table of the layout shows field “%s”, which layer “%s” does not have"),
                           name ? name : "?", layer);
              for (guint j = 0; j < columns->len; j++)
                g_free (g_array_index (columns, TableColumn, j).name);
              return FALSE;
            }
          else
            {
              const DothiField *f = info->fields->pdata[k];

              c.name = g_strdup (f->name);
              c.numeric = f->type == DOTHI_FIELD_INTEGER || f->type == DOTHI_FIELD_REAL;
            }
          g_array_append_val (columns, c);
        }
    }
  else
    for (guint i = 0; i < info->fields->len; i++)
      {
        const DothiField *f = info->fields->pdata[i];
        TableColumn c = { g_strdup (f->name),
                          f->type == DOTHI_FIELD_INTEGER || f->type == DOTHI_FIELD_REAL };

        if (f->type != DOTHI_FIELD_BLOB)
          g_array_append_val (columns, c);
      }
  ncols = columns->len;
  if (ncols == 0)
    return TRUE;

  if (where != NULL && *where != '\0')
    {
      g_autoptr(DothiExpression) expr = NULL;
      g_autofree char *expanded = dothi_print_expand (ctx, where);
      g_autoptr(GError) local = NULL;

      expr = dothi_expression_parse (expanded, info, &local);
      if (expr == NULL)
        {
          g_set_error (error, local->domain, local->code,
                       /* Translators: layer name, then the parser's message */
                       _("The condition of the table of layer “%s” is not valid: %s"),
                       layer, local->message);
          goto fail;
        }
      condition = dothi_expression_to_sql (expr, NULL, &params);
    }

  /* How many rows there are and how many fit. */
  count_sql = sqlite3_mprintf ("SELECT COUNT(*) FROM \"%w\"%s%s", layer,
                               condition ? " WHERE " : "", condition ? condition : "");
  {
    g_autoptr(sqlite3_stmt) count = NULL;

    if (sqlite3_prepare_v2 (ctx->db, count_sql, -1, &count, NULL) != SQLITE_OK)
      {
        set_db_error (ctx->db, layer, error);
        goto fail;
      }
    if (params != NULL && !dothi_expression_bind (count, 1, params, error))
      goto fail;
    if (sqlite3_step (count) != SQLITE_ROW)
      {
        set_db_error (ctx->db, layer, error);
        goto fail;
      }
    total = sqlite3_column_int64 (count, 0);
  }

  size_mm = size / DOTHI_PT_PER_MM;
  pad = size_mm * 0.35;
  row_h = size_mm * 1.45 + 2 * pad * 0.6;
  if (title_raw != NULL && *title_raw != '\0')
    {
      g_autofree char *title = dothi_print_expand (ctx, title_raw);
      g_autoptr(PangoLayout) layout = dothi_print_text_layout (cr, title, size * 1.2, TRUE, w);

      pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
      layout_size (layout, NULL, &title_h);
      cairo_set_source_rgb (cr, 0, 0, 0);
      show_layout (cr, layout, x, y);
      title_h += pad;
    }
  fit_rows = (gint64) floor ((h - title_h - row_h) / row_h + 1e-6);
  if (fit_rows < 0)
    fit_rows = 0;
  if (max_rows > 0)
    fit_rows = MIN (fit_rows, max_rows + (total > max_rows ? 1 : 0));
  shown = MIN (total, fit_rows);
  if (total > shown && shown > 0)
    shown--;   /* room for "… và N dòng nữa" */

  select = g_string_new ("SELECT ");
  for (guint i = 0; i < ncols; i++)
    {
      char *q = sqlite3_mprintf ("%s\"%w\"", i ? ", " : "", g_array_index (columns, TableColumn, i).name);

      g_string_append (select, q);
      sqlite3_free (q);
    }
  {
    char *q = sqlite3_mprintf (" FROM \"%w\"%s%s ORDER BY fid LIMIT ?%u", layer,
                               condition ? " WHERE " : "", condition ? condition : "",
                               (params ? params->len : 0) + 1);

    g_string_append (select, q);
    sqlite3_free (q);
  }
  sql = sqlite3_mprintf ("%s", select->str);
  g_string_free (select, TRUE);
  if (sqlite3_prepare_v2 (ctx->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (ctx->db, layer, error);
      goto fail;
    }
  if (params != NULL && !dothi_expression_bind (stmt, 1, params, error))
    goto fail;
  sqlite3_bind_int64 (stmt, (params ? params->len : 0) + 1, shown);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    for (guint i = 0; i < ncols; i++)
      {
        const TableColumn *c = &g_array_index (columns, TableColumn, i);
        char *text;

        if (sqlite3_column_type (stmt, i) == SQLITE_INTEGER && c->numeric && !is_code_field (c->name))
          text = dothi_print_format_number (sqlite3_column_double (stmt, i), 0);
        else
          text = column_text (stmt, i);
        g_ptr_array_add (cells, text ? text : g_strdup (""));
      }
  if (rc != SQLITE_DONE)
    {
      set_db_error (ctx->db, layer, error);
      goto fail;
    }

  /* Column widths from the content, scaled to the item's width. */
  col_w = g_new0 (double, ncols);
  {
    double sum = 0;

    for (guint i = 0; i < ncols; i++)
      {
        g_autoptr(PangoLayout) l = dothi_print_text_layout (cr, field_title (g_array_index (columns, TableColumn, i).name),
                                                            size, TRUE, 0);
        double tw;

        layout_size (l, &tw, NULL);
        col_w[i] = tw;
      }
    for (guint r = 0; r < cells->len; r++)
      {
        g_autoptr(PangoLayout) l = dothi_print_text_layout (cr, cells->pdata[r], size, FALSE, 0);
        double tw;

        layout_size (l, &tw, NULL);
        col_w[r % ncols] = MAX (col_w[r % ncols], MIN (tw, w * 0.6));
      }
    for (guint i = 0; i < ncols; i++)
      {
        col_w[i] += 2 * pad;
        sum += col_w[i];
      }
    for (guint i = 0; i < ncols; i++)
      col_w[i] *= w / sum;
  }

  {
    double ty = y + title_h;
    guint nrows = cells->len / ncols;
    gboolean more = total > (gint64) nrows;
    double table_h = row_h * (1 + nrows + (more ? 1 : 0));
    double cx;

    /* Header, shaded. */
    cairo_rectangle (cr, x, ty, w, row_h);
    cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
    cairo_fill (cr);
    for (int r = -1; r < (int) nrows; r++)
      {
        cx = x;
        for (guint i = 0; i < ncols; i++)
          {
            const TableColumn *c = &g_array_index (columns, TableColumn, i);
            const char *text = r < 0 ? field_title (c->name) : cells->pdata[(gsize) r * ncols + i];
            g_autoptr(PangoLayout) l = dothi_print_text_layout (cr, text, size, r < 0,
                                                                MAX (col_w[i] - 2 * pad, 0.5));
            double th;

            pango_layout_set_wrap (l, PANGO_WRAP_WORD_CHAR);
            pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_END);
            pango_layout_set_height (l, -1);
            pango_layout_set_alignment (l, r < 0 ? PANGO_ALIGN_CENTER
                                        : c->numeric ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
            layout_size (l, NULL, &th);
            cairo_set_source_rgb (cr, 0, 0, 0);
            show_layout (cr, l, cx + pad, ty + (r + 1) * row_h + (row_h - th) / 2);
            cx += col_w[i];
          }
      }
    if (more)
      {
        gint64 rest = total - nrows;
        g_autofree char *n = dothi_print_format_number ((double) rest, 0);
        g_autofree char *text = g_strdup_printf ("… và %s dòng nữa", n);
        g_autoptr(PangoLayout) l = dothi_print_text_layout (cr, text, size, FALSE, 0);
        double th;

        layout_size (l, NULL, &th);
        cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
        show_layout (cr, l, x + pad, ty + (nrows + 1) * row_h + (row_h - th) / 2);
      }

    /* Grid lines. */
    cairo_set_source_rgb (cr, 0, 0, 0);
    cairo_set_line_width (cr, 0.15);
    for (guint r = 0; r <= nrows + 1 + (more ? 1 : 0); r++)
      {
        cairo_move_to (cr, x, ty + r * row_h);
        cairo_line_to (cr, x + w, ty + r * row_h);
      }
    cx = x;
    for (guint i = 0; i <= ncols; i++)
      {
        double bottom = ty + row_h * (1 + nrows);

        cairo_move_to (cr, cx, ty);
        cairo_line_to (cr, cx, (i == 0 || i == ncols) ? ty + table_h : bottom);
        if (i < ncols)
          cx += col_w[i];
      }
    cairo_stroke (cr);
  }

  for (guint j = 0; j < columns->len; j++)
    g_free (g_array_index (columns, TableColumn, j).name);
  if (params)
    g_ptr_array_set_free_func (params, (GDestroyNotify) g_variant_unref);
  return TRUE;

fail:
  for (guint j = 0; j < columns->len; j++)
    g_free (g_array_index (columns, TableColumn, j).name);
  if (params)
    g_ptr_array_set_free_func (params, (GDestroyNotify) g_variant_unref);
  return FALSE;
}

/* ---- frame --------------------------------------------------------------- */

gboolean
dothi_print_draw_frame (cairo_t            *cr,
                        DothiPrintContext  *ctx,
                        JsonObject         *item,
                        GError            **error)
{
  double x, y, w, h, line = get_double (item, "line", 0.35);
  DothiColor color = { 0, 0, 0, 1 }, fill;

  g_return_val_if_fail (cr != NULL && item != NULL, FALSE);

  get_rect (item, &x, &y, &w, &h);
  if (w <= 0 || h <= 0)
    return TRUE;
  get_color (item, "color", &color);
  cairo_save (cr);
  if (get_color (item, "fill", &fill))
    {
      cairo_rectangle (cr, x, y, w, h);
      set_color (cr, &fill, 1);
      cairo_fill (cr);
    }
  if (line > 0)
    {
      line = MIN (line, MIN (w, h) / 2);
      /* Inside the item's rectangle. */
      cairo_rectangle (cr, x + line / 2, y + line / 2, w - line, h - line);
      set_color (cr, &color, 1);
      cairo_set_line_width (cr, line);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
  return TRUE;
}
