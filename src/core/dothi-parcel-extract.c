/* dothi-parcel-extract.c: the land office's parcel extract (trích lục bản
 * đồ địa chính, TT 25/2014/TT-BTNMT) on one A4 page: the parcel's fields,
 * its sketch among its neighbours, its vertex table and edge lengths. */
#define G_LOG_DOMAIN "dothi-parcel-extract"

#include "config.h"
#include "dothi-print-private.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-spatialite-blob.h"
#include "dothi-style.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parcels of the same layer this close (m) are neighbours: touching, or
 * across a lane or a survey gap. */
#define NEIGHBOUR_DISTANCE 3.0

/* The page, mm: A4 portrait. The left margin is narrower than the 30 mm
 * of Nghị định 30/2020 for text documents, as on land offices' own
 * extract forms: the sketch and the tables need the width. */
#define PAGE_W     210.0
#define PAGE_H     297.0
#define LEFT       20.0
#define RIGHT      195.0
#define TOP        14.0
#define CONTENT_W  (RIGHT - LEFT)
/* Where the signatures begin: room below for the signatures and stamp. */
#define FOOTER_Y   248.0
#define SKETCH_MIN_H 62.0
#define SKETCH_MAX_H 120.0

#define DOTS "…………………"
/* Grey of the parcel in the sketch. */
#define PARCEL_FILL 0.93

typedef struct {
  double x, y;
} Pt;

typedef struct {
  GArray   *pts;    /* Pt, open (no closing point), no repeated points */
  gboolean  hole;
} Ring;

typedef struct {
  GPtrArray *rings; /* Ring*: each polygon's exterior, then its holes */
  double     bbox[4];
} Shape;

typedef struct {
  gint64  fid;
  char   *number;
  char   *sheet;
  Shape  *shape;
} Neighbour;

/* The fields an extract shows, matched by name (lower case, without
 * underscores) against the TT 25/2014 names and common variants. */
typedef enum {
  ROLE_NUMBER,
  ROLE_SHEET,
  ROLE_COMMUNE,
  ROLE_ADDRESS,
  ROLE_AREA,
  ROLE_USE,
  ROLE_TERM,
  ROLE_ORIGIN,
  ROLE_OWNER,
  ROLE_OWNER_ADDRESS,
  ROLE_CERT_NO,
  ROLE_CERT_BOOK,
  ROLE_CERT_DATE,
  N_ROLES
} Role;

static const char * const role_names[N_ROLES][14] = {
  [ROLE_NUMBER] = { "sothua", "shthua", "sohieuthua", "thuaso", "sothuadat", "thua",
                    "parcelno", "parcelnumber", "parcel", NULL },
  [ROLE_SHEET] = { "soto", "shbando", "sohieuto", "sotobando", "tobando", "sotobd",
                   "tobd", "shto", "sheetno", "sheet", "mapsheet", NULL },
  [ROLE_COMMUNE] = { "maxa", "madvhc", "maxaphuong", "tenxa", "xa", "commune", NULL },
  [ROLE_ADDRESS] = { "diachi", "diachithua", "diachithuadat", "dcthua", "vitri",
                     "address", NULL },
  [ROLE_AREA] = { "dientich", "dtich", "dientichpl", "dtpl", "dientichphaply", "area",
                  "dt", NULL },
  [ROLE_USE] = { "mucdich", "loaidat", "mdsd", "mamdsd", "kyhieumdsd", "khmdsd",
                 "mucdichsd", "mucdichsudung", "loaidatht", "landuse", NULL },
  [ROLE_TERM] = { "thoihan", "thoihansd", "thoihansudung", NULL },
  [ROLE_ORIGIN] = { "nguongoc", "nguongocsd", "nguongocsudung", NULL },
  [ROLE_OWNER] = { "tenchu", "chusudung", "chusd", "tenchusd", "tenchusudung",
                   "nguoisudung", "tennguoisudung", "chusohuu", "owner", NULL },
  [ROLE_OWNER_ADDRESS] = { "diachichu", "diachichusd", "diachithuongtru", "owneraddress", NULL },
  [ROLE_CERT_NO] = { "sogcn", "sogiaycn", "sophathanh", "sophathanhgcn", "soseri",
                     "soserial", "magcn", "sogcnqsdd", "gcn", "certificate", "certno", NULL },
  [ROLE_CERT_BOOK] = { "sovaoso", "sovaosocapgcn", "sovaosogcn", "socapgcn", NULL },
  [ROLE_CERT_DATE] = { "ngaycap", "ngaycapgcn", "ngaycapgiaycn", "certdate", NULL },
};

typedef struct {
  guint ring;       /* index in shape->rings */
  guint index;      /* in the ring */
} Vertex;

typedef struct {
  guint  from, to;  /* vertex numbers, 1-based */
  double length;    /* m */
} Edge;

typedef struct {
  const char      *path;
  const char      *layer;
  gint64           fid;
  sqlite3         *db;
  DothiLayerInfo  *info;
  int              fields[N_ROLES];   /* index in info->fields, or -1 */
  char            *values[N_ROLES];   /* NFC display text, or NULL */
  gboolean         has_recorded_area;
  double           recorded_area;
  Shape           *shape;
  double           area;
  GPtrArray       *neighbours;        /* Neighbour* */
  GArray          *vertices;          /* Vertex, numbering order */
  GArray          *edges;             /* Edge */
  char            *crs_line;
  char            *place;             /* "Đắk Lắk" or NULL */
  char            *province;          /* "TỈNH ĐẮK LẮK" or NULL */
} Extract;

/* ---- numbers and text ---------------------------------------------------- */

/* "1.403.456,78": grouping dot, decimal comma, whatever the locale. */
static char *
format_number (double value, int decimals)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char fmt[16];
  GString *out = g_string_new (NULL);
  const char *p, *dot;
  gsize int_len;

  g_snprintf (fmt, sizeof fmt, "%%.%df", CLAMP (decimals, 0, 9));
  g_ascii_formatd (buf, sizeof buf, fmt, value);
  p = buf;
  if (*p == '-')
    {
      /* No "-0,00". */
      if (strspn (p + 1, "0.") != strlen (p + 1))
        g_string_append_c (out, '-');
      p++;
    }
  dot = strchr (p, '.');
  int_len = dot != NULL ? (gsize) (dot - p) : strlen (p);
  for (gsize i = 0; i < int_len; i++)
    {
      if (i > 0 && (int_len - i) % 3 == 0)
        g_string_append_c (out, '.');
      g_string_append_c (out, p[i]);
    }
  if (dot != NULL)
    {
      g_string_append_c (out, ',');
      g_string_append (out, dot + 1);
    }
  return g_string_free (out, FALSE);
}

typedef enum {
  TEXT_BOLD   = 1 << 0,
  TEXT_ITALIC = 1 << 1,
  TEXT_CENTER = 1 << 2,
  TEXT_RIGHT  = 1 << 3,
  TEXT_MARKUP = 1 << 4,
  TEXT_HALO   = 1 << 5,  /* on a white box */
  TEXT_HALO_GREY = 1 << 6, /* on a box of the parcel's fill */
} TextFlags;

/* A pango layout in @cr (user space in mm) with the print font at
 * @size_pt, @width_mm wide (0: one line as long as the text). Hinting and
 * glyph rounding are off: at a millimetre user space they would round
 * every glyph position to whole millimetres. */
static const cairo_user_data_key_t context_key;

static PangoLayout *
make_layout (cairo_t *cr, const char *text, double size_pt, guint flags, double width_mm)
{
  PangoContext *context = cairo_get_user_data (cr, &context_key);
  PangoLayout *layout;
  PangoFontDescription *desc = pango_font_description_new ();

  /* One context for the page: a new one per layout would load the fonts
   * again each time. */
  if (context == NULL)
    {
      cairo_font_options_t *options = cairo_font_options_create ();

      context = pango_cairo_create_context (cr);
      cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
      cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
      pango_cairo_context_set_font_options (context, options);
      cairo_font_options_destroy (options);
      pango_context_set_round_glyph_positions (context, FALSE);
      cairo_set_user_data (cr, &context_key, context, g_object_unref);
    }
  else
    pango_cairo_update_context (cr, context);
  layout = pango_layout_new (context);

  pango_font_description_set_family (desc, DOTHI_PRINT_FONT);
  pango_font_description_set_absolute_size (desc, size_pt / DOTHI_PT_PER_MM * PANGO_SCALE);
  pango_font_description_set_weight (desc, (flags & TEXT_BOLD) ? PANGO_WEIGHT_BOLD
                                                               : PANGO_WEIGHT_NORMAL);
  pango_font_description_set_style (desc, (flags & TEXT_ITALIC) ? PANGO_STYLE_ITALIC
                                                                : PANGO_STYLE_NORMAL);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);

  if (width_mm > 0)
    {
      pango_layout_set_width (layout, (int) (width_mm * PANGO_SCALE));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
      pango_layout_set_alignment (layout, (flags & TEXT_CENTER) ? PANGO_ALIGN_CENTER
                                          : (flags & TEXT_RIGHT) ? PANGO_ALIGN_RIGHT
                                          : PANGO_ALIGN_LEFT);
    }
  if (flags & TEXT_MARKUP)
    pango_layout_set_markup (layout, text, -1);
  else
    pango_layout_set_text (layout, text, -1);
  return layout;
}

static void
layout_size (PangoLayout *layout, double *w, double *h)
{
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  if (w != NULL)
    *w = (double) logical.width / PANGO_SCALE;
  if (h != NULL)
    *h = (double) logical.height / PANGO_SCALE;
}

static void
show_layout (cairo_t *cr, PangoLayout *layout, guint flags)
{
  /* The layout was made before any rotation of @cr. */
  pango_cairo_update_layout (cr, layout);
  if (flags & (TEXT_HALO | TEXT_HALO_GREY))
    {
      PangoRectangle ink;
      double x, y;

      /* A box of the background behind the letters hides the lines they
       * cross; an outline of each glyph would do it too, at five times
       * the file size and time. */
      cairo_get_current_point (cr, &x, &y);
      pango_layout_get_extents (layout, &ink, NULL);
      cairo_save (cr);
      cairo_rectangle (cr, x + (double) ink.x / PANGO_SCALE - 0.25,
                       y + (double) ink.y / PANGO_SCALE - 0.25,
                       (double) ink.width / PANGO_SCALE + 0.5,
                       (double) ink.height / PANGO_SCALE + 0.5);
      if (flags & TEXT_HALO_GREY)
        cairo_set_source_rgb (cr, PARCEL_FILL, PARCEL_FILL, PARCEL_FILL);
      else
        cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill (cr);
      cairo_restore (cr);
      cairo_move_to (cr, x, y);
    }
  pango_cairo_show_layout (cr, layout);
  /* No current point left for the next path to join. */
  cairo_new_path (cr);
}

/* Draws @text in the box from (@x, @y) @w wide (wrapped and aligned
 * there), returns its height in mm. */
static double
draw_text (cairo_t *cr, double x, double y, double w, const char *text,
           double size_pt, guint flags)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, text, size_pt, flags, w);
  double h;

  layout_size (layout, NULL, &h);
  cairo_move_to (cr, x, y);
  show_layout (cr, layout, flags);
  return h;
}

/* @text in the box from (@x, @y), @w by @h, centred vertically. */
static void
draw_text_in_row (cairo_t *cr, double x, double y, double w, double h, const char *text,
                  double size_pt, guint flags)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, text, size_pt, flags, w);
  double th;

  layout_size (layout, NULL, &th);
  cairo_move_to (cr, x, y + (h - th) / 2);
  show_layout (cr, layout, flags);
}

/* One line of @text centred on (@cx, @cy), turned by @angle (radians);
 * returns its width. */
static double
draw_text_at (cairo_t *cr, double cx, double cy, double angle, const char *text,
              double size_pt, guint flags)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, text, size_pt, flags, 0);
  double w, h;

  layout_size (layout, &w, &h);
  cairo_save (cr);
  cairo_translate (cr, cx, cy);
  cairo_rotate (cr, angle);
  cairo_move_to (cr, -w / 2, -h / 2);
  show_layout (cr, layout, flags);
  cairo_restore (cr);
  return w;
}

static void
text_size (cairo_t *cr, const char *text, double size_pt, guint flags, double *w, double *h)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, text, size_pt, flags, 0);

  layout_size (layout, w, h);
}

/* Whether the print font has the Vietnamese letters. */
static gboolean
check_font (cairo_t *cr, GError **error)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, "Đ", 10, 0, 0);
  PangoContext *context = pango_layout_get_context (layout);
  const gunichar needed[] = { 0x0110, 0x0111, 0x1EA1, 0x1EAF, 0x1ED9, 0x1EEF, 0x01B0, 0x01A1 };
  g_autoptr(PangoFontDescription) desc = pango_font_description_from_string (DOTHI_PRINT_FONT " 10");
  g_autoptr(PangoFont) font = pango_context_load_font (context, desc);

  for (guint i = 0; font != NULL && i < G_N_ELEMENTS (needed); i++)
    if (!pango_font_has_char (font, needed[i]))
      {
        g_clear_object (&font);
        break;
      }
  if (font == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a font name */
                   _("The font “%s” is missing or has no Vietnamese letters; install fonts-noto-core"),
                   DOTHI_PRINT_FONT);
      return FALSE;
    }
  return TRUE;
}

/* ---- geometry ------------------------------------------------------------ */

static void
ring_free (Ring *ring)
{
  g_array_unref (ring->pts);
  g_free (ring);
}

static Shape *
shape_new (void)
{
  Shape *shape = g_new0 (Shape, 1);

  shape->rings = g_ptr_array_new_with_free_func ((GDestroyNotify) ring_free);
  shape->bbox[0] = shape->bbox[1] = G_MAXDOUBLE;
  shape->bbox[2] = shape->bbox[3] = -G_MAXDOUBLE;
  return shape;
}

static void
shape_free (Shape *shape)
{
  if (shape == NULL)
    return;
  g_ptr_array_unref (shape->rings);
  g_free (shape);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Shape, shape_free)

static void
neighbour_free (Neighbour *n)
{
  g_free (n->number);
  g_free (n->sheet);
  shape_free (n->shape);
  g_free (n);
}

typedef struct {
  const guint8 *data;
  gsize         len;
  gsize         pos;
} Wkb;

static gboolean
wkb_skip (Wkb *w, guint64 n)
{
  if (n > w->len - w->pos)
    return FALSE;
  w->pos += n;
  return TRUE;
}

static gboolean
wkb_u32 (Wkb *w, gboolean le, guint32 *out)
{
  guint32 v;

  if (w->len - w->pos < 4)
    return FALSE;
  memcpy (&v, w->data + w->pos, 4);
  w->pos += 4;
  *out = le ? GUINT32_FROM_LE (v) : GUINT32_FROM_BE (v);
  return TRUE;
}

static double
wkb_f64 (Wkb *w, gboolean le)
{
  guint64 v;
  double d;

  memcpy (&v, w->data + w->pos, 8);
  w->pos += 8;
  v = le ? GUINT64_FROM_LE (v) : GUINT64_FROM_BE (v);
  memcpy (&d, &v, 8);
  return d;
}

/* Adds the polygons of the WKB geometry at @w to @shape (points and lines
 * of a collection are skipped). FALSE on malformed WKB. */
static gboolean
wkb_read (Wkb *w, Shape *shape, int depth)
{
  gboolean le;
  guint32 type, n, base, dims = 2;

  if (depth > 8 || w->pos >= w->len || w->data[w->pos] > 1)
    return FALSE;
  le = w->data[w->pos++] == 1;
  if (!wkb_u32 (w, le, &type))
    return FALSE;
  /* EWKB flags, in case a blob carries them. */
  if (type & 0x80000000u)
    dims++;
  if (type & 0x40000000u)
    dims++;
  if ((type & 0x20000000u) && !wkb_u32 (w, le, &n))
    return FALSE;
  type &= 0x0fffffffu;
  base = type % 1000;
  dims += type / 1000 == 3 ? 2 : type / 1000 >= 1 ? 1 : 0;

  switch (base)
    {
    case 1:
      return wkb_skip (w, (guint64) dims * 8);
    case 2:
      return wkb_u32 (w, le, &n) && wkb_skip (w, (guint64) n * dims * 8);
    case 3:
      if (!wkb_u32 (w, le, &n))
        return FALSE;
      for (guint32 r = 0; r < n; r++)
        {
          guint32 np;
          Ring *ring;

          if (!wkb_u32 (w, le, &np) || (guint64) np * dims * 8 > w->len - w->pos)
            return FALSE;
          ring = g_new0 (Ring, 1);
          ring->pts = g_array_sized_new (FALSE, FALSE, sizeof (Pt), np);
          ring->hole = r > 0;
          for (guint32 i = 0; i < np; i++)
            {
              Pt p;

              p.x = wkb_f64 (w, le);
              p.y = wkb_f64 (w, le);
              w->pos += (dims - 2) * 8;
              if (!isfinite (p.x) || !isfinite (p.y))
                {
                  ring_free (ring);
                  return FALSE;
                }
              if (ring->pts->len > 0)
                {
                  const Pt *last = &g_array_index (ring->pts, Pt, ring->pts->len - 1);

                  if (last->x == p.x && last->y == p.y)
                    continue;
                }
              g_array_append_val (ring->pts, p);
              shape->bbox[0] = MIN (shape->bbox[0], p.x);
              shape->bbox[1] = MIN (shape->bbox[1], p.y);
              shape->bbox[2] = MAX (shape->bbox[2], p.x);
              shape->bbox[3] = MAX (shape->bbox[3], p.y);
            }
          /* Open the ring. */
          while (ring->pts->len > 1
                 && g_array_index (ring->pts, Pt, 0).x == g_array_index (ring->pts, Pt, ring->pts->len - 1).x
                 && g_array_index (ring->pts, Pt, 0).y == g_array_index (ring->pts, Pt, ring->pts->len - 1).y)
            g_array_set_size (ring->pts, ring->pts->len - 1);
          if (ring->pts->len >= 3)
            g_ptr_array_add (shape->rings, ring);
          else
            ring_free (ring);
        }
      return TRUE;
    case 4:
    case 5:
    case 6:
    case 7:
      if (!wkb_u32 (w, le, &n))
        return FALSE;
      for (guint32 i = 0; i < n; i++)
        if (!wkb_read (w, shape, depth + 1))
          return FALSE;
      return TRUE;
    default:
      return FALSE;
    }
}

/* The polygons of a SpatiaLite blob, or NULL when it is malformed or has
 * none. */
static Shape *
shape_from_blob (const guint8 *blob, gsize len)
{
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  g_autoptr(Shape) shape = shape_new ();
  Wkb w;

  if (blob == NULL || !dothi_blob_to_wkb (blob, len, wkb, NULL))
    return NULL;
  w.data = wkb->data;
  w.len = wkb->len;
  w.pos = 0;
  if (!wkb_read (&w, shape, 0) || shape->rings->len == 0)
    return NULL;
  return g_steal_pointer (&shape);
}

/* Twice the signed area, positive when counter-clockwise (x east, y
 * north); relative to the first point, for precision at VN-2000's
 * millions of metres. */
static double
ring_area2 (const Ring *ring)
{
  const Pt *p = (const Pt *) ring->pts->data;
  guint n = ring->pts->len;
  double sum = 0;

  for (guint i = 1; i + 1 < n; i++)
    sum += (p[i].x - p[0].x) * (p[i + 1].y - p[0].y)
           - (p[i + 1].x - p[0].x) * (p[i].y - p[0].y);
  return sum;
}

static double
shape_area (const Shape *shape)
{
  double area = 0;

  for (guint i = 0; i < shape->rings->len; i++)
    {
      const Ring *ring = g_ptr_array_index (shape->rings, i);
      double a = fabs (ring_area2 (ring)) / 2;

      area += ring->hole ? -a : a;
    }
  return area;
}

/* Even-odd over every ring: inside a part and outside its holes. */
static gboolean
shape_contains (const Shape *shape, double x, double y)
{
  gboolean inside = FALSE;

  for (guint r = 0; r < shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (shape->rings, r);
      const Pt *p = (const Pt *) ring->pts->data;
      guint n = ring->pts->len;

      for (guint i = 0, j = n - 1; i < n; j = i++)
        if ((p[i].y > y) != (p[j].y > y)
            && x < (p[j].x - p[i].x) * (y - p[i].y) / (p[j].y - p[i].y) + p[i].x)
          inside = !inside;
    }
  return inside;
}

static double
point_segment_distance (Pt p, Pt a, Pt b)
{
  double dx = b.x - a.x, dy = b.y - a.y;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;

  t = CLAMP (t, 0, 1);
  return hypot (p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

static double
cross (Pt o, Pt a, Pt b)
{
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

static double
segment_distance (Pt a, Pt b, Pt c, Pt d)
{
  double d1 = cross (c, d, a), d2 = cross (c, d, b);
  double d3 = cross (a, b, c), d4 = cross (a, b, d);

  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0))
      && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
    return 0;
  return MIN (MIN (point_segment_distance (a, c, d), point_segment_distance (b, c, d)),
              MIN (point_segment_distance (c, a, b), point_segment_distance (d, a, b)));
}

/* Whether @a and @b come within @limit of each other (or overlap). */
static gboolean
shapes_within (const Shape *a, const Shape *b, double limit)
{
  if (a->bbox[0] > b->bbox[2] + limit || b->bbox[0] > a->bbox[2] + limit
      || a->bbox[1] > b->bbox[3] + limit || b->bbox[1] > a->bbox[3] + limit)
    return FALSE;
  for (guint r = 0; r < a->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (a->rings, r);
      Pt p = g_array_index (ring->pts, Pt, 0);

      if (shape_contains (b, p.x, p.y))
        return TRUE;
    }
  for (guint r = 0; r < b->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (b->rings, r);
      Pt p = g_array_index (ring->pts, Pt, 0);

      if (shape_contains (a, p.x, p.y))
        return TRUE;
    }
  for (guint ra = 0; ra < a->rings->len; ra++)
    {
      const Ring *ring_a = g_ptr_array_index (a->rings, ra);
      const Pt *pa = (const Pt *) ring_a->pts->data;
      guint na = ring_a->pts->len;

      for (guint i = 0; i < na; i++)
        {
          Pt a0 = pa[i], a1 = pa[(i + 1) % na];
          double minx = MIN (a0.x, a1.x) - limit, maxx = MAX (a0.x, a1.x) + limit;
          double miny = MIN (a0.y, a1.y) - limit, maxy = MAX (a0.y, a1.y) + limit;

          for (guint rb = 0; rb < b->rings->len; rb++)
            {
              const Ring *ring_b = g_ptr_array_index (b->rings, rb);
              const Pt *pb = (const Pt *) ring_b->pts->data;
              guint nb = ring_b->pts->len;

              for (guint j = 0; j < nb; j++)
                {
                  Pt b0 = pb[j], b1 = pb[(j + 1) % nb];

                  if (MAX (b0.x, b1.x) < minx || MIN (b0.x, b1.x) > maxx
                      || MAX (b0.y, b1.y) < miny || MIN (b0.y, b1.y) > maxy)
                    continue;
                  if (segment_distance (a0, a1, b0, b1) <= limit)
                    return TRUE;
                }
            }
        }
    }
  return FALSE;
}

/* Each ring clockwise, starting at its north-westernmost vertex (the
 * largest northing minus easting; the northernmost of equals), as land
 * offices number them. */
static void
orient_rings (Shape *shape)
{
  for (guint r = 0; r < shape->rings->len; r++)
    {
      Ring *ring = g_ptr_array_index (shape->rings, r);
      Pt *p = (Pt *) ring->pts->data;
      guint n = ring->pts->len, start = 0;
      g_autoptr(GArray) turned = g_array_sized_new (FALSE, FALSE, sizeof (Pt), n);

      if (ring_area2 (ring) > 0)
        for (guint i = 0; i < n / 2; i++)
          {
            Pt t = p[i];

            p[i] = p[n - 1 - i];
            p[n - 1 - i] = t;
          }
      for (guint i = 1; i < n; i++)
        {
          double s = p[i].y - p[i].x, best = p[start].y - p[start].x;

          if (s > best + 1e-9 || (fabs (s - best) <= 1e-9 && p[i].y > p[start].y))
            start = i;
        }
      for (guint i = 0; i < n; i++)
        g_array_append_val (turned, p[(start + i) % n]);
      memcpy (p, turned->data, n * sizeof (Pt));
    }
}

/* Sutherland–Hodgman against one side of a rectangle. */
static GArray *
clip_side (GArray *in, int side, double value)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (Pt), in->len + 4);
  const Pt *p = (const Pt *) in->data;
  guint n = in->len;

#define INSIDE(q) (side == 0 ? (q).x >= value : side == 1 ? (q).y >= value \
                   : side == 2 ? (q).x <= value : (q).y <= value)
  for (guint i = 0; i < n; i++)
    {
      Pt cur = p[i], prev = p[(i + n - 1) % n];
      gboolean in_cur = INSIDE (cur), in_prev = INSIDE (prev);

      if (in_cur != in_prev)
        {
          Pt q;
          double t;

          if (side == 0 || side == 2)
            {
              t = (value - prev.x) / (cur.x - prev.x);
              q.x = value;
              q.y = prev.y + t * (cur.y - prev.y);
            }
          else
            {
              t = (value - prev.y) / (cur.y - prev.y);
              q.y = value;
              q.x = prev.x + t * (cur.x - prev.x);
            }
          g_array_append_val (out, q);
        }
      if (in_cur)
        g_array_append_val (out, cur);
    }
#undef INSIDE
  return out;
}

/* @shape cut to @rect (minx miny maxx maxy): good enough to find where a
 * label fits in the part that shows. */
static Shape *
shape_clip (const Shape *shape, const double rect[4])
{
  Shape *out = shape_new ();

  for (guint r = 0; r < shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (shape->rings, r);
      GArray *pts = g_array_ref (ring->pts);

      for (int side = 0; side < 4 && pts->len >= 3; side++)
        {
          GArray *next = clip_side (pts, side, rect[side]);

          g_array_unref (pts);
          pts = next;
        }
      if (pts->len >= 3)
        {
          Ring *clipped = g_new0 (Ring, 1);

          clipped->pts = pts;
          clipped->hole = ring->hole;
          g_ptr_array_add (out->rings, clipped);
          for (guint i = 0; i < pts->len; i++)
            {
              Pt p = g_array_index (pts, Pt, i);

              out->bbox[0] = MIN (out->bbox[0], p.x);
              out->bbox[1] = MIN (out->bbox[1], p.y);
              out->bbox[2] = MAX (out->bbox[2], p.x);
              out->bbox[3] = MAX (out->bbox[3], p.y);
            }
        }
      else
        g_array_unref (pts);
    }
  return out;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The widest inside interval of @shape along the line y = @value
 * (@vertical: x = @value); FALSE if none. */
static gboolean
widest_interval (const Shape *shape, double value, gboolean vertical,
                 double *from, double *to)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (double));
  double best = -1;

  for (guint r = 0; r < shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (shape->rings, r);
      const Pt *p = (const Pt *) ring->pts->data;
      guint n = ring->pts->len;

      for (guint i = 0, j = n - 1; i < n; j = i++)
        {
          double ai = vertical ? p[i].x : p[i].y, aj = vertical ? p[j].x : p[j].y;
          double bi = vertical ? p[i].y : p[i].x, bj = vertical ? p[j].y : p[j].x;

          if ((ai > value) != (aj > value))
            {
              double hit = bi + (value - ai) * (bj - bi) / (aj - ai);

              g_array_append_val (hits, hit);
            }
        }
    }
  g_array_sort (hits, compare_doubles);
  for (guint i = 0; i + 1 < hits->len; i += 2)
    {
      double a = g_array_index (hits, double, i), b = g_array_index (hits, double, i + 1);

      if (b - a > best)
        {
          best = b - a;
          *from = a;
          *to = b;
        }
    }
  return best > 0;
}

/* A place well inside a shape for a label, and the room there (the
 * widths of the horizontal and vertical intervals through it). */
typedef struct {
  Pt     at;
  double room_x, room_y;
  double score;
} Spot;

static int
compare_spots (gconstpointer a, gconstpointer b)
{
  double x = ((const Spot *) a)->score, y = ((const Spot *) b)->score;

  return x > y ? -1 : x < y;
}

/* Places for a label in @shape, the roomiest first: on seven horizontal
 * lines across it, the middle of the widest inside interval, centred
 * vertically there. */
static GArray *
label_spots (const Shape *shape)
{
  GArray *spots = g_array_new (FALSE, FALSE, sizeof (Spot));

  for (int k = 1; k < 8; k++)
    {
      double y = shape->bbox[1] + (shape->bbox[3] - shape->bbox[1]) * k / 8.0;
      double x0, x1, y0, y1;
      Spot spot;

      if (!widest_interval (shape, y, FALSE, &x0, &x1)
          || !widest_interval (shape, (x0 + x1) / 2, TRUE, &y0, &y1))
        continue;
      spot.at.x = (x0 + x1) / 2;
      spot.at.y = (y0 + y1) / 2;
      spot.room_x = x1 - x0;
      spot.room_y = y1 - y0;
      /* Room both ways (a label is about twice as wide as high), a little
       * in favour of the middle lines. */
      spot.score = MIN (spot.room_x, spot.room_y * 2.0) * (1.0 - 0.15 * abs (k - 4) / 4.0);
      if (spot.score > 0)
        g_array_append_val (spots, spot);
    }
  g_array_sort (spots, compare_spots);
  return spots;
}

static gboolean
label_point (const Shape *shape, Pt *out, double *room_x, double *room_y)
{
  g_autoptr(GArray) spots = label_spots (shape);
  const Spot *best;

  if (spots->len == 0)
    return FALSE;
  best = &g_array_index (spots, Spot, 0);
  *out = best->at;
  *room_x = best->room_x;
  *room_y = best->room_y;
  return TRUE;
}

/* ---- reading the project ------------------------------------------------- */

static gboolean
set_db_error (Extract *ex, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, file name, SQLite's message */
               _("Cannot read layer “%s” of “%s”: %s"), ex->layer, ex->path,
               sqlite3_errmsg (ex->db));
  return FALSE;
}

static gboolean
open_project (Extract *ex, GError **error)
{
  if (!g_file_test (ex->path, G_FILE_TEST_IS_REGULAR)
      || sqlite3_open_v2 (ex->path, &ex->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
         != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then the reason */
                   _("Cannot open project “%s”: %s"), ex->path,
                   ex->db != NULL ? sqlite3_errmsg (ex->db) : g_strerror (ENOENT));
      return FALSE;
    }
  sqlite3_exec (ex->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
  sqlite3_busy_timeout (ex->db, 5000);
  return TRUE;
}

/* The registry row and fields of the layer; a missing layer or one that
 * holds no polygons is refused. */
static gboolean
load_layer (Extract *ex, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(sqlite3_stmt) fields = NULL;
  DothiGeometryKind kind;

  if (sqlite3_prepare_v2 (ex->db, "SELECT kind, srid, title FROM dothi_layers WHERE name = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name, SQLite's message */
                   _("“%s” is not a Dothi project: %s"), ex->path, sqlite3_errmsg (ex->db));
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, ex->layer, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: layer name, file name */
                   _("There is no layer “%s” in “%s”"), ex->layer, ex->path);
      return FALSE;
    }
  ex->info = dothi_layer_info_new ();
  ex->info->name = g_strdup (ex->layer);
  kind = dothi_geometry_kind_from_string ((const char *) sqlite3_column_text (stmt, 0));
  ex->info->kind = kind;
  ex->info->srid = sqlite3_column_int (stmt, 1);
  ex->info->title = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  if (kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON && kind != DOTHI_GEOMETRY_KIND_GEOMETRY)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: layer name, file name */
                   _("Layer “%s” of “%s” has no polygons: a parcel extract needs a parcel layer"),
                   ex->layer, ex->path);
      return FALSE;
    }

  /* The registry's fields that the table really has (another program
   * may have dropped a column). */
  if (sqlite3_prepare_v2 (ex->db, "SELECT f.name, f.type FROM dothi_fields AS f "
                          "WHERE f.layer = ?1 AND EXISTS (SELECT 1 FROM pragma_table_info(?1) AS p "
                          "WHERE p.name = f.name) ORDER BY f.position", -1, &fields, NULL) != SQLITE_OK)
    return set_db_error (ex, error);
  sqlite3_bind_text (fields, 1, ex->layer, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (fields) == SQLITE_ROW)
    dothi_layer_info_add_field (ex->info, (const char *) sqlite3_column_text (fields, 0),
                                dothi_field_type_from_string ((const char *) sqlite3_column_text (fields, 1)));

  /* The first name of each role's list that the layer has. */
  for (int role = 0; role < N_ROLES; role++)
    {
      ex->fields[role] = -1;
      for (guint k = 0; role_names[role][k] != NULL && ex->fields[role] < 0; k++)
        for (guint i = 0; i < ex->info->fields->len; i++)
          {
            const DothiField *f = g_ptr_array_index (ex->info->fields, i);
            g_autofree char *lower = g_ascii_strdown (f->name, -1);
            g_autoptr(GString) bare = g_string_new (NULL);

            for (const char *c = lower; *c; c++)
              if (*c != '_' && *c != '-' && *c != ' ')
                g_string_append_c (bare, *c);
            if (strcmp (bare->str, role_names[role][k]) == 0)
              {
                ex->fields[role] = (int) i;
                break;
              }
          }
    }
  return TRUE;
}

/* A value as text to print, NFC; NULL when empty. */
static char *
column_text (sqlite3_stmt *stmt, int col)
{
  switch (sqlite3_column_type (stmt, col))
    {
    case SQLITE_INTEGER:
      return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (stmt, col));
    case SQLITE_FLOAT:
      {
        double d = sqlite3_column_double (stmt, col);
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        char *comma;

        if (d == floor (d) && fabs (d) < 1e15)
          return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) d);
        g_ascii_dtostr (buf, sizeof buf, d);
        if ((comma = strchr (buf, '.')) != NULL)
          *comma = ',';
        return g_strdup (buf);
      }
    case SQLITE_TEXT:
      {
        const char *text = (const char *) sqlite3_column_text (stmt, col);
        g_autofree char *nfc = NULL;

        if (!g_utf8_validate (text, -1, NULL))
          return NULL;
        nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
        if (nfc == NULL)
          return NULL;
        g_strstrip (nfc);
        return *nfc != '\0' ? g_steal_pointer (&nfc) : NULL;
      }
    default:
      return NULL;
    }
}

/* "2020-05-17…" as "17/05/2020"; anything else as it is. */
static char *
format_date (char *value)
{
  if (value != NULL && strlen (value) >= 10 && g_ascii_isdigit (value[0])
      && value[4] == '-' && value[7] == '-')
    {
      char *out = g_strdup_printf ("%.2s/%.2s/%.4s", value + 8, value + 5, value);

      g_free (value);
      return out;
    }
  return value;
}

static gboolean
load_parcel (Extract *ex, GError **error)
{
  g_autoptr(GString) sql = g_string_new ("SELECT geom");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int col = 1;
  int rc;

  for (int role = 0; role < N_ROLES; role++)
    if (ex->fields[role] >= 0)
      {
        const DothiField *f = g_ptr_array_index (ex->info->fields, ex->fields[role]);
        g_autoptr(DothiSqlStr) quoted = sqlite3_mprintf (", \"%w\"", f->name);

        g_string_append (sql, quoted);
      }
  {
    g_autoptr(DothiSqlStr) from = sqlite3_mprintf (" FROM \"%w\" WHERE fid = ?1", ex->layer);

    g_string_append (sql, from);
  }
  if (sqlite3_prepare_v2 (ex->db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (ex, error);
  sqlite3_bind_int64 (stmt, 1, ex->fid);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: feature id, layer name, file name */
                   _("There is no feature %lld in layer “%s” of “%s”"),
                   (long long) ex->fid, ex->layer, ex->path);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return set_db_error (ex, error);

  ex->shape = shape_from_blob (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
  if (ex->shape == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: feature id, layer name */
                   _("Feature %lld of layer “%s” has no polygon to draw a parcel extract of"),
                   (long long) ex->fid, ex->layer);
      return FALSE;
    }
  for (int role = 0; role < N_ROLES; role++)
    if (ex->fields[role] >= 0)
      {
        if (role == ROLE_AREA && (sqlite3_column_type (stmt, col) == SQLITE_FLOAT
                                  || sqlite3_column_type (stmt, col) == SQLITE_INTEGER))
          {
            ex->has_recorded_area = TRUE;
            ex->recorded_area = sqlite3_column_double (stmt, col);
          }
        ex->values[role] = column_text (stmt, col++);
      }
  ex->values[ROLE_CERT_DATE] = format_date (ex->values[ROLE_CERT_DATE]);
  return TRUE;
}

static gboolean
has_rtree (Extract *ex)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *name = g_strdup_printf ("idx_%s_geom", ex->layer);

  if (sqlite3_prepare_v2 (ex->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

/* The parcels of the layer within NEIGHBOUR_DISTANCE, through the R-tree
 * (or, without one, every row's blob MBR). */
static gboolean
load_neighbours (Extract *ex, GCancellable *cancellable, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  const char *number = NULL, *sheet = NULL;
  gboolean rtree = has_rtree (ex);
  const double *b = ex->shape->bbox;
  const double d = NEIGHBOUR_DISTANCE;
  int rc;

  if (ex->fields[ROLE_NUMBER] >= 0)
    number = ((DothiField *) g_ptr_array_index (ex->info->fields, ex->fields[ROLE_NUMBER]))->name;
  if (ex->fields[ROLE_SHEET] >= 0)
    sheet = ((DothiField *) g_ptr_array_index (ex->info->fields, ex->fields[ROLE_SHEET]))->name;

  if (rtree)
    sql = sqlite3_mprintf ("SELECT t.fid, t.\"%w\", t.\"%w\", t.geom FROM \"idx_%w_geom\" AS r "
                           "JOIN \"%w\" AS t ON t.fid = r.pkid WHERE r.xmin <= ?3 AND r.xmax >= ?1 "
                           "AND r.ymin <= ?4 AND r.ymax >= ?2 AND r.pkid <> ?5",
                           number ? number : "fid", sheet ? sheet : "fid", ex->layer, ex->layer);
  else
    sql = sqlite3_mprintf ("SELECT t.fid, t.\"%w\", t.\"%w\", t.geom FROM \"%w\" AS t "
                           "WHERE t.fid <> ?5",
                           number ? number : "fid", sheet ? sheet : "fid", ex->layer);
  if (sqlite3_prepare_v2 (ex->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (ex, error);
  if (rtree)
    {
      sqlite3_bind_double (stmt, 1, b[0] - d);
      sqlite3_bind_double (stmt, 2, b[1] - d);
      sqlite3_bind_double (stmt, 3, b[2] + d);
      sqlite3_bind_double (stmt, 4, b[3] + d);
    }
  sqlite3_bind_int64 (stmt, 5, ex->fid);

  for (guint64 n = 0; (rc = sqlite3_step (stmt)) == SQLITE_ROW; n++)
    {
      const guint8 *blob = sqlite3_column_blob (stmt, 3);
      gsize len = sqlite3_column_bytes (stmt, 3);
      Shape *shape;
      Neighbour *nb;

      if ((n & 4095) == 4095 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!rtree)
        {
          double mbr[4];

          /* The blob's own MBR (bytes 6..37), before decoding it. */
          if (blob == NULL || len < 44 || blob[1] > 1)
            continue;
          for (int i = 0; i < 4; i++)
            {
              guint64 v;

              memcpy (&v, blob + 6 + 8 * i, 8);
              v = blob[1] == 1 ? GUINT64_FROM_LE (v) : GUINT64_FROM_BE (v);
              memcpy (&mbr[i], &v, 8);
            }
          if (mbr[0] > b[2] + d || mbr[2] < b[0] - d || mbr[1] > b[3] + d || mbr[3] < b[1] - d)
            continue;
        }
      shape = shape_from_blob (blob, len);
      if (shape == NULL)
        continue;
      if (!shapes_within (ex->shape, shape, d))
        {
          shape_free (shape);
          continue;
        }
      nb = g_new0 (Neighbour, 1);
      nb->fid = sqlite3_column_int64 (stmt, 0);
      nb->shape = shape;
      if (number != NULL)
        nb->number = column_text (stmt, 1);
      if (sheet != NULL)
        nb->sheet = column_text (stmt, 2);
      g_ptr_array_add (ex->neighbours, nb);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (ex, error);
  return TRUE;
}

/* Vertex numbers in ring order, and the edges of each ring. */
static void
number_vertices (Extract *ex)
{
  guint number = 1;

  for (guint r = 0; r < ex->shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (ex->shape->rings, r);
      const Pt *p = (const Pt *) ring->pts->data;
      guint n = ring->pts->len;

      for (guint i = 0; i < n; i++)
        {
          Vertex v = { r, i };
          Edge e;

          g_array_append_val (ex->vertices, v);
          e.from = number + i;
          e.to = number + (i + 1) % n;
          e.length = hypot (p[(i + 1) % n].x - p[i].x, p[(i + 1) % n].y - p[i].y);
          g_array_append_val (ex->edges, e);
        }
      number += n;
    }
}

/* The line naming the coordinate system of @srid. */
static char *
crs_line (int srid)
{
  guint n_zones;
  const DothiVn2000Zone *zones = dothi_crs_vn2000_zones (&n_zones);
  g_autofree char *name = NULL;

  for (guint i = 0; i < n_zones; i++)
    if (zones[i].srid == srid)
      {
        int minutes = (int) round (zones[i].meridian * 60);

        if (minutes % 60 == 0)
          return g_strdup_printf ("Hệ tọa độ VN-2000, kinh tuyến trục %d°, múi chiếu 3°",
                                  minutes / 60);
        return g_strdup_printf ("Hệ tọa độ VN-2000, kinh tuyến trục %d°%02d′, múi chiếu 3°",
                                minutes / 60, minutes % 60);
      }
  /* VN-2000 / UTM zone 48N and 49N. */
  if (srid == 3405 || srid == 3406)
    return g_strdup_printf ("Hệ tọa độ VN-2000, kinh tuyến trục %d°, múi chiếu 6°",
                            srid == 3405 ? 105 : 111);
  name = dothi_crs_dup_name (srid);
  return g_strdup_printf ("Hệ tọa độ %s (EPSG:%d)", name != NULL ? name : "", srid);
}

static gboolean
has_prefix_nocase (const char *text, const char *prefix)
{
  g_autofree char *a = g_utf8_casefold (text, -1);
  g_autofree char *b = g_utf8_casefold (prefix, -1);

  return g_str_has_prefix (a, b);
}

/* The province from the end of the address ("…, tỉnh Đắk Lắk"): the
 * place of the date line and the agency's second line. */
static void
find_place (Extract *ex)
{
  static const char * const prefixes[] = { "tỉnh ", "thành phố ", "tp. ", "tp ", NULL };
  const char *address = ex->values[ROLE_ADDRESS];
  const char *last;

  if (address == NULL)
    return;
  last = strrchr (address, ',');
  last = last != NULL ? last + 1 : address;
  while (*last == ' ')
    last++;
  for (guint i = 0; prefixes[i] != NULL; i++)
    if (has_prefix_nocase (last, prefixes[i]))
      {
        const char *rest = last + strlen (prefixes[i]);
        g_autofree char *full = g_strdup_printf ("%s %s", i == 0 ? "tỉnh" : "thành phố", rest);

        /* The casefold of "tỉnh " and "thành phố " keeps their byte
         * lengths, so @rest starts after the prefix. */
        if (*rest == '\0')
          return;
        ex->place = g_strdup (rest);
        ex->province = g_utf8_strup (full, -1);
        return;
      }
}

/* "ODT" as "Đất ở tại đô thị (ODT)"; "ODT+CLN" names both. */
static char *
land_use_text (const char *value)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  if (value == NULL)
    return NULL;
  parts = g_strsplit (value, "+", 0);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      const char *code = g_strstrip (parts[i]);
      const char *name = dothi_style_land_use_name (code);

      if (name == NULL)
        return g_strdup (value);
      if (out->len > 0)
        g_string_append (out, ", ");
      g_string_append_printf (out, "%s (%s)", name, code);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- the page ------------------------------------------------------------ */

/* The sizes of the vertex and edge tables: font, row height and column
 * widths, from roomy to tight. */
typedef struct {
  double font;
  double head;     /* the header row: two lines where a column is narrow */
  double row;
  double vcol[3];
  double ecol[2];
} TableStyle;

static const TableStyle table_styles[] = {
  { 8.5, 5.2, 4.8, { 22, 33, 33 }, { 24, 30 } },
  { 7.5, 7.4, 4.0, { 16, 28, 28 }, { 18, 24 } },
  { 6.5, 6.4, 3.3, { 11, 21, 21 }, { 14, 17 } },
  { 6.0, 5.9, 2.9, { 11, 20, 20 }, { 13, 16 } },
  { 5.5, 5.4, 2.6, { 10, 19, 19 }, { 12, 15 } },
};

#define TABLE_GAP 5.0     /* between the vertex and edge tables */
#define GROUP_GAP 5.0     /* between two column groups */
#define TABLE_HEADING 6.0 /* the heading above the tables */
#define CRS_LINE 6.0      /* the coordinate system line below them */

typedef struct {
  const TableStyle *style;
  guint groups;   /* side-by-side pairs of vertex and edge tables */
  guint rows;     /* data rows per group */
  guint shown;    /* vertices printed (less than all only when nothing fits) */
  double height;  /* heading, tables and CRS line */
} TablePlan;

static double
style_group_width (const TableStyle *s)
{
  return s->vcol[0] + s->vcol[1] + s->vcol[2] + TABLE_GAP + s->ecol[0] + s->ecol[1];
}

static void
plan_tables (guint n, double room, TablePlan *plan)
{
  for (guint i = 0; i < G_N_ELEMENTS (table_styles); i++)
    for (guint g = 1; g <= 2; g++)
      {
        const TableStyle *s = &table_styles[i];
        guint rows = (n + g - 1) / g;
        double h = TABLE_HEADING + s->head + rows * s->row + CRS_LINE;

        if (g * style_group_width (s) + (g - 1) * GROUP_GAP > CONTENT_W + 0.01)
          continue;
        if (h <= room)
          {
            plan->style = s;
            plan->groups = g;
            plan->rows = rows;
            plan->shown = n;
            plan->height = h;
            return;
          }
      }
  /* Nothing fits: the tightest, with as many rows as fit (the last says
   * how many more there are). */
  plan->style = &table_styles[G_N_ELEMENTS (table_styles) - 1];
  plan->groups = 2;
  plan->rows = MAX (2, (guint) floor ((room - TABLE_HEADING - CRS_LINE - plan->style->head)
                                      / plan->style->row));
  plan->shown = 2 * plan->rows - 1;
  plan->height = TABLE_HEADING + plan->style->head + plan->rows * plan->style->row + CRS_LINE;
}

static void
stroke_rect (cairo_t *cr, double x, double y, double w, double h, double line)
{
  cairo_rectangle (cr, x, y, w, h);
  cairo_set_line_width (cr, line);
  cairo_stroke (cr);
}

static void
hline (cairo_t *cr, double x0, double x1, double y, double line)
{
  cairo_move_to (cr, x0, y);
  cairo_line_to (cr, x1, y);
  cairo_set_line_width (cr, line);
  cairo_stroke (cr);
}

/* One table: a header row and @rows rows of @cols cells. @cell gives the
 * text of row r (0-based data row), column c, or NULL. */
typedef char *(*CellFunc) (Extract *ex, guint row, guint col, gpointer data);

static void
draw_table (cairo_t *cr, Extract *ex, double x, double y, const double *widths, guint cols,
            const char * const *headers, guint first, guint count, guint rows,
            const TableStyle *s, CellFunc cell, gpointer data)
{
  double total = 0, cx;

  for (guint c = 0; c < cols; c++)
    total += widths[c];
  cairo_set_source_rgb (cr, 0, 0, 0);
  stroke_rect (cr, x, y, total, s->head + rows * s->row, 0.3);
  hline (cr, x, x + total, y + s->head, 0.3);
  for (guint r = 1; r < rows; r++)
    hline (cr, x, x + total, y + s->head + r * s->row, 0.12);
  cx = x;
  for (guint c = 0; c < cols; c++)
    {
      if (c > 0)
        {
          cairo_move_to (cr, cx, y);
          cairo_line_to (cr, cx, y + s->head + rows * s->row);
          cairo_set_line_width (cr, 0.2);
          cairo_stroke (cr);
        }
      draw_text_in_row (cr, cx + 0.5, y, widths[c] - 1, s->head, headers[c], s->font,
                        TEXT_BOLD | TEXT_CENTER);
      for (guint r = 0; r < count; r++)
        {
          g_autofree char *text = cell (ex, first + r, c, data);

          if (text == NULL)
            continue;
          /* Numbers to the right, the point or edge names centred. */
          if (c == 0)
            draw_text_in_row (cr, cx, y + s->head + r * s->row, widths[c], s->row, text,
                              s->font, TEXT_CENTER);
          else
            draw_text_in_row (cr, cx, y + s->head + r * s->row, widths[c] - 1.5, s->row, text,
                              s->font, TEXT_RIGHT);
        }
      cx += widths[c];
    }
}

typedef struct {
  guint shown;   /* rows with data; the row after them says how many more */
  guint total;
} CellLimit;

static char *
vertex_cell (Extract *ex, guint row, guint col, gpointer data)
{
  CellLimit *limit = data;
  const Vertex *v;
  const Ring *ring;
  Pt p;

  if (row >= limit->total)
    return NULL;
  if (row == limit->shown)
    return col == 0 ? g_strdup ("…") : col == 1
           ? g_strdup_printf ("(còn %u điểm)", limit->total - limit->shown) : NULL;
  if (row > limit->shown)
    return NULL;
  v = &g_array_index (ex->vertices, Vertex, row);
  ring = g_ptr_array_index (ex->shape->rings, v->ring);
  p = g_array_index (ring->pts, Pt, v->index);
  switch (col)
    {
    case 0:
      return g_strdup_printf ("%u", row + 1);
    case 1:   /* X: northing */
      return format_number (p.y, 2);
    default:  /* Y: easting */
      return format_number (p.x, 2);
    }
}

static char *
edge_cell (Extract *ex, guint row, guint col, gpointer data)
{
  CellLimit *limit = data;
  const Edge *e;

  if (row >= limit->total || row > limit->shown)
    return NULL;
  if (row == limit->shown)
    return col == 0 ? g_strdup ("…") : NULL;
  e = &g_array_index (ex->edges, Edge, row);
  if (col == 0)
    return g_strdup_printf ("%u-%u", e->from, e->to);
  return format_number (e->length, 2);
}

/* World (project CRS) to paper (mm) in the sketch. */
typedef struct {
  double x, y, w, h;   /* the box on the page */
  double cx, cy;       /* world point at its centre */
  double k;            /* mm per metre: 1000 / N */
} Sketch;

static Pt
to_paper (const Sketch *s, Pt p)
{
  Pt q = { s->x + s->w / 2 + (p.x - s->cx) * s->k,
           s->y + s->h / 2 - (p.y - s->cy) * s->k };
  return q;
}

static Pt
to_world (const Sketch *s, Pt q)
{
  Pt p = { s->cx + (q.x - s->x - s->w / 2) / s->k,
           s->cy - (q.y - s->y - s->h / 2) / s->k };
  return p;
}

static void
shape_path (cairo_t *cr, const Sketch *s, const Shape *shape)
{
  for (guint r = 0; r < shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (shape->rings, r);

      for (guint i = 0; i < ring->pts->len; i++)
        {
          Pt q = to_paper (s, g_array_index (ring->pts, Pt, i));

          if (i == 0)
            cairo_move_to (cr, q.x, q.y);
          else
            cairo_line_to (cr, q.x, q.y);
        }
      cairo_close_path (cr);
    }
}

/* The smallest scale of 1:200, 500, 1000, 2000, 5000 (then 1-2-5 on)
 * at which the parcel takes at most about two thirds of the box. */
static double
choose_scale (double width_m, double height_m, double box_w, double box_h)
{
  static const double steps[] = { 200, 500, 1000, 2000, 5000 };
  double fit_w = MIN (box_w * 0.68, box_w - 36), fit_h = MIN (box_h * 0.68, box_h - 28);
  double scale = 0;

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (width_m * 1000 / steps[i] <= fit_w && height_m * 1000 / steps[i] <= fit_h)
      return steps[i];
  for (double decade = 10000; scale == 0; decade *= 10)
    for (int m = 1; m <= 5 && scale == 0; m = m == 1 ? 2 : m + 3)
      if (width_m * 1000 / (decade * m) <= fit_w && height_m * 1000 / (decade * m) <= fit_h)
        scale = decade * m;
  return scale;
}

static void
draw_north_arrow (cairo_t *cr, double cx, double top)
{
  double h = 13, w = 5;

  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text_at (cr, cx, top + 2.2, 0, "B", 10, TEXT_BOLD);
  cairo_set_line_width (cr, 0.25);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  /* The left half filled, the right half outlined. */
  cairo_move_to (cr, cx, top + 5);
  cairo_line_to (cr, cx - w / 2, top + 5 + h);
  cairo_line_to (cr, cx, top + 5 + h * 0.72);
  cairo_close_path (cr);
  cairo_fill_preserve (cr);
  cairo_stroke (cr);
  cairo_move_to (cr, cx, top + 5);
  cairo_line_to (cr, cx + w / 2, top + 5 + h);
  cairo_line_to (cr, cx, top + 5 + h * 0.72);
  cairo_close_path (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* Boxes of the labels placed in the sketch (paper mm), so the next one
 * can stay clear of them. */
typedef struct {
  double x0, y0, x1, y1;
} Box;

/* The axis-aligned box of a @w × @h label centred on @c, turned by @angle. */
static Box
label_box (Pt c, double w, double h, double angle)
{
  double hw = (fabs (cos (angle)) * w + fabs (sin (angle)) * h) / 2;
  double hh = (fabs (sin (angle)) * w + fabs (cos (angle)) * h) / 2;
  Box b = { c.x - hw, c.y - hh, c.x + hw, c.y + hh };

  return b;
}

static gboolean
box_is_free (GArray *boxes, Box b)
{
  for (guint i = 0; i < boxes->len; i++)
    {
      const Box *o = &g_array_index (boxes, Box, i);

      if (b.x0 < o->x1 && o->x0 < b.x1 && b.y0 < o->y1 && o->y0 < b.y1)
        return FALSE;
    }
  return TRUE;
}

/* Whether the segment @a @b crosses @box (Liang–Barsky). */
static gboolean
segment_hits_box (Pt a, Pt b, Box box)
{
  double t0 = 0, t1 = 1;
  double dx = b.x - a.x, dy = b.y - a.y;
  const double p[4] = { -dx, dx, -dy, dy };
  const double q[4] = { a.x - box.x0, box.x1 - a.x, a.y - box.y0, box.y1 - a.y };

  for (int i = 0; i < 4; i++)
    {
      if (p[i] == 0)
        {
          if (q[i] < 0)
            return FALSE;
          continue;
        }
      if (p[i] < 0)
        t0 = MAX (t0, q[i] / p[i]);
      else
        t1 = MIN (t1, q[i] / p[i]);
      if (t0 > t1)
        return FALSE;
    }
  return TRUE;
}

/* Whether @box stays clear of the parcel's outline. */
static gboolean
box_clear_of_shape (const Sketch *s, const Shape *shape, Box box)
{
  for (guint r = 0; r < shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (shape->rings, r);
      guint n = ring->pts->len;

      for (guint i = 0; i < n; i++)
        if (segment_hits_box (to_paper (s, g_array_index (ring->pts, Pt, i)),
                              to_paper (s, g_array_index (ring->pts, Pt, (i + 1) % n)), box))
          return FALSE;
    }
  return TRUE;
}

static void
draw_sketch (cairo_t *cr, Extract *ex, const Sketch *s, double scale)
{
  double rect[4];
  Pt corner0 = to_world (s, (Pt) { s->x + 1, s->y + s->h - 1 });
  Pt corner1 = to_world (s, (Pt) { s->x + s->w - 1, s->y + 1 });
  g_autofree char *scale_text = NULL;
  g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (Box));
  double tw, th;

  rect[0] = corner0.x;
  rect[1] = corner0.y;
  rect[2] = corner1.x;
  rect[3] = corner1.y;

  cairo_save (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  stroke_rect (cr, s->x, s->y, s->w, s->h, 0.35);
  cairo_rectangle (cr, s->x + 0.2, s->y + 0.2, s->w - 0.4, s->h - 0.4);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);

  /* Neighbours: thin grey outlines. */
  for (guint i = 0; i < ex->neighbours->len; i++)
    {
      const Neighbour *nb = g_ptr_array_index (ex->neighbours, i);

      shape_path (cr, s, nb->shape);
      cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
      cairo_set_line_width (cr, 0.2);
      cairo_stroke (cr);
    }

  /* The parcel: a light fill, a bold outline, a dot at each vertex. */
  shape_path (cr, s, ex->shape);
  cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
  cairo_set_source_rgb (cr, PARCEL_FILL, PARCEL_FILL, PARCEL_FILL);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 0.6);
  cairo_stroke (cr);
  for (guint v = 0; v < ex->vertices->len; v++)
    {
      const Vertex *vx = &g_array_index (ex->vertices, Vertex, v);
      const Ring *ring = g_ptr_array_index (ex->shape->rings, vx->ring);
      Pt p = to_paper (s, g_array_index (ring->pts, Pt, vx->index));

      cairo_new_sub_path (cr);
      cairo_arc (cr, p.x, p.y, 0.55, 0, 2 * G_PI);
      cairo_fill (cr);
    }

  /* Labels, most important first; one that would cover an earlier one is
   * left out (the tables have every value). Vertex numbers go outside
   * the corner, along its bisector. */
  for (guint v = 0; v < ex->vertices->len; v++)
    {
      const Vertex *vx = &g_array_index (ex->vertices, Vertex, v);
      const Ring *ring = g_ptr_array_index (ex->shape->rings, vx->ring);
      guint n = ring->pts->len;
      Pt p = to_paper (s, g_array_index (ring->pts, Pt, vx->index));
      Pt prev = to_paper (s, g_array_index (ring->pts, Pt, (vx->index + n - 1) % n));
      Pt next = to_paper (s, g_array_index (ring->pts, Pt, (vx->index + 1) % n));
      double l1 = hypot (prev.x - p.x, prev.y - p.y), l2 = hypot (next.x - p.x, next.y - p.y);
      double bx, by, bl, d;
      g_autofree char *number = g_strdup_printf ("%u", v + 1);
      Pt probe, at;
      Box box;

      if (l1 < 1e-9 || l2 < 1e-9)
        continue;
      bx = (prev.x - p.x) / l1 + (next.x - p.x) / l2;
      by = (prev.y - p.y) / l1 + (next.y - p.y) / l2;
      bl = hypot (bx, by);
      if (bl < 1e-6)
        {
          /* A straight vertex: along the normal. */
          bx = -(next.y - p.y) / l2;
          by = (next.x - p.x) / l2;
        }
      else
        {
          bx /= bl;
          by /= bl;
        }
      probe = to_world (s, (Pt) { p.x + bx * 0.3, p.y + by * 0.3 });
      if (shape_contains (ex->shape, probe.x, probe.y))
        {
          bx = -bx;
          by = -by;
        }
      text_size (cr, number, 8, TEXT_BOLD, &tw, &th);
      d = 1.2 + MAX (tw, th * 0.75) / 2;
      at.x = p.x + bx * d;
      at.y = p.y + by * d;
      box = label_box (at, tw, th * 0.75, 0);
      if (!box_is_free (boxes, box))
        continue;
      g_array_append_val (boxes, box);
      cairo_set_source_rgb (cr, 0, 0, 0);
      draw_text_at (cr, at.x, at.y, 0, number, 8, TEXT_BOLD | TEXT_HALO);
    }

  /* The parcel's own label: number over area, its land-use code beside
   * the line when there is room. */
  {
    Pt at;
    double room_x, room_y;

    if (label_point (ex->shape, &at, &room_x, &room_y))
      {
        g_autofree char *area = format_number (round (ex->area * 10) / 10, 1);
        const char *number = ex->values[ROLE_NUMBER] != NULL ? ex->values[ROLE_NUMBER] : "";
        const char *use = ex->values[ROLE_USE];
        double nw, aw, line;
        Box box;

        at = to_paper (s, at);
        text_size (cr, number, 9.5, TEXT_BOLD, &nw, &th);
        text_size (cr, area, 8.5, 0, &aw, NULL);
        line = MAX (nw, aw) + 1.5;
        cairo_set_source_rgb (cr, 0, 0, 0);
        if (line > room_x * s->k - 0.5)
          {
            /* Too narrow for the fraction: the number alone (the area is
             * in the fields above). */
            draw_text_at (cr, at.x, at.y, 0, number, 9.5, TEXT_BOLD | TEXT_HALO_GREY);
            box = label_box (at, nw, th * 0.8, 0);
          }
        else
          {
            draw_text_at (cr, at.x, at.y - th / 2 - 0.3, 0, number, 9.5, TEXT_BOLD);
            hline (cr, at.x - line / 2, at.x + line / 2, at.y, 0.2);
            draw_text_at (cr, at.x, at.y + th / 2 + 0.1, 0, area, 8.5, 0);
            box = label_box (at, line, 2 * th * 0.8, 0);
            if (use != NULL && strlen (use) <= 8
                && (text_size (cr, use, 8.5, 0, &tw, NULL), line + 2 * (tw + 1.5) < room_x * s->k))
              {
                draw_text_at (cr, at.x + line / 2 + 1 + tw / 2, at.y, 0, use, 8.5, 0);
                box.x1 += tw + 1;
              }
          }
        g_array_append_val (boxes, box);
      }
  }

  /* Edge lengths inside the parcel along each edge, upright. */
  for (guint r = 0; r < ex->shape->rings->len; r++)
    {
      const Ring *ring = g_ptr_array_index (ex->shape->rings, r);
      guint n = ring->pts->len;

      for (guint i = 0; i < n; i++)
        {
          Pt wa = g_array_index (ring->pts, Pt, i), wb = g_array_index (ring->pts, Pt, (i + 1) % n);
          Pt a = to_paper (s, wa), b = to_paper (s, wb);
          double dx = b.x - a.x, dy = b.y - a.y, len = hypot (dx, dy);
          double angle = atan2 (dy, dx);
          double nx, ny;
          Pt mid = { (a.x + b.x) / 2, (a.y + b.y) / 2 }, probe, at = { 0, 0 };
          g_autofree char *text = NULL;
          Box box = { 0, 0, 0, 0 };
          /* Along the edge: the middle, else further out where it is free. */
          static const double along[] = { 0.5, 0.35, 0.65, 0.22, 0.78 };
          gboolean placed = FALSE;

          if (len < 1e-6)
            continue;
          nx = -dy / len;
          ny = dx / len;
          probe = to_world (s, (Pt) { mid.x + nx * 0.3, mid.y + ny * 0.3 });
          if (!shape_contains (ex->shape, probe.x, probe.y))
            {
              nx = -nx;
              ny = -ny;
            }
          if (angle > G_PI / 2)
            angle -= G_PI;
          else if (angle <= -G_PI / 2)
            angle += G_PI;
          text = format_number (hypot (wb.x - wa.x, wb.y - wa.y), 2);
          text_size (cr, text, 7, TEXT_ITALIC, &tw, &th);
          for (guint k = 0; k < G_N_ELEMENTS (along) && !placed; k++)
            {
              double t = along[k];

              /* The label's ends stay on the edge. */
              if (len * MIN (t, 1 - t) < tw / 2 + 0.3)
                continue;
              at.x = a.x + dx * t + nx * (0.5 + th * 0.4);
              at.y = a.y + dy * t + ny * (0.5 + th * 0.4);
              box = label_box (at, tw, th * 0.7, angle);
              placed = box_is_free (boxes, box);
            }
          if (!placed)
            continue;
          g_array_append_val (boxes, box);
          cairo_set_source_rgb (cr, 0, 0, 0);
          draw_text_at (cr, at.x, at.y, angle, text, 7, TEXT_ITALIC | TEXT_HALO_GREY);
        }
    }

  /* Neighbours' numbers inside the part of them that shows, clear of
   * the parcel's outline and the labels already there. */
  for (guint i = 0; i < ex->neighbours->len; i++)
    {
      const Neighbour *nb = g_ptr_array_index (ex->neighbours, i);
      g_autoptr(Shape) visible = NULL;
      g_autoptr(GArray) spots = NULL;
      g_autofree char *label = NULL;

      if (nb->number == NULL)
        continue;
      visible = shape_clip (nb->shape, rect);
      if (visible->rings->len == 0)
        continue;
      /* A neighbour on another sheet says which. */
      if (nb->sheet != NULL && ex->values[ROLE_SHEET] != NULL
          && g_strcmp0 (nb->sheet, ex->values[ROLE_SHEET]) != 0)
        label = g_strdup_printf ("%s (tờ %s)", nb->number, nb->sheet);
      else
        label = g_strdup (nb->number);
      text_size (cr, label, 8, 0, &tw, &th);
      spots = label_spots (visible);
      for (guint k = 0; k < spots->len; k++)
        {
          const Spot *spot = &g_array_index (spots, Spot, k);
          Pt at = to_paper (s, spot->at);
          Box box = label_box (at, tw, th * 0.75, 0);

          if (spot->room_x * s->k < tw + 1 || spot->room_y * s->k < th * 0.8
              || !box_is_free (boxes, box) || !box_clear_of_shape (s, ex->shape, box))
            continue;
          g_array_append_val (boxes, box);
          cairo_set_source_rgb (cr, 0.25, 0.25, 0.25);
          draw_text_at (cr, at.x, at.y, 0, label, 8, 0);
          break;
        }
    }
  cairo_reset_clip (cr);

  draw_north_arrow (cr, s->x + s->w - 9, s->y + 3);

  scale_text = g_strdup_printf ("Tỷ lệ 1:%.0f", scale);
  text_size (cr, scale_text, 9, TEXT_ITALIC, &tw, &th);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, s->x + s->w - tw - 4, s->y + s->h - th - 2.5, tw + 3, th + 1.6);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  draw_text (cr, s->x + s->w - tw - 2.5, s->y + s->h - th - 1.7, 0, scale_text, 9, TEXT_ITALIC);
  cairo_restore (cr);
}

/* "label <b>value</b>", or the dotted blank a clerk fills in by hand. */
static void
append_field (GString *markup, const char *label, const char *value)
{
  g_autofree char *escaped = value != NULL ? g_markup_escape_text (value, -1) : NULL;

  g_string_append_printf (markup, "%s: <b>%s</b>", label, escaped != NULL ? escaped : DOTS);
}

static double
draw_line_markup (cairo_t *cr, double y, const char *markup, double indent)
{
  return draw_text (cr, LEFT + indent, y, CONTENT_W - indent, markup, 10.5, TEXT_MARKUP) + 1.2;
}

static void
draw_page (cairo_t *cr, Extract *ex)
{
  double y, h, lw;
  guint item = 1;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GTimeZone) ict = g_time_zone_new_offset (7 * 3600);
  g_autofree char *date = NULL;
  g_autofree char *area = format_number (round (ex->area * 10) / 10, 1);
  TablePlan plan;
  Sketch sketch;
  double scale, sketch_top, room;

  cairo_set_source_rgb (cr, 0, 0, 0);

  /* Header: the office and the number, the national motto. */
  y = TOP;
  draw_text (cr, LEFT - 5, y, 80, "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI", 10, TEXT_BOLD | TEXT_CENTER);
  draw_text (cr, 88, y, RIGHT - 88 + 3, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10,
             TEXT_BOLD | TEXT_CENTER);
  h = draw_text (cr, 88, y + 5, RIGHT - 88 + 3, "Độc lập - Tự do - Hạnh phúc", 11,
                 TEXT_BOLD | TEXT_CENTER);
  text_size (cr, "Độc lập - Tự do - Hạnh phúc", 11, TEXT_BOLD, &lw, NULL);
  hline (cr, 88 + (RIGHT - 88 + 3 - lw) / 2, 88 + (RIGHT - 88 + 3 + lw) / 2, y + 5 + h + 0.3, 0.3);
  if (ex->province != NULL)
    {
      draw_text (cr, LEFT - 5, y + 5, 80, ex->province, 10, TEXT_BOLD | TEXT_CENTER);
      hline (cr, LEFT + 35 - 12, LEFT + 35 + 12, y + 10.6, 0.3);
      draw_text (cr, LEFT - 5, y + 12, 80, "Số: ………/TL", 10, TEXT_CENTER);
    }
  else
    {
      hline (cr, LEFT + 35 - 12, LEFT + 35 + 12, y + 5.6, 0.3);
      draw_text (cr, LEFT - 5, y + 7, 80, "Số: ………/TL", 10, TEXT_CENTER);
    }

  y = TOP + 22;
  y += draw_text (cr, LEFT, y, CONTENT_W, "TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH", 15,
                  TEXT_BOLD | TEXT_CENTER) + 5;

  /* The parcel's fields, numbered as on the TT 25 form. */
  {
    g_autoptr(GString) m = g_string_new (NULL);
    g_autofree char *use = land_use_text (ex->values[ROLE_USE]);

    g_string_append_printf (m, "%u. ", item++);
    append_field (m, "Thửa đất số", ex->values[ROLE_NUMBER]);
    g_string_append (m, ";   ");
    append_field (m, "Tờ bản đồ số", ex->values[ROLE_SHEET]);
    if (ex->values[ROLE_COMMUNE] != NULL)
      {
        g_string_append (m, ";   ");
        append_field (m, "Mã đơn vị hành chính cấp xã", ex->values[ROLE_COMMUNE]);
      }
    y += draw_line_markup (cr, y, m->str, 0);

    g_string_truncate (m, 0);
    append_field (m, "Địa chỉ thửa đất", ex->values[ROLE_ADDRESS]);
    y += draw_line_markup (cr, y, m->str, 4.5);

    g_string_printf (m, "%u. Diện tích: <b>%s m²</b>", item++, area);
    /* The recorded area too, when it does not read the same. */
    if (ex->has_recorded_area)
      {
        g_autofree char *recorded = format_number (ex->recorded_area, 1);

        if (strcmp (recorded, area) != 0)
          g_string_append_printf (m, "   (diện tích ghi trong hồ sơ: %s m²)", recorded);
      }
    y += draw_line_markup (cr, y, m->str, 0);

    g_string_printf (m, "%u. ", item++);
    append_field (m, "Mục đích sử dụng đất", use);
    y += draw_line_markup (cr, y, m->str, 0);
    if (ex->values[ROLE_TERM] != NULL || ex->values[ROLE_ORIGIN] != NULL)
      {
        g_string_truncate (m, 0);
        if (ex->values[ROLE_TERM] != NULL)
          append_field (m, "Thời hạn sử dụng", ex->values[ROLE_TERM]);
        if (ex->values[ROLE_ORIGIN] != NULL)
          {
            if (m->len > 0)
              g_string_append (m, ";   ");
            append_field (m, "Nguồn gốc sử dụng", ex->values[ROLE_ORIGIN]);
          }
        y += draw_line_markup (cr, y, m->str, 4.5);
      }

    g_string_printf (m, "%u. ", item++);
    append_field (m, "Tên người sử dụng đất", ex->values[ROLE_OWNER]);
    y += draw_line_markup (cr, y, m->str, 0);
    if (ex->values[ROLE_OWNER_ADDRESS] != NULL)
      {
        g_string_truncate (m, 0);
        append_field (m, "Địa chỉ thường trú", ex->values[ROLE_OWNER_ADDRESS]);
        y += draw_line_markup (cr, y, m->str, 4.5);
      }

    if (ex->values[ROLE_CERT_NO] != NULL || ex->values[ROLE_CERT_BOOK] != NULL
        || ex->values[ROLE_CERT_DATE] != NULL)
      {
        g_string_printf (m, "%u. Giấy chứng nhận: ", item++);
        if (ex->values[ROLE_CERT_NO] != NULL)
          append_field (m, "số phát hành", ex->values[ROLE_CERT_NO]);
        if (ex->values[ROLE_CERT_BOOK] != NULL)
          {
            if (ex->values[ROLE_CERT_NO] != NULL)
              g_string_append (m, ";   ");
            append_field (m, "số vào sổ cấp GCN", ex->values[ROLE_CERT_BOOK]);
          }
        if (ex->values[ROLE_CERT_DATE] != NULL)
          {
            if (ex->values[ROLE_CERT_NO] != NULL || ex->values[ROLE_CERT_BOOK] != NULL)
              g_string_append (m, ";   ");
            append_field (m, "ngày cấp", ex->values[ROLE_CERT_DATE]);
          }
        y += draw_line_markup (cr, y, m->str, 0);
      }

    g_string_printf (m, "%u. Sơ đồ thửa đất:", item);
    y += draw_line_markup (cr, y + 0.8, m->str, 0) + 0.8;
  }

  /* The tables get what they need below the sketch's least height; the
   * sketch takes the rest, up to its largest. */
  sketch_top = y;
  room = FOOTER_Y - 3 - (sketch_top + SKETCH_MIN_H + 4);
  plan_tables (ex->vertices->len, room, &plan);
  sketch.h = MIN (SKETCH_MAX_H, FOOTER_Y - 3 - plan.height - 4 - sketch_top);
  sketch.x = LEFT;
  sketch.y = sketch_top;
  sketch.w = CONTENT_W;
  scale = choose_scale (ex->shape->bbox[2] - ex->shape->bbox[0],
                        ex->shape->bbox[3] - ex->shape->bbox[1], sketch.w, sketch.h);
  sketch.k = 1000 / scale;
  sketch.cx = (ex->shape->bbox[0] + ex->shape->bbox[2]) / 2;
  sketch.cy = (ex->shape->bbox[1] + ex->shape->bbox[3]) / 2;
  draw_sketch (cr, ex, &sketch, scale);

  /* The vertex and edge tables, side by side, in one or two groups. */
  {
    g_autofree char *heading = g_strdup_printf ("%u. Tọa độ đỉnh thửa và chiều dài cạnh:", item + 1);
    static const char * const vheaders[] = { "Số hiệu điểm", "X (m)", "Y (m)" };
    static const char * const eheaders[] = { "Cạnh", "Chiều dài (m)" };
    const TableStyle *st = plan.style;
    guint total = ex->vertices->len;
    CellLimit limit = { plan.shown, total };
    double x = LEFT, gw = style_group_width (st), left_pad;
    const char * const *vh = vheaders;
    const char * const *eh = eheaders;

    y = sketch_top + sketch.h + 4;
    cairo_set_source_rgb (cr, 0, 0, 0);
    draw_text (cr, LEFT, y, CONTENT_W, heading, 10.5, 0);
    y += TABLE_HEADING;

    /* One group is centred on the page; two fill it. */
    left_pad = plan.groups == 1 ? (CONTENT_W - gw) / 2 : 0;
    x = LEFT + left_pad;
    for (guint g = 0; g < plan.groups; g++)
      {
        guint first = g * plan.rows;
        guint count = first < total ? MIN (plan.rows, total - first) : 0;

        draw_table (cr, ex, x, y, st->vcol, 3, vh, first, count, plan.rows, st,
                    vertex_cell, &limit);
        draw_table (cr, ex, x + st->vcol[0] + st->vcol[1] + st->vcol[2] + TABLE_GAP, y,
                    st->ecol, 2, eh, first, count, plan.rows, st, edge_cell, &limit);
        x += gw + GROUP_GAP;
      }
    y += st->head + plan.rows * st->row + 1.2;
    draw_text (cr, LEFT, y, CONTENT_W, ex->crs_line, 8.5,
               TEXT_ITALIC | (plan.groups == 1 ? TEXT_CENTER : 0));
  }

  /* Footer: place and date, the two signatures. */
  now = g_date_time_new_now (ict);
  /* Days under 10 and months 1 and 2 take a leading zero (Nghị định
   * 30/2020/NĐ-CP). */
  date = g_strdup_printf ("%s, ngày %02d tháng %s%d năm %d",
                          ex->place != NULL ? ex->place : "…………",
                          g_date_time_get_day_of_month (now),
                          g_date_time_get_month (now) <= 2 ? "0" : "",
                          g_date_time_get_month (now), g_date_time_get_year (now));
  y = FOOTER_Y;
  draw_text (cr, 100, y, RIGHT - 100, date, 10, TEXT_ITALIC | TEXT_CENTER);
  y += 5.5;
  draw_text (cr, LEFT, y, 75, "NGƯỜI TRÍCH LỤC", 10, TEXT_BOLD | TEXT_CENTER);
  draw_text (cr, 100, y, RIGHT - 100, "GIÁM ĐỐC / THỦ TRƯỞNG CƠ QUAN", 10,
             TEXT_BOLD | TEXT_CENTER);
  y += 4.8;
  draw_text (cr, LEFT, y, 75, "(Ký, ghi rõ họ tên)", 9, TEXT_ITALIC | TEXT_CENTER);
  draw_text (cr, 100, y, RIGHT - 100, "(Ký tên, đóng dấu)", 9, TEXT_ITALIC | TEXT_CENTER);
}

/* ---- output -------------------------------------------------------------- */

typedef struct {
  int fd;
  int error;   /* errno of the first failed write, or 0 */
} Sink;

static cairo_status_t
write_cb (void *closure, const unsigned char *data, unsigned int length)
{
  Sink *sink = closure;

  while (length > 0 && sink->error == 0)
    {
      ssize_t n = write (sink->fd, data, length);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          sink->error = errno;
          break;
        }
      data += n;
      length -= (unsigned int) n;
    }
  return sink->error == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static gboolean
set_write_error (const char *path, int code, const char *detail, GError **error)
{
  g_set_error (error, DOTHI_ERROR, code == ENOENT ? DOTHI_ERROR_NOT_FOUND : DOTHI_ERROR_FAILED,
               /* Translators: file name, then the reason */
               _("Cannot write “%s”: %s"), path, detail);
  return FALSE;
}

/* Draws the page into the temporary file @fd in @format. */
static gboolean
render (Extract *ex, DothiPrintFormat format, Sink *sink, const char *out_path,
        GError **error)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  cairo_status_t status;
  const double pt_w = PAGE_W * DOTHI_PT_PER_MM, pt_h = PAGE_H * DOTHI_PT_PER_MM;
  const double dpi = 300;
  gboolean ok;

  switch (format)
    {
    case DOTHI_PRINT_SVG:
      surface = cairo_svg_surface_create_for_stream (write_cb, sink, pt_w, pt_h);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PT);
      break;
    case DOTHI_PRINT_PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24,
                                            (int) round (PAGE_W / 25.4 * dpi),
                                            (int) round (PAGE_H / 25.4 * dpi));
      break;
    case DOTHI_PRINT_PDF:
    default:
      surface = cairo_pdf_surface_create_for_stream (write_cb, sink, pt_w, pt_h);
      {
        g_autofree char *title = g_strdup_printf ("Trích lục bản đồ địa chính: thửa %s, tờ %s",
                                                  ex->values[ROLE_NUMBER] ? ex->values[ROLE_NUMBER] : "…",
                                                  ex->values[ROLE_SHEET] ? ex->values[ROLE_SHEET] : "…");

        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Dothi");
      }
      break;
    }
  cr = cairo_create (surface);
  if (format == DOTHI_PRINT_PNG)
    {
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      cairo_scale (cr, dpi / 25.4, dpi / 25.4);
    }
  else
    cairo_scale (cr, DOTHI_PT_PER_MM, DOTHI_PT_PER_MM);

  ok = check_font (cr, error);
  if (ok)
    {
      draw_page (cr, ex);
      cairo_show_page (cr);
    }
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (ok && format == DOTHI_PRINT_PNG && status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, write_cb, sink);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (!ok)
    return FALSE;
  if (sink->error != 0)
    return set_write_error (out_path, sink->error, g_strerror (sink->error), error);
  if (status != CAIRO_STATUS_SUCCESS)
    return set_write_error (out_path, 0, cairo_status_to_string (status), error);
  return TRUE;
}

static void
extract_clear (Extract *ex)
{
  if (ex->db != NULL)
    sqlite3_close_v2 (ex->db);
  g_clear_pointer (&ex->info, dothi_layer_info_free);
  for (int i = 0; i < N_ROLES; i++)
    g_clear_pointer (&ex->values[i], g_free);
  g_clear_pointer (&ex->shape, shape_free);
  g_clear_pointer (&ex->neighbours, g_ptr_array_unref);
  g_clear_pointer (&ex->vertices, g_array_unref);
  g_clear_pointer (&ex->edges, g_array_unref);
  g_clear_pointer (&ex->crs_line, g_free);
  g_clear_pointer (&ex->place, g_free);
  g_clear_pointer (&ex->province, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Extract, extract_clear)

/* ---- public API ---------------------------------------------------------- */

gboolean
dothi_print_parcel_extract (const char       *project_path,
                            const char       *layer,
                            gint64            fid,
                            const char       *out_path,
                            DothiPrintFormat  format,
                            GCancellable     *cancellable,
                            GError          **error)
{
  g_auto(Extract) ex = { 0 };
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  Sink sink = { -1, 0 };
  gboolean ok;

  g_return_val_if_fail (project_path != NULL, FALSE);
  g_return_val_if_fail (layer != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (format == DOTHI_PRINT_PDF || format == DOTHI_PRINT_SVG
                        || format == DOTHI_PRINT_PNG, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  ex.path = project_path;
  ex.layer = layer;
  ex.fid = fid;
  ex.neighbours = g_ptr_array_new_with_free_func ((GDestroyNotify) neighbour_free);
  ex.vertices = g_array_new (FALSE, FALSE, sizeof (Vertex));
  ex.edges = g_array_new (FALSE, FALSE, sizeof (Edge));
  if (!open_project (&ex, error)
      || !load_layer (&ex, error)
      || !load_parcel (&ex, error)
      || !load_neighbours (&ex, cancellable, error))
    return FALSE;
  /* Everything is read: the connection is not needed for drawing. */
  sqlite3_close_v2 (ex.db);
  ex.db = NULL;

  orient_rings (ex.shape);
  ex.area = shape_area (ex.shape);
  number_vertices (&ex);
  ex.crs_line = crs_line (ex.info->srid);
  find_place (&ex);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* A temporary file beside the output, renamed over it at the end. */
  dir = g_path_get_dirname (out_path);
  base = g_path_get_basename (out_path);
  tmp = g_strdup_printf ("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);
  sink.fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (sink.fd < 0)
    {
      int saved = errno;

      return set_write_error (out_path, saved, g_strerror (saved), error);
    }

  ok = render (&ex, format, &sink, out_path, error);
  if (ok && fsync (sink.fd) != 0)
    {
      int saved = errno;

      ok = set_write_error (out_path, saved, g_strerror (saved), error);
    }
  if (close (sink.fd) != 0 && ok)
    {
      int saved = errno;

      ok = set_write_error (out_path, saved, g_strerror (saved), error);
    }
  if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  if (ok && g_rename (tmp, out_path) != 0)
    {
      int saved = errno;

      ok = set_write_error (out_path, saved, g_strerror (saved), error);
    }
  if (!ok)
    g_unlink (tmp);
  return ok;
}
